//! What every bad-input case needs: run the binary, read what it said.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `gauntlet` with `args` in `dir`.
pub fn gauntlet_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run gauntlet")
}

/// stdout and stderr together.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
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
