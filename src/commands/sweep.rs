//! `gauntlet sweep`: one run config, many fills/risk/strategy settings
//! (`gauntlet_run::sweep`, which documents walk-forward and the deflated Sharpe of the
//! best): prints the best config, the walk-forward folds and where the table is.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use gauntlet_run::sweep::{sweep_to_dir, SweepOptions, SweepOutcome};

use super::backtest::RunArgs;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The base config; `--out` is the sweep's folder (default `<reporting.out>/sweep`).
    #[command(flatten)]
    pub run: RunArgs,
    /// The grid (TOML): `[grid]` keys with value lists, `objective`, `direction`.
    #[arg(long)]
    pub grid: PathBuf,
    /// Walk-forward validation with K folds (see the command's docs).
    #[arg(long, value_name = "K")]
    pub walk_forward: Option<usize>,
}

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let options = SweepOptions {
        out: args.run.out,
        threads: args.run.threads,
        walk_forward: args.walk_forward,
        progress: !args.run.quiet,
    };
    let outcome = sweep_to_dir(&args.run.config, &args.grid, &options)?;
    print_summary(&outcome, args.run.quiet);
    Ok(ExitCode::SUCCESS)
}

/// The best config and where the table is; without `quiet` also the walk-forward folds
/// and the stage timings.
fn print_summary(outcome: &SweepOutcome, quiet: bool) {
    let SweepOutcome {
        report,
        dir: out,
        timings,
    } = outcome;
    let best = report.best.as_ref();
    let describe = |p: &[(String, String)]| {
        p.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let number = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.4}"));
    // With walk-forward the whole-window best is in sample: its validated result first.
    let (out_of_sample, best_label) = match &report.walk_forward {
        Some(wf) => (
            format!(
                "out-of-sample mean {} (walk-forward, the number to trust); ",
                number(wf.mean_out_of_sample_objective)
            ),
            "in-sample best",
        ),
        None => (String::new(), "best"),
    };
    println!(
        "sweep of {} configs by {} ({}): {out_of_sample}{best_label} {} = {} (deflated Sharpe {}); {}",
        report.trials,
        report.objective,
        report.direction,
        best.map_or_else(String::new, |b| describe(&b.params)),
        number(best.and_then(|b| b.objective)),
        number(best.and_then(|b| b.deflated_sharpe_ratio)),
        out.join("sweep.html").display()
    );
    for key in report.sensitivity.iter().filter(|k| k.no_effect) {
        println!(
            "no effect: {} changed nothing on this data (identical results for every value)",
            key.key
        );
    }
    if quiet {
        return;
    }
    if let Some(wf) = &report.walk_forward {
        for (i, f) in wf.folds.iter().enumerate() {
            println!(
                "  fold {}: chose {} (in-sample {}), out-of-sample {}",
                i + 1,
                describe(&f.chosen_params),
                number(f.in_sample_objective),
                number(f.out_of_sample_objective)
            );
        }
        println!(
            "  mean out-of-sample {}: {} (the number to trust)",
            report.objective,
            number(wf.mean_out_of_sample_objective)
        );
    }
    println!(
        "stage timings: {} (wall clock on this machine, not a benchmark)",
        timings.describe()
    );
}
