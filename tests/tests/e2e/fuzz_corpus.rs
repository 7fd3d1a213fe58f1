//! The fuzz targets' corpora (`fuzz/corpus/`), replayed on stable Rust with every test run:
//! each input the fuzzer kept — seeds, and whatever it found interesting — goes through the
//! same code as under the fuzzer (`ldp_tests::fuzz`). `UPDATE_CORPUS=1` writes the seeds.

use std::path::{Path, PathBuf};

use ldp_tests::fuzz;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn replay(target: &str, seeds: Vec<(String, Vec<u8>)>, run: fn(&[u8])) {
    let dir = corpus(target);
    if std::env::var_os("UPDATE_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        inputs += 1;
    }
    // Every seed is in the corpus (a seed that no longer decodes would be a wire change).
    for (name, bytes) in seeds {
        let kept = std::fs::read(dir.join(&name))
            .unwrap_or_else(|e| panic!("seed {name} is missing from {}: {e}", dir.display()));
        assert_eq!(
            kept, bytes,
            "seed {name} changed: run with UPDATE_CORPUS=1 if on purpose"
        );
    }
    assert!(inputs > 0, "{} is empty", dir.display());
}

#[test]
fn the_batch_corpus_decodes_checks_and_folds_without_a_panic() {
    replay("batch", fuzz::seed_batches(), fuzz::batch);
}

#[test]
fn the_campaign_corpus_parses_and_round_trips_without_a_panic() {
    replay("campaign", fuzz::seed_campaigns(), fuzz::campaign);
}

#[test]
fn the_http_corpus_goes_through_the_router_without_a_500() {
    replay("http", fuzz::seed_requests(), fuzz::http);
}
