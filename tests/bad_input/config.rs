//! Run configs, gates files and sweep grids that `config check` (a dry run) and the
//! commands that run them must refuse, naming the key, file, symbol or feature.

use std::fs;
use std::path::Path;

use rstest::rstest;

use super::common::{assert_fails, copy_fixtures, gauntlet_in, synth_5m, text};

/// A 2-symbol 5m universe from 2024-06-01 (3 days, after the fixtures' training
/// window) in `data/`, the xgb3 fixture bundle in `models/`, and `files` in `dir`.
fn setup(dir: &Path, files: &[(&str, &str)]) {
    synth_5m(dir, "2", "3", Some("2024-06-01T00:00:00Z"));
    copy_fixtures(&dir.join("models"), &["xgb3.bundle.json", "xgb3.onnx"]);
    for (name, content) in files {
        fs::write(dir.join(name), content).unwrap();
    }
}

const SMA: &str = "[strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n";
const ENSEMBLE: &str =
    "[strategy]\nkind = \"ensemble_threshold\"\nenter = 0.55\nexit_below = 0.45\n";
const XGB3: &str = "[[models.members]]\nbundle = \"models/xgb3.bundle.json\"\n";

fn run_config(top: &str, data: &str, rest: &str) -> String {
    format!("{top}\n[data]\npath = \"data\"\n{data}\n{rest}")
}

#[rstest]
#[case::bundle_of_another_feature_set(
    run_config("", "interval = \"5m\"", &format!("[features]\nset = \"mtf50\"\n{XGB3}{ENSEMBLE}")),
    &["config", "check", "run.toml"],
    &["xgb3"]
)]
#[case::interval_not_in_the_data(
    run_config("", "interval = \"1m\"", SMA),
    &["config", "check", "run.toml"],
    &["interval 1m", "5m"]
)]
#[case::window_outside_the_data(
    run_config("", "interval = \"5m\"\nfrom = \"2023-01-01\"\nto = \"2023-02-01\"", SMA),
    &["config", "check", "run.toml"],
    &["no candles", "the data spans 2024-06-01"]
)]
#[case::unknown_symbol(
    run_config("", "interval = \"5m\"\nsymbols = [\"NOPE\"]", SMA),
    &["config", "check", "run.toml"],
    &["NOPE", "not found"]
)]
#[case::same_bundle_twice(
    run_config("", "interval = \"5m\"", &format!("[features]\nset = \"core31\"\n{XGB3}{XGB3}{ENSEMBLE}")),
    &["config", "check", "run.toml"],
    &["run.toml", "models.members[1].bundle", "already models.members[0]"]
)]
#[case::absurd_thread_count(
    run_config("threads = 100000", "interval = \"5m\"", SMA),
    &["config", "check", "run.toml"],
    &["run.toml:1", "threads", "256"]
)]
#[case::absurd_thread_count_flag(
    run_config("", "interval = \"5m\"", SMA),
    &["backtest", "-c", "run.toml", "--threads", "100000"],
    &["threads = 100000", "256"]
)]
#[case::grid_key_typo(
    run_config("", "interval = \"5m\"", SMA),
    &["config", "check", "run.toml", "--grid", "grid.toml"],
    &["grid.toml (grid key)", "risk.stop_los"]
)]
#[case::walk_forward_folds_shorter_than_a_bar(
    run_config("", "interval = \"5m\"", SMA),
    &["sweep", "-c", "run.toml", "--grid", "grid_ok.toml", "--walk-forward", "100000"],
    &["--walk-forward 100000", "shorter than one bar"]
)]
#[case::empty_gates_file(
    run_config("", "interval = \"5m\"", SMA),
    &["gate", "-c", "run.toml", "--gates", "empty_gates.toml"],
    &["empty_gates.toml", "no gates"]
)]
fn refused_with_a_located_message(
    #[case] config: String,
    #[case] args: &[&str],
    #[case] needles: &[&str],
) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    setup(
        dir,
        &[
            ("run.toml", &config),
            ("grid.toml", "[grid]\n\"risk.stop_los\" = [1.0, 2.0]\n"),
            ("grid_ok.toml", "[grid]\n\"strategy.fast\" = [3, 5]\n"),
            ("empty_gates.toml", ""),
        ],
    );
    let out = gauntlet_in(dir, args);
    assert_fails(&out, 2, needles);
    // Refused before anything was written.
    assert!(!dir.join("reports").exists(), "reports/ was written");
}

/// A config that passes the dry run starts: `config check` then `backtest` both succeed.
#[test]
fn ok_means_the_run_starts() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let config = run_config(
        "",
        "interval = \"5m\"\nfrom = \"2024-06-02\"",
        &format!("[features]\nset = \"core31\"\n{XGB3}{ENSEMBLE}"),
    );
    setup(
        dir,
        &[
            ("run.toml", &config),
            ("grid.toml", "[grid]\n\"strategy.enter\" = [0.5, 0.6]\n"),
        ],
    );
    let check = gauntlet_in(dir, &["config", "check", "run.toml", "--grid", "grid.toml"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    for needle in [
        "ok",
        "2 symbols",
        "member xgb3: scored by native",
        "2 configs",
    ] {
        assert!(
            text(&check).contains(needle),
            "{needle:?}: {}",
            text(&check)
        );
    }
    let run = gauntlet_in(dir, &["backtest", "-c", "run.toml"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
}
