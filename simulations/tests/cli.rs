//! Smoke tests of every `ldp-sim` subcommand with small inputs.

use assert_cmd::Command;

fn ldp_sim() -> Command {
    Command::cargo_bin("ldp-sim").unwrap()
}

#[test]
fn rounds_charge_one_shot_devices_every_round_and_memoized_ones_per_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("rounds.json");
    let plot = dir.path().join("rounds");
    ldp_sim()
        .args(["run", "--k", "8", "--n", "3000", "--eps", "1", "--quiet"])
        .args([
            "--mechanism",
            "olh,loloha",
            "--rounds",
            "12",
            "--change-rate",
            "0.5",
        ])
        .arg("--plot")
        .arg(&plot)
        .arg("--json")
        .arg(&json)
        .assert()
        .success()
        .stdout(predicates::str::contains("lifetime ε mean"));
    assert!(plot.with_extension("png").exists() && plot.with_extension("svg").exists());
    let records: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 24);
    for r in records {
        let round = r["round"].as_f64().unwrap();
        let max = r["lifetime_eps_max"].as_f64().unwrap();
        let mean = r["lifetime_eps_mean"].as_f64().unwrap();
        if r["mechanism"] == "olh" {
            assert_eq!((mean, max), (round, round), "{r}");
        } else {
            // At most g·ε∞ (g = 3, ε∞ = 2: every default here) and at most one ε per round;
            // with values changing half the time, 12 rounds reach the g·ε∞ cap somewhere.
            let cap = 3.0 * r["eps_permanent"].as_f64().unwrap();
            assert!(max <= cap.min(round) && mean <= max, "{r}");
            if round == 12.0 {
                assert_eq!(max, cap, "{r}");
                assert!(mean < round, "{r}");
            }
        }
    }
}

#[test]
fn run_writes_the_documented_json_and_csv_fields() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let csv = dir.path().join("run.csv");
    ldp_sim()
        .args([
            "run", "--k", "16", "--n", "20000", "--eps", "1,2", "--reps", "3", "--quiet",
        ])
        .args(["--mechanism", "grr,oue,olh", "--seed", "7"])
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .assert()
        .success()
        .stdout(predicates::str::contains("wyrand"));
    let records: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 6);
    for field in [
        "mechanism",
        "eps",
        "k",
        "n",
        "reps",
        "mse",
        "mse_theory",
        "mse_ratio",
        "mse_ratio_ci99",
        "max_abs_error",
        "client_ns_per_report",
        "aggregator_ns_per_report",
    ] {
        assert!(records[0].get(field).is_some(), "{field} missing");
    }
    assert_eq!(records[0]["mse_ratio_ci99"].as_array().unwrap().len(), 2);
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().count(), 7);
    assert!(csv.starts_with("mechanism,eps,k,n,reps,mse,mse_theory,mse_ratio,"));
}

#[test]
fn run_is_identical_on_one_thread_and_many() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let path = dir.path().join(format!("{threads}.json"));
        ldp_sim()
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "run", "--k", "64", "--n", "200000", "--eps", "1", "--reps", "2", "--quiet",
            ])
            .args(["--mechanism", "all", "--seed", "11", "--json"])
            .arg(&path)
            .assert()
            .success();
        let mut records: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for record in records.as_array_mut().unwrap() {
            let record = record.as_object_mut().unwrap();
            record.remove("client_ns_per_report");
            record.remove("aggregator_ns_per_report");
        }
        outputs.push(records);
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn populations_from_files_and_the_builtin_emoji() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pop.csv");
    std::fs::write(&file, "value,count\na,10\nb,5\nc,1\n").unwrap();
    ldp_sim()
        .args([
            "run",
            "--n",
            "5000",
            "--eps",
            "2",
            "--reps",
            "2",
            "--quiet",
            "--mechanism",
            "grr",
        ])
        .arg("--dist")
        .arg(format!("file:{}", file.display()))
        .assert()
        .success()
        .stdout(predicates::str::contains("k = 3"));
    ldp_sim()
        .args([
            "run", "--dist", "emoji", "--n", "20000", "--eps", "2", "--reps", "1",
        ])
        .args(["--quiet", "--mechanism", "olh"])
        .assert()
        .success()
        .stdout(predicates::str::contains("k = 845"));
    ldp_sim()
        .args(["run", "--dist", "pareto", "--quiet"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("unknown population"));
}

