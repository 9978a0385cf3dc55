#!/usr/bin/env bash
# Train the embedded default model from scratch on sims data, on a CPU, and ship it.
#   bash scripts/train_embedded.sh            # data + tokenizer (once), train (resumes), evaluate, ship
# Re-running continues from the last checkpoint in runs/embedded (every 100 steps).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MUJOCO_GL=osmesa PYOPENGL_PLATFORM=osmesa HF_HUB_OFFLINE=1
[ -f runs/embedded-data/tokenizer/tokenizer.json ] || python -m molmo_agent.embedded.prepare runs/embedded-data
resume=""; ls runs/embedded/checkpoints/step_* >/dev/null 2>&1 && resume="--resume"
molmo-agent train configs/embedded.yaml $resume
python -m molmo_agent.embedded.evaluate runs/embedded/final --out runs/embedded/eval --episodes 50
python -m molmo_agent.embedded.ship runs/embedded/final --run-dir runs/embedded --eval runs/embedded/eval
