//! Output sets and the prediction cache under interruption and concurrency: a run killed
//! while it writes leaves the previous complete set or the new one, never a mix; runs
//! that fill one prediction cache at once all succeed; a damaged entry is rescored.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::common::{assert_fails, copy_fixtures, gauntlet_in, synth_5m, text};

/// A 4-symbol 5m universe in `dir/data`.
fn universe(dir: &Path, days: &str) {
    synth_5m(dir, "4", days, None);
}

/// An SMA-cross run config writing into `reports/`; `cash` tells two runs' sets apart.
fn sma_config(dir: &Path, name: &str, cash: u32) {
    let config = format!(
        "initial_cash = {cash}\n\n[data]\npath = \"data\"\ninterval = \"5m\"\n\n\
         [strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n\n\
         [risk]\nsizing = {{ type = \"fixed_fraction\", fraction = 0.2 }}\n\n\
         [reporting]\nout = \"reports\"\n"
    );
    fs::write(dir.join(name), config).unwrap();
}

/// Every file of `dir` (a flat report directory) by name.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                fs::read(entry.path()).unwrap(),
            )
        })
        .collect()
}

fn backtest(dir: &Path, config: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    command
        .current_dir(dir)
        .args(["backtest", "-c", config, "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Kills runs at moments spread over a whole run's length, alternating two configs:
/// after every kill the report directory is exactly one run's complete set.
#[test]
fn a_run_killed_at_any_moment_leaves_one_complete_set() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    universe(dir, "20");
    sma_config(dir, "a.toml", 100_000);
    sma_config(dir, "b.toml", 50_000);
    let mut sets = Vec::new();
    let mut longest = Duration::ZERO;
    for config in ["a.toml", "b.toml"] {
        let started = Instant::now();
        assert!(backtest(dir, config).status().unwrap().success());
        longest = longest.max(started.elapsed());
        sets.push(snapshot(&dir.join("reports")));
    }
    assert_ne!(sets[0], sets[1]);
    let kills = 16;
    for i in 0..kills {
        let config = ["a.toml", "b.toml"][i % 2];
        let mut child = backtest(dir, config).spawn().unwrap();
        std::thread::sleep(longest * i as u32 / kills as u32);
        let _ = child.kill();
        child.wait().unwrap();
        let now = snapshot(&dir.join("reports"));
        assert!(
            sets.contains(&now),
            "after a kill at {}/{kills} of a run, reports/ holds {:?}",
            i,
            now.keys().collect::<Vec<_>>()
        );
    }
    // The next complete run clears what the killed ones left beside the directory.
    assert!(backtest(dir, "a.toml").status().unwrap().success());
    let beside: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("staging"))
        .collect();
    assert!(beside.is_empty(), "left behind: {beside:?}");
    assert_eq!(snapshot(&dir.join("reports")), sets[0]);
}

/// A second synth into the same directory replaces the universe: no symbol of the
/// first one stays behind to mix with the second.
#[test]
fn synth_over_an_existing_universe_replaces_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    universe(dir, "2");
    fs::write(dir.join("data/NOTES.txt"), "mine").unwrap();
    synth_5m(dir, "2", "2", None);
    let mut names: Vec<String> = fs::read_dir(dir.join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"NOTES.txt".to_string()), "{names:?}");
}

/// A model run whose predictions go to `cache/`, its reports to `--out`.
fn model_setup(dir: &Path) {
    universe(dir, "3");
    copy_fixtures(&dir.join("models"), &["xgb3.bundle.json", "xgb3.onnx"]);
    fs::write(
        dir.join("run.toml"),
        "initial_cash = 100000\n\n[data]\npath = \"data\"\ninterval = \"5m\"\n\n\
         [features]\nset = \"core31\"\n\n\
         [models]\ncache = \"cache\"\n\n[[models.members]]\nbundle = \"models/xgb3.bundle.json\"\n\n\
         [strategy]\nkind = \"ensemble_threshold\"\nenter = 0.55\nexit_below = 0.45\n",
    )
    .unwrap();
}

#[test]
fn two_runs_filling_one_prediction_cache_at_once_both_succeed() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    model_setup(dir);
    let spawn = |out: &str| {
        Command::new(env!("CARGO_BIN_EXE_gauntlet"))
            .current_dir(dir)
            .args(["backtest", "-c", "run.toml", "--quiet", "--out", out])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn("r1"), spawn("r2"));
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let report = |out: &str| fs::read(dir.join(out).join("report.json")).unwrap();
    assert_eq!(report("r1"), report("r2"));
    let cached = gauntlet_in(dir, &["backtest", "-c", "run.toml", "--out", "r3"]);
    assert_eq!(cached.status.code(), Some(0), "{}", text(&cached));
    assert!(
        text(&cached).contains("from the prediction cache"),
        "{}",
        text(&cached)
    );
    assert_eq!(report("r3"), report("r1"));
}

#[test]
fn a_damaged_cache_entry_is_rescored_with_a_warning() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    model_setup(dir);
    let first = gauntlet_in(dir, &["backtest", "-c", "run.toml", "--out", "r1"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    // Damage every file of the cache: cut each to half its length.
    let mut damaged = 0;
    let mut pending = vec![dir.join("cache")];
    while let Some(path) = pending.pop() {
        for entry in fs::read_dir(&path).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = fs::read(&path).unwrap();
                fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
                damaged += 1;
            }
        }
    }
    assert!(damaged > 0, "the run wrote no cache entry");
    let second = gauntlet_in(dir, &["backtest", "-c", "run.toml", "--out", "r2"]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(text(&second).contains("scored again"), "{}", text(&second));
    assert_eq!(
        fs::read(dir.join("r1/report.json")).unwrap(),
        fs::read(dir.join("r2/report.json")).unwrap()
    );
    // Rewritten: the third run reads it.
    let third = gauntlet_in(dir, &["backtest", "-c", "run.toml", "--out", "r3"]);
    assert!(
        text(&third).contains("from the prediction cache"),
        "{}",
        text(&third)
    );
}

/// An output directory that is a file is an error naming it, before any work.
#[test]
fn an_output_path_that_is_a_file_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    universe(dir, "2");
    sma_config(dir, "a.toml", 100_000);
    fs::write(dir.join("reports"), "a file").unwrap();
    let out = gauntlet_in(dir, &["backtest", "-c", "a.toml"]);
    assert_fails(&out, 2, &["reports", "is not a directory"]);
}
