#!/usr/bin/env bash
# What the Kotlin smoke test needs, installed from the registries this project reaches: a Java
# runtime and JNA (Debian: default-jre-headless, libjna-java), the Kotlin compiler (npm:
# kotlin-compiler, a pinned version, into target/kotlin/compiler). It compiles the checked-in
# bindings (client/ffi/bindings/kotlin) with client/ffi/tests/kotlin/Smoke.kt into
# target/kotlin/smoke.jar (Kotlin's runtime included) beside a copy of jna.jar.
# client/ffi/tests/python/test_kotlin.py runs it against the real collector when
# LDP_KOTLIN_SMOKE names that directory (.ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
kotlin_version=2.4.20
out=$root/target/kotlin

apt_install() {
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

echo "-- a Java runtime, JNA and npm (Debian packages)"
missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
[ -f /usr/share/java/jna.jar ] || missing+=(libjna-java)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

echo "-- the Kotlin compiler $kotlin_version (npm: kotlin-compiler)"
compiler=$out/compiler/node_modules/kotlin-compiler
installed=$(node -p "require('$compiler/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$kotlin_version" ]; then
  rm -rf "$out/compiler"
  mkdir -p "$out/compiler"
  npm install --silent --no-audit --no-fund --no-save --no-package-lock \
    --prefix "$out/compiler" "kotlin-compiler@$kotlin_version"
fi

echo "-- target/kotlin/smoke.jar (the bindings and tests/kotlin/Smoke.kt)"
cp /usr/share/java/jna.jar "$out/jna.jar"
rm -f "$out/smoke.jar"
# -nowarn: the generated file has a few harmless warnings of its own.
bash "$compiler/bin/kotlinc" -nowarn -cp "$out/jna.jar" -include-runtime -d "$out/smoke.jar" \
  "$root"/client/ffi/bindings/kotlin/io/github/ldptelemetry/ldp_telemetry.kt \
  "$root"/client/ffi/tests/kotlin/Smoke.kt
echo "target/kotlin/smoke.jar: run the test with LDP_KOTLIN_SMOKE=$out"
