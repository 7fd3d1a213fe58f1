#!/usr/bin/env bash
# The WebAssembly package's tests: builds the package (scripts/build-wasm.sh) and the collector,
# then runs the Node tests (20,000 values end to end, the test vectors, the file store) and the
# browser test (headless Chromium, installed by scripts/install-chromium.sh) against the real
# collector.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
bash scripts/install-chromium.sh
echo "-- the collector"
cargo build --quiet --profile test -p ldp-aggregator --bin ldp-aggregator
echo "-- node --test client/js/tests"
LDP_AGGREGATOR="$PWD/target/debug/ldp-aggregator" \
  node --test client/js/tests/node.test.mjs client/js/tests/browser.test.mjs
