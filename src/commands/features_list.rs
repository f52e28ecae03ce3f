//! `gauntlet features list`: the features of a set with parameters, warm-up and hash.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use gauntlet_strategies::features::{FeatureManifest, FeatureSet, BUILTIN_SETS};

#[derive(Debug, Args)]
pub struct ListArgs {
    /// A built-in set (core31, mtf50) or a custom-set .toml file; without it, every
    /// built-in set is listed.
    #[arg(long)]
    pub set: Option<String>,
    /// Print the manifest JSON (an array of manifests without --set).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let sets = match &args.set {
        Some(spec) => vec![FeatureSet::load(spec)?],
        None => BUILTIN_SETS
            .iter()
            .map(|name| FeatureSet::builtin(name))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let manifests: Vec<FeatureManifest> = sets.iter().map(FeatureSet::manifest).collect();
    let text = if args.json {
        match manifests.as_slice() {
            [one] if args.set.is_some() => one.to_json_pretty(),
            all => {
                let items: Vec<String> = all.iter().map(FeatureManifest::to_json_pretty).collect();
                format!("[\n{}\n]", items.join(",\n"))
            }
        }
    } else {
        manifests.iter().map(render).collect::<Vec<_>>().join("\n")
    };
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// A human-readable table of one manifest.
fn render(manifest: &FeatureManifest) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "set {} v{} ({} features)\nhash {}",
        manifest.set,
        manifest.version,
        manifest.features.len(),
        manifest.hash
    );
    let mut warmup = format!("warm-up {} base bars", manifest.warmup_bars);
    for (tf, bars) in &manifest.timeframe_warmup_bars {
        let _ = write!(warmup, ", {bars} completed {tf} bars");
    }
    let _ = writeln!(out, "{warmup}");
    let name_width = manifest
        .features
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let _ = writeln!(
        out,
        "  #  {:name_width$}  {:10}  params",
        "feature", "warm-up"
    );
    for (i, f) in manifest.features.iter().enumerate() {
        let params = f
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let warm = if f.timeframes.is_empty() {
            f.warmup_bars.to_string()
        } else {
            format!("{} × {}", f.warmup_bars, f.timeframes.join("/"))
        };
        let line = format!("{:>3}  {:name_width$}  {warm:10}  {params}", i + 1, f.name);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
