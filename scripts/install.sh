#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine (or Colab) for audiototext: system tools, torch, the package
# with its test and offline-model extras. Safe to run again: every step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PIP="python3 -m pip install -q --disable-pip-version-check"
# torch first, pinned: a plain "torch" requirement on a machine without it pulls the CUDA build.
python3 -c "import torch" 2>/dev/null || $PIP "torch==${TORCH_VERSION:-2.13.0}"
$PIP -e ".[test,offline,faster,deepl,notebook,service,ray]"

# The notebook's browser test drives Debian's Chromium with Playwright (never a downloaded browser);
# the emoji font makes its screenshots show the notebook's icons.
if ! command -v chromium >/dev/null || [ ! -d /usr/share/fonts/truetype/noto ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-noto-color-emoji >/dev/null
fi
