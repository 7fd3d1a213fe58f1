#!/usr/bin/env bash
# Builds the WebAssembly package (client/js/package): the ldp-js crate compiled for
# wasm32-unknown-unknown, then wasm-bindgen's JavaScript glue into client/js/package/pkg.
#
# rustup's toolchain here has no wasm32 standard library, so the build uses Debian's own rustc
# and cargo (packages rustc-web, rust-web-src: the standard library's source, rebuilt with
# -Zbuild-std) and rust-lld (lld-22). Everything missing is installed: the Debian packages, and
# wasm-bindgen-cli at exactly the version in Cargo.lock (into target/wasm-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

echo "-- Debian's Rust for wasm32 (rustc-web, rust-web-src, lld-22)"
if ! dpkg -s rustc-web rust-web-src lld-22 >/dev/null 2>&1; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web rust-web-src lld-22 >/dev/null
fi
/usr/bin/rustc --version

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
tools=$root/target/wasm-tools
if [ "$("$tools/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "-- wasm-bindgen-cli $version (into target/wasm-tools)"
  # Not --locked: its lock file names a webpki-roots release the registry here does not carry.
  cargo install --quiet --root "$tools" wasm-bindgen-cli --version "$version"
fi

echo "-- ldp-js for wasm32-unknown-unknown"
# Optimized for size (opt-level "s") except the encoders and their generator and hash, which
# are optimized for speed (level 3 everywhere would be 213 KB gzipped instead of 192 KB);
# whole-program optimization, one codegen unit, aborting panics, and WebAssembly SIMD
# (encoding about twice as fast; every current browser and Node 16.4+ run it).
# BENCHMARKING.md has the figures.
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$root/target/wasm" \
  RUSTFLAGS='--cfg getrandom_backend="wasm_js" -C target-feature=+simd128' \
  /usr/bin/cargo build --quiet --release -p ldp-js --lib --target wasm32-unknown-unknown \
  -Zbuild-std=std,panic_abort \
  --config 'profile.release.lto = true' --config 'profile.release.codegen-units = 1' \
  --config 'profile.release.panic = "abort"' --config 'profile.release.opt-level = "s"' \
  --config 'profile.release.package.ldp-client.opt-level = 3' \
  --config 'profile.release.package.chacha20.opt-level = 3' \
  --config 'profile.release.package.twox-hash.opt-level = 3'

echo "-- JavaScript glue (client/js/package/pkg)"
rm -rf client/js/package/pkg
# Function names and producer notes are left out (a third of the raw size; panics abort).
"$tools/bin/wasm-bindgen" --target web --remove-name-section --remove-producers-section \
  --out-dir client/js/package/pkg \
  "$root/target/wasm/wasm32-unknown-unknown/release/ldp_js.wasm"
wasm=client/js/package/pkg/ldp_js_bg.wasm
echo "-- $wasm: $(stat -c %s "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped"
