#!/usr/bin/env bash
# All set-up on a fresh machine: a virtual environment in .venv with torch and hpsearch.
# Without an NVIDIA GPU it installs the CPU build of torch and never pulls CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")"

TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
PYTHON="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip setuptools wheel

if .venv/bin/python -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_VERSION') else 1)" 2>/dev/null; then
  echo "torch $TORCH_VERSION already installed"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "NVIDIA GPU found: installing the CUDA build of torch $TORCH_VERSION"
  "${pip[@]}" install "torch==$TORCH_VERSION"
else
  # A CPU wheel on this machine's disk (PIP_FIND_LINKS or /opt/wheels), else PyTorch's CPU index.
  local_wheels=()
  for dir in ${PIP_FIND_LINKS:-} /opt/wheels; do
    if ls "$dir"/torch-"$TORCH_VERSION"+cpu-*.whl >/dev/null 2>&1; then
      local_wheels=(--find-links "$dir")
      break
    fi
  done
  if [ ${#local_wheels[@]} -gt 0 ]; then
    echo "no GPU: installing the CPU build of torch $TORCH_VERSION from ${local_wheels[1]}"
    "${pip[@]}" install "${local_wheels[@]}" "torch==$TORCH_VERSION+cpu"
  else
    echo "no GPU: installing the CPU build of torch $TORCH_VERSION from PyTorch's CPU index"
    "${pip[@]}" install --index-url https://download.pytorch.org/whl/cpu "torch==$TORCH_VERSION+cpu"
  fi
fi

# hpsearch and its dependencies; torch is already satisfied, so nothing replaces it.
"${pip[@]}" install -e ".[test]"

# Headless Chromium for the test that opens the HTML report in a real browser (tests/report/test_html.py).
if [ -x /usr/bin/chromium ]; then
  :
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Chromium (Debian's package) for the browser test of the HTML report"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || echo "note: installing Chromium failed; the browser test of the HTML report needs /usr/bin/chromium"
else
  echo "note: /usr/bin/chromium is missing; the browser test of the HTML report needs it (apt-get install chromium)"
fi
echo "set-up done: .venv/bin/hpsearch"
