#!/usr/bin/env bash
# The Kotlin and Swift bindings, generated from the same UniFFI definitions (client/ffi/src/lib.rs,
# named by client/ffi/uniffi.toml) as the Python package:
#
#   bash scripts/generate-bindings.sh          writes target/bindings/{kotlin,swift} and copies
#                                              them over the checked-in client/ffi/bindings/
#   bash scripts/generate-bindings.sh --check  writes target/bindings/{kotlin,swift} and fails
#                                              when client/ffi/bindings/ differs (CI)
#
# The generator is client/ffi's own `uniffi-bindgen` (feature uniffi-cli), so it is always at the
# UniFFI version of the library it reads. It is built in the dev profile with the same feature
# that maturin uses for the Python bindings, so after scripts/install-bindings.sh nothing is
# rebuilt. --no-format: the output does not depend on whether ktlint or swift-format is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=update
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

echo "-- libldp_telemetry and uniffi-bindgen (dev profile, feature uniffi-cli)"
# One build of the library target (cdylib included) and the generator, with the same features.
cargo build --quiet -p ldp-ffi --features uniffi-cli --lib --bin uniffi-bindgen
library=$root/target/debug/libldp_telemetry.so
if [ "$(uname -s)" = Darwin ]; then library=$root/target/debug/libldp_telemetry.dylib; fi

echo "-- Kotlin and Swift sources in target/bindings"
out=$root/target/bindings
rm -rf "$out/kotlin" "$out/swift"
for language in kotlin swift; do
  cargo run --quiet -p ldp-ffi --features uniffi-cli --bin uniffi-bindgen -- \
    generate --no-format --library "$library" --language "$language" --out-dir "$out/$language" \
    >/dev/null
done

checked_in=$root/client/ffi/bindings
if [ "$mode" = check ]; then
  for language in kotlin swift; do
    if ! diff -r "$out/$language" "$checked_in/$language" >/dev/null; then
      diff -ru "$checked_in/$language" "$out/$language" | head -n 40 >&2 || true
      echo "client/ffi/bindings/$language is stale: run bash scripts/generate-bindings.sh" >&2
      exit 1
    fi
  done
  echo "client/ffi/bindings: Kotlin and Swift are current"
else
  for language in kotlin swift; do
    rm -rf "${checked_in:?}/$language"
    mkdir -p "$checked_in"
    cp -R "$out/$language" "$checked_in/$language"
  done
  echo "client/ffi/bindings: Kotlin and Swift written"
fi
