"""The Kotlin bindings on the JVM: tests/kotlin/Smoke.kt, compiled with the checked-in
bindings by scripts/kotlin-smoke.sh, records through the built-in transport and through one
written in Kotlin; the collector counts every report."""

import os
import shutil
import subprocess

import pytest

DIRECT_REPORTS = 30  # as in Smoke.kt
HOSTED_REPORTS = 10


def test_the_kotlin_bindings_reports_reach_the_collector(collector, tmp_path):
    smoke = os.environ.get("LDP_KOTLIN_SMOKE")
    if not smoke:
        if os.environ.get("LDP_REQUIRE_KOTLIN"):
            pytest.fail("LDP_KOTLIN_SMOKE is not set: run scripts/kotlin-smoke.sh first")
        pytest.skip("set LDP_KOTLIN_SMOKE to target/kotlin after scripts/kotlin-smoke.sh")
    library_dir = os.environ.get("LDP_FFI_LIB_DIR")
    assert library_dir, "set LDP_FFI_LIB_DIR to the directory of libldp_telemetry (.ci/run does)"
    java = shutil.which("java")
    assert java, "no java on PATH (scripts/kotlin-smoke.sh installs one)"
    collector.create_campaign({
        "id": "kt-levels", "mechanism": "grr", "epsilon": 1.0,
        "domain": {"range": {"k": 4}}, "epoch_seconds": 2, "max_reports_per_epoch": 100,
        "min_reports": 10,
    })
    classpath = os.pathsep.join([os.path.join(smoke, "smoke.jar"), os.path.join(smoke, "jna.jar")])
    run = subprocess.run(
        [java, f"-Djna.library.path={library_dir}", "-cp", classpath, "SmokeKt",
         collector.url, "kt-levels", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "reports acknowledged" in run.stdout
    assert collector.estimates("kt-levels")["n"] == DIRECT_REPORTS + HOSTED_REPORTS
