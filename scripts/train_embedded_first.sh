#!/usr/bin/env bash
# Reproduce the FIRST embedded model (session 1: the sims mixture alone, no curriculum; docs/embedded-model-history.md).
# It is not shipped any more (the shipped model comes from scripts/train_embedded.sh), so this does not ship.
#   bash scripts/train_embedded_first.sh      # data + tokenizer (once), train (resumes), evaluate
# Re-running continues from the last checkpoint in runs/embedded (every 100 steps).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MUJOCO_GL=osmesa PYOPENGL_PLATFORM=osmesa HF_HUB_OFFLINE=1
[ -f runs/embedded-data/tokenizer/tokenizer.json ] || python -m molmo_agent.embedded.prepare runs/embedded-data
resume=""; ls runs/embedded/checkpoints/step_* >/dev/null 2>&1 && resume="--resume"
molmo-agent train configs/embedded-first.yaml $resume
python -m molmo_agent.embedded.evaluate runs/embedded/final --out runs/embedded/eval --episodes 50
