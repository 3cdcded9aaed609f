#!/usr/bin/env bash
# Set up mllm-audit on a fresh machine: a virtual environment in .venv with the CPU build of
# torch 2.13.0 and the project installed (editable, with its test extras).
#
# Why torch first and pinned: an unpinned torch (or a range a newer release satisfies) pulls a
# multi-GB CUDA build; installing 2.13.0 first makes every later range resolve to it.
# Idempotent: a second run only checks and finishes in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${MLLM_AUDIT_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
  echo "[setup] installing torch 2.13.0 (CPU build)"
  "${PIP[@]}" install -U pip
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    "${PIP[@]}" install torch==2.13.0
  else
    # The CPU wheel: from the local disk where it lies there, else from PyTorch's CPU index.
    "${PIP[@]}" install torch==2.13.0 || "${PIP[@]}" install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
  fi
fi

stamp="$VENV/.mllm-audit-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing mllm-audit and its dependencies"
  "${PIP[@]}" install -e ".[dev]"
  touch "$stamp"
fi
"$VENV/bin/python" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
echo "[setup] ready: $VENV/bin/mllm-audit"
