#!/usr/bin/env bash
# Front-end assets come from their npm registry packages, pinned, and are committed:
# deployments are often on an intranet, so nothing is loaded from a CDN at run time.
# `bash scripts/vendor-assets.sh` fetches them again; `--check` only verifies that the
# committed files are byte-identical to the pinned packages (needs the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."
check=${1:-}
# package@version  file-in-package  destination
ASSETS=(
  "htmx.org@2.0.11 dist/htmx.min.js core/web/static/vendor/htmx.min.js"
  "htmx.org@2.0.11 LICENSE core/web/static/vendor/htmx.LICENSE"
  "echarts@6.1.0 dist/echarts.common.min.js core/web/static/vendor/echarts.common.min.js"
  "echarts@6.1.0 LICENSE core/web/static/vendor/echarts.LICENSE"
  "echarts@6.1.0 NOTICE core/web/static/vendor/echarts.NOTICE"
  "axe-core@4.11.4 axe.min.js tests/browser/vendor/axe.min.js"
  "axe-core@4.11.4 LICENSE tests/browser/vendor/axe.LICENSE"
)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for line in "${ASSETS[@]}"; do
  read -r spec file dest <<<"$line"
  dir="$tmp/${spec//[@\/]/_}"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
  fi
  if [ "$check" = "--check" ]; then
    if cmp -s "$dir/package/$file" "$dest"; then echo "ok    $dest ($spec)"; else echo "DIFF  $dest ($spec)"; status=1; fi
  else
    mkdir -p "$(dirname "$dest")"
    cp "$dir/package/$file" "$dest"
    echo "wrote $dest ($spec)"
  fi
done
exit $status
