#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine (or Colab) for audiototext. Safe to run again: every step
# is skipped when done.
#   bash scripts/install.sh        everything the test suite needs (notebook, service, Ray, Chromium)
#   bash scripts/install.sh run    just enough to transcribe: ffmpeg, torch, the package, offline weights
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-test}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_install() {  # apt_install PACKAGE... : install the missing ones only
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
[ "$profile" = run ] || command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
# The notebook's browser test drives Debian's Chromium with Playwright (never a downloaded browser);
# the emoji font makes its screenshots show the notebook's icons.
if [ "$profile" != run ]; then
  command -v chromium >/dev/null || need_apt+=(chromium fonts-liberation)
  [ -d /usr/share/fonts/truetype/noto ] || need_apt+=(fonts-noto-color-emoji)
fi
[ ${#need_apt[@]} -eq 0 ] || apt_install "${need_apt[@]}"

PIP="python3 -m pip install -q --disable-pip-version-check"
# torch first, pinned: a plain "torch" requirement on a machine without it pulls the CUDA build.
python3 -c "import torch" 2>/dev/null || $PIP "torch==${TORCH_VERSION:-2.13.0}"
if [ "$profile" = run ]; then
  $PIP -e ".[offline,faster,deepl,pages]"
else
  $PIP -e ".[test,offline,faster,deepl,api,pages,notebook,service,ray]"
fi
