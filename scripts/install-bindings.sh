#!/usr/bin/env bash
# What the Python and C end-to-end tests need: the collector binary and the C library, the
# wheel built with maturin in one virtual environment and installed, with pytest, into a fresh
# one (target/bindings-venv). `.ci/run` then runs pytest from that environment against the
# real collector; pytest also compiles and runs the C example against the generated header.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# The test profile: the same artifacts `cargo test --workspace` has just built.
profile=test
out=$root/target/debug

echo "-- the collector and the C library"
cargo build --quiet --profile "$profile" -p ldp-aggregator --bin ldp-aggregator -p ldp-ffi --lib

echo "-- the wheel (maturin, in target/bindings-build)"
python3 -m venv "$root/target/bindings-build"
"$root/target/bindings-build/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.9,<2'
rm -rf "$root/target/wheels"
# maturin's own profile (dev): it builds the library with `cargo rustc`, which under the test
# profile would make a test harness instead.
"$root/target/bindings-build/bin/maturin" build --quiet \
  -m client/ffi/Cargo.toml -o "$root/target/wheels"

echo "-- a fresh virtual environment with the wheel and pytest"
rm -rf "$root/target/bindings-venv"
python3 -m venv "$root/target/bindings-venv"
"$root/target/bindings-venv/bin/pip" install --quiet --disable-pip-version-check pytest "$root"/target/wheels/ldp_telemetry-*.whl
