#!/usr/bin/env bash
# Idempotent: installs what the tests need from outside Rust, only what is missing:
#   - LibreOffice Writer and Calc, headless (soffice) — letters rendered to PDF, fixtures converted
#   - poppler-utils (pdftotext, pdftoppm) — text and pictures of the rendered letters
#   - CJK fonts (Noto Sans and Serif CJK) so that PDFs of the letters carry their Chinese text,
#     Liberation (metric-compatible with Times New Roman, the letters' Latin font), and a
#     fontconfig rule that renders the GB fonts the letters name (仿宋_GB2312, 方正小标宋简体,
#     楷体_GB2312, 宋体) in Noto Serif CJK SC and 黑体 in Noto Sans CJK SC where they are missing:
#     LibreOffice ignores a .docx font table's w:altName, so the fallback is named here
#   - openxml-audit (PyPI) — the OOXML schema validator every letter must pass
#   - Chromium and its WebDriver (chromium, chromium-driver) — the web console's browser tests
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
fc-list 2>/dev/null | grep -q "Noto Serif CJK SC" || missing+=(fonts-noto-cjk)
fc-list 2>/dev/null | grep -q "Liberation Serif" || missing+=(fonts-liberation2)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

conf_dir="${XDG_CONFIG_HOME:-$HOME/.config}/fontconfig/conf.d"
conf="$conf_dir/65-jixiao-gb-fonts.conf"
if [ ! -f "$conf" ]; then
  mkdir -p "$conf_dir"
  {
    echo '<?xml version="1.0"?>'
    echo '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
    echo '<!-- jixiao letters: fallbacks for the GB/T 9704 fonts where they are not installed -->'
    echo '<fontconfig>'
    for f in 仿宋_GB2312 仿宋 FangSong 方正小标宋简体 楷体_GB2312 楷体 KaiTi 宋体 SimSun; do
      echo "  <alias binding=\"same\"><family>$f</family><accept><family>Noto Serif CJK SC</family></accept></alias>"
    done
    for f in 黑体 SimHei; do
      echo "  <alias binding=\"same\"><family>$f</family><accept><family>Noto Sans CJK SC</family></accept></alias>"
    done
    echo '</fontconfig>'
  } >"$conf"
  fc-cache -f >/dev/null 2>&1 || true
fi

if ! command -v openxml-audit >/dev/null 2>&1; then
  echo "installing openxml-audit from PyPI"
  python3 -m pip install --quiet "openxml-audit==0.8.0"
  # pyenv shims need a rehash before a new console script is found.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi

soffice --headless --version || true
chromium --version 2>/dev/null || true
openxml-audit --version 2>/dev/null || command -v openxml-audit
