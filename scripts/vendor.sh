#!/usr/bin/env bash
# Copies the pinned front-end packages (package.json / package-lock.json) into static/vendor/.
# static/vendor/ is not committed: it is rebuilt from the npm registry at set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/govuk-frontend ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
out=static/vendor
rm -rf "$out"
mkdir -p "$out/govuk" "$out/axe"
src=node_modules/govuk-frontend/dist/govuk
cp -r "$src/assets" "$out/govuk/assets"
# The precompiled stylesheet points at /assets/; serve them from our static path instead.
sed 's#url(/assets/#url(/static/vendor/govuk/assets/#g' "$src/govuk-frontend.min.css" > "$out/govuk/govuk-frontend.min.css"
cp "$src/govuk-frontend.min.js" "$out/govuk/govuk-frontend.min.js"
# The minified files name their source maps; collectstatic's manifest storage needs them present.
for map in govuk-frontend.min.css.map govuk-frontend.min.js.map; do
  [ -f "$src/$map" ] && cp "$src/$map" "$out/govuk/$map"
done
cp node_modules/axe-core/axe.min.js "$out/axe/axe.min.js"
echo "front-end assets copied to $out"
