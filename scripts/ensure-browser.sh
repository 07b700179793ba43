#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (executable_path: no
# browser download) and need CJK fonts to render Chinese. Install both with apt when
# missing; fail naming them when that is not possible.
set -euo pipefail
CHROMIUM=${XINFANG_CHROMIUM:-/usr/bin/chromium}
need=()
[ -x "$CHROMIUM" ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
# The documents' tests read the PDFs back: pdftotext, pdffonts (and pdftoppm) are poppler's.
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
echo "browser tests need: ${need[*]} — installing with apt" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
if ! { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null 2>&1 \
  || { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 \
       && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null; }; }; then
  echo "could not install ${need[*]}: install them (apt-get install ${need[*]}) and run again" >&2
  exit 1
fi
