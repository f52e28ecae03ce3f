//! A run of one config into a report directory (what `backtest`, `gate` and `demo`
//! do): read the config, gates and champion, prepare, simulate, build the report and
//! write it as one output set with the invocation that re-runs it; and that re-run,
//! which checks that a report is reproduced byte for byte ([`rerun_identical`]).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use gauntlet_reports::gates::GateSpec;
use gauntlet_reports::regress::load_report;
use gauntlet_reports::render::{write_atomically, write_reports, Provenance, Report, ReportFormat};
use gauntlet_reports::stats::StatisticsConfig;
use gauntlet_strategies::models::EngineChoice;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::output::{OutputSet, StagedDir};
use crate::pipeline;
use crate::timings::StageTimings;

/// The file, in every report directory, that says how the run was invoked (absolute
/// paths of the config, gates and champion), so `gauntlet regress --determinism` can
/// re-run it. Machine-specific, hence not part of the compared `report.json`.
pub const INVOCATION_FILE: &str = "invocation.json";

/// What [`INVOCATION_FILE`] holds.
#[derive(Debug, Serialize, Deserialize)]
struct Invocation {
    config: PathBuf,
    gates: Option<PathBuf>,
    champion: Option<PathBuf>,
}

impl Invocation {
    /// Reads `dir/invocation.json`.
    fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(INVOCATION_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (written by backtest, gate and demo next to report.json)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
    }
}

/// Re-runs the run whose reports are in `candidate` (its [`INVOCATION_FILE`]: config,
/// gates, champion) with one worker thread and its reports in `out`, and compares the
/// two `report.json` files byte for byte: the re-run, and `None` when they are identical,
/// else the first difference. Checks determinism and thread-count independence at once.
pub fn rerun_identical(candidate: &Path, out: &Path) -> anyhow::Result<(Outcome, Option<String>)> {
    let invocation = Invocation::read(candidate)?;
    let options = RunOptions {
        out: Some(out.to_path_buf()),
        threads: Some(1),
        gates: invocation.gates.clone(),
        champion: invocation.champion.clone(),
        progress: false,
    };
    let outcome = run_to_dir(&invocation.config, &options)
        .with_context(|| format!("re-running {}", invocation.config.display()))?;
    let read =
        |path: PathBuf| std::fs::read(&path).with_context(|| format!("reading {}", path.display()));
    let original = read(candidate.join(ReportFormat::Json.file_name()))?;
    let again = read(out.join(ReportFormat::Json.file_name()))?;
    Ok((outcome, first_difference(&original, &again)))
}

/// `line N: "<candidate>" vs "<re-run>"` for the first differing line, if any.
fn first_difference(a: &[u8], b: &[u8]) -> Option<String> {
    if a == b {
        return None;
    }
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let mut lines = a.lines().zip(b.lines()).enumerate();
    match lines.find(|(_, (x, y))| x != y) {
        Some((n, (x, y))) => Some(format!("line {}: {:?} vs {:?}", n + 1, x.trim(), y.trim())),
        None => Some(format!(
            "lengths differ ({} vs {} lines)",
            a.lines().count(),
            b.lines().count()
        )),
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))
}

/// How a config is run.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// Report directory instead of `reporting.out`.
    pub out: Option<PathBuf>,
    /// Threads instead of the config's `threads`.
    pub threads: Option<usize>,
    /// Promotion gates (TOML).
    pub gates: Option<PathBuf>,
    /// The champion's report directory (or report.json), for relative gates; it must
    /// have been run on the same data.
    pub champion: Option<PathBuf>,
    /// A spinner on stderr while a stage runs ([`StageTimings`]).
    pub progress: bool,
}

/// Where one ensemble member's predictions came from.
#[derive(Debug, Clone)]
pub struct MemberSource {
    pub name: String,
    /// The engine that scored them (also for cached ones: it is part of the cache key).
    pub engine: EngineChoice,
    /// Read from the prediction cache.
    pub cached: bool,
}

