#!/usr/bin/env bash
# Rebuild the playground's vendored CodeMirror bundle from the pinned npm packages:
#   bash web/build.sh
# writes prover/serve/static/vendor/codemirror.js (an ES module, minified) and, beside it,
# codemirror.LICENSES.txt (the licence of every package the bundle contains).
# Needs node >= 18 and npm; `npm ci` installs exactly what package-lock.json pins.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../prover/serve/static/vendor"
cd "$here"
npm ci --no-audit --no-fund
mkdir -p "$out"
npx esbuild entry.js --bundle --format=esm --minify --target=es2020 --legal-comments=none \
  --metafile="$here/meta.json" --outfile="$out/codemirror.js"
node licenses.mjs "$here/meta.json" > "$out/codemirror.LICENSES.txt"
rm -f "$here/meta.json"
ls -l "$out"
