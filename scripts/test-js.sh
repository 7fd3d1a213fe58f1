#!/usr/bin/env bash
# The WebAssembly package's tests: builds the package (scripts/build-wasm.sh) and the collector,
# compiles client/js/tests/types.ts against the TypeScript declarations, then runs the Node
# tests (20,000 values end to end, the test vectors, the file store) and the browser test
# (headless Chromium, installed by scripts/install-chromium.sh) against the real collector.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
bash scripts/install-chromium.sh
echo "-- the collector"
cargo build --quiet --profile test -p ldp-aggregator --bin ldp-aggregator
echo "-- the TypeScript declarations (tsc --strict over client/js/tests/types.ts)"
tools=$PWD/target/js-tools
if [ ! -x "$tools/node_modules/.bin/tsc" ]; then
  npm install --silent --no-audit --no-fund --no-save --no-package-lock --prefix "$tools" typescript@5.9.3
fi
"$tools/node_modules/.bin/tsc" --noEmit --strict --target es2022 --module nodenext \
  --moduleResolution nodenext client/js/tests/types.ts
echo "-- node --test client/js/tests"
LDP_AGGREGATOR="$PWD/target/debug/ldp-aggregator" \
  node --test client/js/tests/node.test.mjs client/js/tests/browser.test.mjs
