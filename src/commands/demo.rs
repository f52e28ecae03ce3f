//! `gauntlet demo`: the whole job on a small synthetic universe with the bundled real
//! models — generate the candles, run the ensemble through backtest and gates, write
//! the reports, say where the HTML is.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use gauntlet_datasets::synth::{generate_to_dir, SynthConfig};
use gauntlet_datasets::{FileFormat, Interval};
use gauntlet_run::backtest::{run_to_dir, RunOptions};

use super::backtest::print_summary;

/// The demo's run config and gates (paths relative to the demo folder).
const RUN_CONFIG: &str = include_str!("../../configs/demo.toml");
const GATES: &str = include_str!("../../configs/gates.toml");

/// The bundled fixture models (real XGBoost, LightGBM and scikit-learn exports, see
/// tests/fixtures/models/make_models.py): `(file name, bytes)`.
const MODELS: [(&str, &[u8]); 6] = [
    (
        "xgb3.onnx",
        include_bytes!("../../tests/fixtures/models/xgb3.onnx"),
    ),
    (
        "xgb3.bundle.json",
        include_bytes!("../../tests/fixtures/models/xgb3.bundle.json"),
    ),
    (
        "lgbm3.onnx",
        include_bytes!("../../tests/fixtures/models/lgbm3.onnx"),
    ),
    (
        "lgbm3.bundle.json",
        include_bytes!("../../tests/fixtures/models/lgbm3.bundle.json"),
    ),
    (
        "mlp3.onnx",
        include_bytes!("../../tests/fixtures/models/mlp3.onnx"),
    ),
    (
        "mlp3.bundle.json",
        include_bytes!("../../tests/fixtures/models/mlp3.bundle.json"),
    ),
];

/// 2024-06-03T00:00:00Z (a Monday): after the fixture models' training window.
const DEMO_START_MS: i64 = 1_717_372_800_000;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the data, models, configs and reports (replaced files only).
    #[arg(long, default_value = "gauntlet-demo")]
    pub out: PathBuf,
    /// Worker threads (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Exit 0 when the demo ran, whatever the verdict (it is shown, not enforced: `gauntlet
/// gate` is the command whose exit code is the verdict).
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let out = &args.out;
    let synth = SynthConfig {
        symbols: 12,
        days: 14,
        interval: Interval::M5,
        seed: 11,
        start_ms: DEMO_START_MS,
        ..SynthConfig::default()
    };
    let summary = generate_to_dir(&synth, &out.join("data/5m"), FileFormat::Parquet, || {})
        .context("generating the demo universe")?;
    println!(
        "demo universe: {} symbols, {} candles of 5m (synthetic, seed {}) in {}",
        summary.symbols,
        summary.candles,
        synth.seed,
        out.join("data/5m").display()
    );
    for (name, bytes) in MODELS {
        write(&out.join("models").join(name), bytes)?;
    }
    let config = out.join("run.toml");
    let gates_path = out.join("gates.toml");
    write(&config, RUN_CONFIG.as_bytes())?;
    write(&gates_path, GATES.as_bytes())?;
    println!(
        "models: xgb3, lgbm3, mlp3 in {}; config {}; gates {}",
        out.join("models").display(),
        config.display(),
        gates_path.display()
    );
    let outcome = run_to_dir(
        &config,
        &RunOptions {
            threads: args.threads,
            gates: Some(gates_path.clone()),
            progress: true,
            ..RunOptions::default()
        },
    )?;
    print_summary(&outcome, false);
    let html = out.join("reports/report.html");
    println!(
        "\nopen {} (the verdict above is shown, not enforced: `gauntlet gate -c {} --gates {}` exits {} for it)",
        html.display(),
        config.display(),
        gates_path.display(),
        outcome
            .report
            .verdict
            .as_ref()
            .map_or(0, |v| v.exit_code())
    );
    Ok(ExitCode::SUCCESS)
}