#[test]
fn advise_recommends_and_verifies() {
    ldp_sim()
        .args(["advise", "--k", "4", "--n", "10000", "--eps", "2"])
        .assert()
        .success()
        .stdout(predicates::str::contains("recommendation: grr"));
    ldp_sim()
        .args([
            "advise", "--k", "256", "--n", "20000", "--eps", "1", "--verify",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("verifying by simulation"));
    ldp_sim()
        .args(["advise", "--k", "1", "--n", "10", "--eps", "1"])
        .assert()
        .failure();
}

#[test]
fn bench_prints_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    ldp_sim()
        .args([
            "bench",
            "--k",
            "64",
            "--n",
            "20000",
            "--mechanism",
            "grr,oue",
            "--json",
        ])
        .arg(&json)
        .assert()
        .success();
    let records: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(records.as_array().unwrap().len(), 2);
    assert!(records[0]["reports_per_s_one_core"].as_f64().unwrap() > 0.0);
}

#[test]
fn load_without_a_server_fails_with_a_clear_error() {
    ldp_sim()
        .args([
            "load",
            "--url",
            "http://127.0.0.1:9",
            "--campaign",
            "x",
            "--duration",
            "1",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("error"));
}

/// `demo` against a server (with the browser) is in `tests/tests/e2e/browser.rs`.
#[test]
fn demo_without_a_server_fails_with_a_clear_error() {
    ldp_sim()
        .args(["demo", "--url", "http://127.0.0.1:9", "--token", "ldp_x"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("http://127.0.0.1:9"));
}

#[test]
fn grid_writes_svg_and_png_plots() {
    let dir = tempfile::tempdir().unwrap();
    ldp_sim()
        .args([
            "grid", "--k", "16", "--n", "5000", "--eps", "1,4", "--reps", "2", "--quiet",
        ])
        .args([
            "--mechanism",
            "grr,oue",
            "--top-mechanism",
            "oue",
            "--top-eps",
            "4",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    for file in [
        "mse_vs_eps_k16_n5000.svg",
        "mse_vs_eps_k16_n5000.png",
        "top20_oue_eps4_k16_n5000.svg",
        "top20_oue_eps4_k16_n5000.png",
        "grid.json",
    ] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap();
        assert!(bytes.len() > 1000, "{file} is nearly empty");
    }
    let png = std::fs::read(dir.path().join("mse_vs_eps_k16_n5000.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

/// The table rows after the header line that starts with `header`, split on whitespace.
fn table_rows(stdout: &str, header: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .skip_while(|line| !line.trim_start().starts_with(header))
        .skip(1)
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn run_hcms_prints_error_against_theory_and_detection() {
    let output = ldp_sim()
        .args([
            "run",
            "--mechanism",
            "hcms",
            "--dist",
            "zipf:1.1",
            "--k",
            "50",
        ])
        .args(["--n", "20000", "--eps", "2", "--reps", "2", "--quiet"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(output).unwrap();
    assert!(
        stdout.starts_with("hcms: 20000 devices, 50 values"),
        "{stdout}"
    );
    assert!(stdout.contains("d = 64, m = 1024"), "{stdout}");
    let header = stdout.lines().nth(1).unwrap();
    for column in [
        "ε",
        "MSE",
        "theory",
        "ratio",
        "ratio 99% CI",
        "recall",
        "top-20",
        "false runs",
        "client ns",
        "fold ns",
        "decode ms",
    ] {
        assert!(header.contains(column), "{column} missing: {header}");
    }
    let rows = table_rows(&stdout, "ε");
    assert_eq!(rows.len(), 1, "{stdout}");
    assert_eq!(rows[0][0], "2");
    let ratio: f64 = rows[0][3].parse().unwrap();
    assert!(ratio > 0.0 && ratio.is_finite(), "{stdout}");
    // The 99% interval prints as two tokens; "false runs" is the fourth column from the end.
    assert_eq!(rows[0][rows[0].len() - 4], "0/2", "{stdout}");
}

#[test]
fn run_numeric_prints_one_row_per_mechanism_and_eps() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("numeric.json");
    let output = ldp_sim()
        .args([
            "run",
            "--mechanism",
            "numeric",
            "--k",
            "100",
            "--n",
            "20000",
        ])
        .args(["--eps", "1", "--reps", "3", "--quiet", "--json"])
        .arg(&json)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(output).unwrap();
    assert!(stdout.contains("range [0, 99]"), "{stdout}");
    let header = stdout.lines().nth(1).unwrap();
    for column in [
        "mech",
        "mean err",
        "MSE",
        "theory",
        "ratio 99% CI",
        "mean se",
        "√theory",
        "in 95% CI",
        "client ns",
    ] {
        assert!(header.contains(column), "{column} missing: {header}");
    }
    let rows = table_rows(&stdout, "mech");
    let names: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("duchi", "1"),
            ("piecewise", "1"),
            ("hybrid", "1"),
            ("dbitflip", "1")
        ],
        "{stdout}"
    );
    let records: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 4);
    for record in records {
        assert_eq!(record["hi"].as_f64(), Some(99.0));
        assert!(record["mse_theory"].as_f64().unwrap() > 0.0);
        assert_eq!(record["mse_ratio_ci99"].as_array().unwrap().len(), 2);
    }
}

#[test]
fn run_refuses_mixed_or_invalid_sketch_and_numeric_flags() {
    ldp_sim()
        .args(["run", "--mechanism", "hcms,oue", "--quiet"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("hcms runs alone"));
    ldp_sim()
        .args(["run", "--mechanism", "duchi,grr", "--quiet"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("\"grr\" is not one of them"));
    ldp_sim()
        .args([
            "run",
            "--mechanism",
            "hcms",
            "--sketch-width",
            "1000",
            "--quiet",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("power of two"));
    ldp_sim()
        .args(["run", "--mechanism", "sketch", "--quiet"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("cms or hcms alone"));
}

/// The CSV a subcommand wrote: its header's columns and its rows.
fn read_csv(path: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().map(str::to_owned);
    let header = lines.next().unwrap_or_default();
    (
        header.split(',').map(str::to_owned).collect(),
        lines.collect(),
    )
}

#[test]
fn rappor_sketch_and_numeric_runs_write_csv() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], &[&str]); 3] = [
        (
            "rappor",
            &["--k", "20", "--n", "5000", "--eps", "2,4"],
            &["eps_one", "recall", "decode_ms"],
        ),
        (
            "hcms",
            &[
                "--k",
                "20",
                "--n",
                "5000",
                "--eps",
                "2,4",
                "--sketch-width",
                "64",
            ],
            &[
                "mechanism",
                "mse_ratio_ci99_low",
                "mse_ratio_ci99_high",
                "rng",
            ],
        ),
        (
            "numeric",
            &["--k", "20", "--n", "5000", "--eps", "2,4"],
            &[
                "mechanism",
                "true_mean",
                "mse_ratio_ci99_low",
                "runs_covered",
            ],
        ),
    ];
    for (mechanism, flags, columns) in cases {
        let csv = dir.path().join(format!("{mechanism}.csv"));
        let json = dir.path().join(format!("{mechanism}.json"));
        ldp_sim()
            .args(["run", "--mechanism", mechanism, "--reps", "2", "--quiet"])
            .args(flags)
            .arg("--csv")
            .arg(&csv)
            .arg("--json")
            .arg(&json)
            .assert()
            .success();
        let (header, rows) = read_csv(&csv);
        for column in columns {
            assert!(
                header.iter().any(|h| h == column),
                "{mechanism}: {column} missing: {header:?}"
            );
        }
        assert!(!header.iter().any(|h| h == "values"), "{header:?}");
        let records: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(rows.len(), records.as_array().unwrap().len(), "{mechanism}");
        assert!(
            rows.iter().all(|r| r.split(',').count() == header.len()),
            "{rows:?}"
        );
    }
}

#[test]
fn bench_and_advise_write_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bench.csv");
    ldp_sim()
        .args([
            "bench",
            "--k",
            "64",
            "--n",
            "20000",
            "--mechanism",
            "grr,hr",
            "--csv",
        ])
        .arg(&csv)
        .assert()
        .success();
    let (header, rows) = read_csv(&csv);
    assert_eq!(header[..2], ["mechanism", "k"]);
    assert_eq!(rows.len(), 2);
    assert!(rows[1].starts_with("hr,64,"), "{rows:?}");
    let csv = dir.path().join("advise.csv");
    ldp_sim()
        .args(["advise", "--k", "256", "--n", "20000", "--eps", "1"])
        .args(["--mechanism", "grr,oue,olh", "--csv"])
        .arg(&csv)
        .assert()
        .success()
        .stdout(predicates::str::contains("recommendation: o"));
    let (header, rows) = read_csv(&csv);
    assert_eq!(header[..3], ["rank", "mechanism", "std_error"]);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].starts_with("1,o"), "{rows:?}");
}

#[test]
fn every_mechanism_flag_refuses_an_unknown_name_with_the_list() {
    for args in [
        &["run", "--mechanism", "oue,grrr"][..],
        &["grid", "--mechanism", "grrr"],
        &["grid", "--top-mechanism", "grrr"],
        &["bench", "--mechanism", "grrr"],
        &[
            "advise",
            "--k",
            "4",
            "--n",
            "10",
            "--eps",
            "1",
            "--mechanism",
            "grrr",
        ],
        &["load", "--mechanism", "grrr"],
    ] {
        ldp_sim()
            .args(args)
            .assert()
            .failure()
            .stderr(predicates::str::contains("unknown mechanism \"grrr\""))
            .stderr(predicates::str::contains(
                "grr, sue, oue, olh, blh, ss, hr, loloha, l_sue, l_oue or all",
            ))
            .stderr(predicates::str::contains("rappor, cms or hcms alone"))
            .stderr(predicates::str::contains(
                "duchi, piecewise, hybrid, dbitflip or numeric",
            ));
    }
    for args in [
        &["bench", "--mechanism", "rappor"][..],
        &[
            "advise",
            "--k",
            "4",
            "--n",
            "10",
            "--eps",
            "1",
            "--mechanism",
            "numeric",
        ],
    ] {
        ldp_sim()
            .args(args)
            .assert()
            .failure()
            .stderr(predicates::str::contains("is not a frequency oracle"));
    }
}

#[test]
fn attack_prints_gains_and_writes_a_plot_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("attack.json");
    let csv = dir.path().join("attack.csv");
    let plot = dir.path().join("attack");
    let out = ldp_sim()
        .args([
            "attack",
            "--k",
            "32",
            "--n",
            "20000",
            "--quiet",
            "--targets",
            "2",
        ])
        .args([
            "--mechanism",
            "grr,oue",
            "--attack",
            "mga,ria",
            "--beta",
            "0.01,0.05",
        ])
        .arg("--plot")
        .arg(&plot)
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("rank before → after"), "{stdout}");
    assert!(plot.with_extension("png").exists() && plot.with_extension("svg").exists());
    let records: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 8);
    assert_eq!(records[0]["attack"], "maximal-gain");
    assert_eq!(records[0]["targets"], "31;30");
    let (header, rows) = read_csv(&csv);
    assert_eq!(rows.len(), 8);
    assert!(header.iter().any(|h| h == "gain_expected"), "{header:?}");
    ldp_sim()
        .args(["attack", "--mechanism", "hr", "--quiet"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("not hr"));
    ldp_sim()
        .args(["attack", "--attack", "flood"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("use rva, ria or mga"));
}
