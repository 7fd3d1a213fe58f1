#!/usr/bin/env bash
# The invariants of ARCHITECTURE.md that a script can check. Run by .ci/run; exits non-zero on
# the first broken rule, naming it.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "invariant broken: $*" >&2
  exit 1
}

echo "-- no library or binary source file over 600 lines"
# Test code (integration tests, benches, the e2e harness) may hold long scenarios.
long=$(find protocol/src client/src client/sdk/src client/ffi/src client/js/src aggregator/src simulations/src -name '*.rs' -print0 |
  xargs -0 wc -l | awk '$2 != "total" && $1 > 600 { print $2 " (" $1 " lines)" }')
[ -z "$long" ] || fail "files over 600 lines: $long"

echo "-- ldp-protocol performs no I/O and reads no clock"
if grep -rnE '\bstd::(fs|net|io|time|env|process|thread)\b' protocol/src; then
  fail "ldp-protocol must not do I/O, read a clock or spawn threads"
fi

echo "-- ldp-client: no async runtime, HTTP stack or JSON library (no_std core)"
if cargo tree -p ldp-client --no-default-features -e normal --prefix none |
  grep -E '^(tokio|hyper|axum|ureq|serde_json) '; then
  fail "the no_std ldp-client must not depend on the crates above"
fi
if cargo tree -p ldp-client -e normal --prefix none | grep -E '^(tokio|hyper|axum|ureq|serde_json) '; then
  fail "ldp-client's default features must not bring an HTTP stack or a JSON library"
fi
echo "-- ldp-client's upload feature: a blocking HTTP client and JSON, never an async runtime"
if cargo tree -p ldp-client --features upload -e normal --prefix none | grep -E '^(tokio|hyper|axum) '; then
  fail "the upload feature must not bring an async runtime or a server stack"
fi

echo "-- the aggregator library builds without HTTP and storage"
if cargo tree -p ldp-aggregator --no-default-features -e normal --prefix none |
  grep -E '^(tokio|hyper|axum|rusqlite|postgres|utoipa) '; then
  fail "ldp-aggregator without the server feature must not depend on the crates above"
fi

echo "-- unsafe code: forbidden everywhere but the C ABI of the binding crate"
grep -q 'unsafe_code = "forbid"' Cargo.toml || fail "workspace lint unsafe_code = forbid is missing"
for manifest in protocol client client/sdk aggregator simulations tests; do
  grep -Pzq '\[lints\]\nworkspace = true' "$manifest/Cargo.toml" ||
    fail "$manifest/Cargo.toml must use the workspace lints"
done
grep -q 'unsafe_code = "deny"' client/ffi/Cargo.toml || fail "client/ffi must deny unsafe code"
if grep -rln 'unsafe_code' protocol client aggregator simulations tests --include='*.rs' |
  grep -v '^client/ffi/src/c_api.rs$'; then
  fail "only client/ffi/src/c_api.rs may allow unsafe code"
fi
if grep -rnw 'unsafe' client/ffi --include='*.rs' | grep -v '^client/ffi/src/c_api.rs:' |
  grep -vE '^[^:]+:[0-9]+:\s*//'; then
  fail "unsafe code in client/ffi outside src/c_api.rs"
fi

echo "-- mechanisms stay slices"
python3 scripts/mechanism-touch.py --check
echo "invariants hold"
