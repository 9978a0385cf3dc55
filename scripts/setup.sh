#!/usr/bin/env bash
# Set up molmo-agent on a fresh Debian machine (Python 3.11, root, no GPU needed), then run a job.
#   bash scripts/setup.sh demo   # install, then run the demo
#   bash scripts/setup.sh test   # install, then run ruff and the whole test suite
set -euo pipefail
job="${1:-demo}"
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

# System packages: a virtual X server and Tk (desktop adapter), chromium + chromedriver (MiniWoB++),
# OSMesa (MuJoCo offscreen rendering), fonts (GUI sims).
sys_pkgs=(xvfb xdotool python3-tk chromium chromium-driver libosmesa6 fonts-dejavu-core)
missing=()
for p in "${sys_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# torch first: on CPU machines the pinned CPU wheel; GPU users install their CUDA torch beforehand.
python3 -c "import torch" 2>/dev/null || python3 -m pip install -q "torch==2.13.0"
extras="dev"; [ "$job" = "demo" ] && extras="all"
python3 -m pip install -q -e ".[${extras}]"

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MUJOCO_GL=osmesa PYOPENGL_PLATFORM=osmesa
export CYCLONEDDS_URI="file://$here/configs/cyclonedds-loopback.xml"
export SE_OFFLINE=true SE_AVOID_STATS=true

case "$job" in
  demo)
    shift || true
    exec molmo-agent demo "$@"
    ;;
  test)
    python3 -m ruff check .
    exec python3 -m pytest -q -p no:cacheprovider tests
    ;;
  *) echo "usage: bash scripts/setup.sh {demo|test}" >&2; exit 2 ;;
esac
