//! What the end-to-end tests of the binary share: running `gauntlet`, reading what it
//! said, the committed fixtures, a small synthetic universe.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `gauntlet` with `args` in the current directory.
pub fn gauntlet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(args)
        .output()
        .expect("run gauntlet")
}

/// Runs `gauntlet` with `args` in `dir`.
pub fn gauntlet_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run gauntlet")
}

/// `gauntlet` with `args`: its exit code, stdout and stderr.
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = gauntlet(args);
    (code(&out), stdout(&out), stderr(&out))
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// stdout and stderr together.
pub fn text(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

/// The exit code (-1 when a signal ended the process).
pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// A path as an argument.
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The committed fixture models.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models")
}

/// Copies fixture model files (paths under tests/fixtures/models) into `dir`, flat;
/// `dir` is created if missing.
pub fn copy_fixtures(dir: &Path, names: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    for name in names {
        let file = Path::new(name).file_name().unwrap();
        std::fs::copy(fixtures().join(name), dir.join(file)).unwrap();
    }
}

/// Asserts the exit code and that the message contains every one of `needles`; never a
/// panic.
#[track_caller]
pub fn assert_fails(output: &Output, code: i32, needles: &[&str]) {
    let said = text(output);
    assert!(!said.contains("panicked"), "panicked:\n{said}");
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code; it said:\n{said}"
    );
    for needle in needles {
        assert!(
            said.contains(needle),
            "message lacks {needle:?}; it said:\n{said}"
        );
    }
}

/// `gauntlet data synth` of `symbols` 5m series over `days` into `dir/data`, from
/// `start` (RFC 3339) or the generator's default start.
pub fn synth_5m(dir: &Path, symbols: &str, days: &str, start: Option<&str>) {
    let mut args = vec![
        "data",
        "synth",
        "--symbols",
        symbols,
        "--days",
        days,
        "--interval",
        "5m",
        "--out",
        "data",
    ];
    if let Some(start) = start {
        args.extend(["--start", start]);
    }
    let out = gauntlet_in(dir, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
