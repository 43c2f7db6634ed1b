#!/usr/bin/env bash
# Idempotent: installs what the tests need from outside Rust, only what is missing:
#   - LibreOffice Writer and Calc, headless (soffice) — letters rendered to PDF, fixtures converted
#   - poppler-utils (pdftotext, pdftoppm) — text and pictures of the rendered letters
#   - a CJK font (Noto CJK) so that PDFs of the letters carry their Chinese text
#   - openxml-audit (PyPI) — the OOXML schema validator every letter must pass
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

missing=()
dpkg -s libreoffice-writer-nogui >/dev/null 2>&1 || dpkg -s libreoffice-writer >/dev/null 2>&1 \
  || missing+=(libreoffice-writer-nogui)
dpkg -s libreoffice-calc-nogui >/dev/null 2>&1 || dpkg -s libreoffice-calc >/dev/null 2>&1 \
  || missing+=(libreoffice-calc-nogui)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! command -v openxml-audit >/dev/null 2>&1; then
  echo "installing openxml-audit from PyPI"
  python3 -m pip install --quiet "openxml-audit==0.8.0"
  # pyenv shims need a rehash before a new console script is found.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi

soffice --headless --version || true
openxml-audit --version 2>/dev/null || command -v openxml-audit
