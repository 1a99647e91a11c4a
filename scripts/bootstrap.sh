#!/usr/bin/env bash
# Create .venv (if missing) and install pgtheory with its test extra.
# Where no NVIDIA GPU is present, install the CPU build of torch first, so that the `torch>=2.4`
# requirement does not pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if ! python -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    python -m pip install -q "torch>=2.4"
  else
    # the CPU build: on these machines torch==2.13.0 resolves to a CPU wheel on disk; elsewhere use
    # PyTorch's CPU index
    python -m pip install -q torch==2.13.0 2>/dev/null \
      || python -m pip install -q "torch>=2.4" --index-url https://download.pytorch.org/whl/cpu
  fi
fi
python -m pip install -q -e ".[test]"
