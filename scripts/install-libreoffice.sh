#!/usr/bin/env bash
# Idempotent: installs headless LibreOffice Calc (+ poppler-utils) only when soffice is missing.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if command -v soffice >/dev/null 2>&1; then
  echo "soffice already installed: $(command -v soffice)"
else
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  if ! $SUDO apt-get install -y --no-install-recommends libreoffice-calc-nogui poppler-utils; then
    echo "libreoffice-calc-nogui failed, falling back to libreoffice-calc" >&2
    $SUDO apt-get install -y --no-install-recommends libreoffice-calc poppler-utils
  fi
fi
if ! command -v pdftotext >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends poppler-utils
fi
soffice --headless --version || true