/// What a finished run produced.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    /// The report directory written.
    pub dir: PathBuf,
    /// `dir` held a complete report before (its report.json), which this run replaced.
    pub replaced_previous: bool,
    /// Where each member's predictions came from (empty without models).
    pub members: Vec<MemberSource>,
    pub timings: StageTimings,
}

/// Runs the config at `config_path` and writes its reports into one output set.
pub fn run_to_dir(config_path: &Path, options: &RunOptions) -> anyhow::Result<Outcome> {
    let mut config = RunConfig::load(config_path)?;
    let gates = options
        .gates
        .as_deref()
        .map(GateSpec::from_path)
        .transpose()?;
    let champion = options
        .champion
        .as_deref()
        .map(load_report)
        .transpose()
        .context("the champion's report")?;
    if let (Some(gates), None, Some(path)) = (&gates, &champion, &options.gates) {
        if gates.needs_champion() {
            bail!(
                "{} has gates relative to the champion: pass --champion DIR (the production model's report directory)",
                path.display()
            );
        }
    }
    if let Some(threads) = options.threads {
        config.threads = threads;
    }
    let dir = options
        .out
        .clone()
        .unwrap_or_else(|| config.reporting.out.clone());
    let replaced_previous = dir.join(ReportFormat::Json.file_name()).is_file();
    let pool = pipeline::thread_pool(config.threads)?;
    let mut timings = StageTimings::new(options.progress);
    let prepared = pipeline::prepare(&config, &pool, &mut timings)?;
    if let Some(champion) = &champion {
        check_same_data(&prepared.context.provenance, champion)?;
    }
    let champion_values = champion.as_ref().map(Report::gate_values);
    let members = prepared
        .predictions
        .iter()
        .flat_map(|predictions| &predictions.members)
        .map(|member| MemberSource {
            name: member.name.clone(),
            engine: member.engine.clone(),
            cached: member.cached,
        })
        .collect();
    let run = timings.time("simulation", || {
        pipeline::simulate_prepared(&prepared, &config.engine, &config.strategy, None)
    })?;
    // The report reads the run, not the candles or predictions: free them first (W1's
    // candles alone are 620 MB).
    let context = prepared.into_context();
    let report = timings.time("reports", || -> anyhow::Result<Report> {
        let report = pipeline::report(
            &config,
            &context,
            &run,
            StatisticsConfig::default(),
            gates.as_ref(),
            champion_values.as_ref(),
        )?;
        let staged = StagedDir::begin(&dir, OutputSet::Report)?;
        write_reports(staged.path(), &report, &config.reporting.formats)?;
        let invocation = Invocation {
            config: absolute(config_path)?,
            gates: options.gates.as_deref().map(absolute).transpose()?,
            champion: options.champion.as_deref().map(absolute).transpose()?,
        };
        write_atomically(
            &staged.path().join(INVOCATION_FILE),
            format!("{}\n", serde_json::to_string_pretty(&invocation)?).as_bytes(),
        )?;
        staged.commit()?;
        Ok(report)
    })?;
    Ok(Outcome {
        report,
        dir,
        replaced_previous,
        members,
        timings,
    })
}

/// A champion is only comparable on the same candles.
fn check_same_data(provenance: &Provenance, champion: &Report) -> anyhow::Result<()> {
    let theirs = &champion.metadata.provenance.data_hash;
    if theirs != &provenance.data_hash {
        bail!(
            "the champion's report was run on other data (data hash {} vs this run's {}): run the champion on the same data and window",
            theirs.as_deref().unwrap_or("none"),
            provenance.data_hash.as_deref().unwrap_or("none")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_names_the_line_or_the_lengths() {
        assert_eq!(first_difference(b"a\nb\n", b"a\nb\n"), None);
        assert_eq!(
            first_difference(b"a\n  b: 1\n", b"a\n  b: 2\n").as_deref(),
            Some("line 2: \"b: 1\" vs \"b: 2\"")
        );
        assert_eq!(
            first_difference(b"a\n", b"a\nb\n").as_deref(),
            Some("lengths differ (1 vs 2 lines)")
        );
    }
}
