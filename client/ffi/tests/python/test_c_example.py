"""The C example, compiled against the generated header and the shared library, records
through the C API; the collector counts its reports."""

import os
import subprocess


def test_the_c_example_reports_reach_the_collector(collector, tmp_path, repo_root):
    library_dir = os.environ.get("LDP_FFI_LIB_DIR")
    assert library_dir, "set LDP_FFI_LIB_DIR to the directory of libldp_telemetry (.ci/run does)"
    ffi = repo_root / "client" / "ffi"
    program = tmp_path / "record"
    subprocess.run(
        [os.environ.get("CC", "cc"), "-std=c11", "-Wall", "-Wextra", "-Werror",
         "-I", str(ffi / "include"), str(ffi / "examples" / "record.c"),
         "-L", library_dir, "-lldp_telemetry", f"-Wl,-rpath,{library_dir}", "-o", str(program)],
        check=True,
    )
    collector.create_campaign({
        "id": "c-levels", "mechanism": "oue", "epsilon": 1.0,
        "domain": {"range": {"k": 4}}, "epoch_seconds": 2, "max_reports_per_epoch": 1000,
    })
    run = subprocess.run(
        [str(program), str(tmp_path / "device"), collector.url, "c-levels", "300"],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "refused as expected" in run.stdout
    assert collector.estimates("c-levels")["n"] == 300
