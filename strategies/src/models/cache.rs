//! The prediction cache: one member's [`MemberScores`] for a whole universe, stored as
//! Parquet so re-runs and sweeps never score the same rows twice.
//!
//! An entry is keyed by [`PredictionKey`] = (bundle hash, manifest hash, data hash,
//! scoring engine) and lives in the cache directory as two files named after
//! `stem = sha256("gauntlet-prediction-cache" ‖ CACHE_FORMAT_VERSION as u32 LE ‖ for each
//! key part: len as u64 LE ‖ UTF-8 bytes)` (lower-case hex):
//! - `stem.predictions.parquet`: one row per (symbol, row) in symbol order, then row
//!   order, with columns `symbol` (i64: the symbol's position in the sidecar's list),
//!   `row` (i64: row index within the symbol), `p0` … `p{C-1}` (f32: the member's raw
//!   outputs before temperature — logits or probabilities, per the bundle's output
//!   kind — stored bit-exact, NaN on unscored rows; the caller applies the temperature,
//!   so a logits model's logits stay available for diagnostics) and `scored` (i64: 1 if
//!   the row was scored, else 0);
//! - `stem.predictions.json` (the sidecar): the format version, the four keys, the
//!   class count, the Parquet file's byte length and, per symbol, its name, row count
//!   and input-distribution counts.
//!
//! Writes are atomic per file (temp file + rename) and ordered so no half-written entry
//! is ever read: [`PredictionCache::put`] first removes the old sidecar, then writes the
//! Parquet file, then the sidecar. The sidecar is the commit marker: an entry without
//! one (an interrupted write) is a miss.
//!
//! Lookups never use an entry silently: [`PredictionCache::get`] returns `Ok(None)` when
//! there is no entry, and [`CacheError::Unusable`] when an entry exists but cannot be
//! trusted (unreadable or corrupt files, another format version, recorded keys or
//! symbols that differ from the request, a Parquet file whose size or contents disagree
//! with the sidecar). The caller prints that error as a warning, scores again and
//! `put`s, which overwrites the entry.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use gauntlet_datasets::table::{ColumnValues, Table};
use gauntlet_datasets::FileFormat;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::preflight::CheckedModel;
use super::scoring::Engine;
use super::scoring::{InputDistribution, MemberScores};

/// Version of the cache layout above; part of the file name and of the sidecar.
pub const CACHE_FORMAT_VERSION: u32 = 3;

/// What a cached prediction depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictionKey {
    /// [`super::ModelBundle::content_hash`]: the ONNX bytes and the bundle JSON.
    pub bundle_hash: String,
    /// The feature manifest's content hash.
    pub manifest_hash: String,
    /// `gauntlet_datasets::hash::data_hash` of the candles the features came from.
    pub data_hash: String,
    /// The engine that scored them ([`Engine::as_str`]): the engines agree to ~1e-6,
    /// not bit for bit, so a run never reuses the other engine's scores.
    pub engine: String,
}

impl PredictionKey {
    pub fn new(
        bundle_hash: impl Into<String>,
        manifest_hash: impl Into<String>,
        data_hash: impl Into<String>,
        engine: Engine,
    ) -> Self {
        Self {
            bundle_hash: bundle_hash.into(),
            manifest_hash: manifest_hash.into(),
            data_hash: data_hash.into(),
            engine: engine.as_str().to_string(),
        }
    }

    /// The key of `model`'s predictions on the data hashed as `data_hash` (the manifest
    /// hash is the bundle's, which preflight proved equal to the pipeline's), by the
    /// engine preflight chose.
    pub fn for_model(model: &CheckedModel, data_hash: impl Into<String>) -> Self {
        Self::new(
            model.model_bundle().content_hash(),
            model.bundle().features.manifest_hash.clone(),
            data_hash,
            model.engine().engine,
        )
    }

    /// The entry's file stem (see the module docs for the formula).
    pub fn file_stem(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"gauntlet-prediction-cache");
        hasher.update(CACHE_FORMAT_VERSION.to_le_bytes());
        for part in [
            &self.bundle_hash,
            &self.manifest_hash,
            &self.data_hash,
            &self.engine,
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// The prediction cache could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// An entry exists but cannot be trusted; it was not used. Score again and
    /// [`PredictionCache::put`] (which overwrites it), after showing this as a warning.
    #[error(
        "prediction cache entry {path} was ignored: {reason}; the predictions will be \
         scored again and the entry rewritten"
    )]
    Unusable { path: PathBuf, reason: String },
    #[error("cannot read prediction cache entry {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write prediction cache entry {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("cannot cache these predictions: {0}")]
    Input(String),
}

/// A directory of cached predictions (created on the first [`PredictionCache::put`]).
#[derive(Debug, Clone)]
pub struct PredictionCache {
    dir: PathBuf,
}

/// The sidecar JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    format_version: u32,
    key: PredictionKey,
    n_classes: usize,
    parquet_bytes: u64,
    symbols: Vec<SymbolEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SymbolEntry {
    symbol: String,
    rows: usize,
    rows_checked: usize,
    rows_extreme: usize,
    /// `max_abs_z` as its f32 bits, so it round-trips exactly (even when infinite).
    max_abs_z_bits: u32,
    max_abs_z_feature: Option<usize>,
}

impl PredictionCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry's Parquet file.
    pub fn parquet_path(&self, key: &PredictionKey) -> PathBuf {
        self.dir
            .join(format!("{}.predictions.parquet", key.file_stem()))
    }

    /// The entry's sidecar JSON (its commit marker).
    pub fn sidecar_path(&self, key: &PredictionKey) -> PathBuf {
        self.dir
            .join(format!("{}.predictions.json", key.file_stem()))
    }

    /// The cached predictions for `key`, one [`MemberScores`] per symbol in `symbols`
    /// order: `Ok(None)` if there is no entry, [`CacheError::Unusable`] if there is one
    /// that cannot be trusted (see the module docs).
    pub fn get<S: AsRef<str>>(
        &self,
        key: &PredictionKey,
        symbols: &[S],
    ) -> Result<Option<Vec<MemberScores>>, CacheError> {
        let sidecar_path = self.sidecar_path(key);
        let text = match std::fs::read_to_string(&sidecar_path) {
            Ok(text) => text,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CacheError::Read {
                    path: sidecar_path,
                    source,
                })
            }
        };
        let unusable = |path: &Path, reason: String| CacheError::Unusable {
            path: path.to_path_buf(),
            reason,
        };
        let sidecar: Sidecar = serde_json::from_str(&text)
            .map_err(|err| unusable(&sidecar_path, format!("the sidecar is not valid: {err}")))?;
        check_sidecar(&sidecar, key, symbols).map_err(|reason| unusable(&sidecar_path, reason))?;
        let parquet_path = self.parquet_path(key);
        let bytes = std::fs::metadata(&parquet_path)
            .map_err(|err| unusable(&parquet_path, format!("the Parquet file: {err}")))?
            .len();
        if bytes != sidecar.parquet_bytes {
            return Err(unusable(
                &parquet_path,
                format!(
                    "the Parquet file has {bytes} bytes but the sidecar recorded {}",
                    sidecar.parquet_bytes
                ),
            ));
        }
        let table = Table::read_parquet(&parquet_path)
            .map_err(|err| unusable(&parquet_path, err.to_string()))?;
        let scores = scores_from_table(&table, &sidecar)
            .map_err(|reason| unusable(&parquet_path, reason))?;
        Ok(Some(scores))
    }

    /// Stores one member's predictions for `symbols` (same order and length as
    /// `scores`) under `key`, replacing any entry there. Atomic: a reader sees the old
    /// entry, no entry, or the new entry, never a partial one.
    pub fn put<S: AsRef<str>>(
        &self,
        key: &PredictionKey,
        symbols: &[S],
        scores: &[MemberScores],
    ) -> Result<(), CacheError> {
        let n_classes = check_input(symbols, scores).map_err(CacheError::Input)?;
        let sidecar_path = self.sidecar_path(key);
        let parquet_path = self.parquet_path(key);
        let write_err = |path: &Path, reason: String| CacheError::Write {
            path: path.to_path_buf(),
            reason,
        };
        std::fs::create_dir_all(&self.dir).map_err(|err| {
            write_err(
                &self.dir,
                format!("cannot create the cache directory: {err}"),
            )
        })?;
        // Uncommit the old entry first: from here until the new sidecar is renamed into
        // place, readers see no entry.
        match std::fs::remove_file(&sidecar_path) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::NotFound => {}
            Err(err) => return Err(write_err(&sidecar_path, err.to_string())),
        }
        table_from_scores(scores, n_classes)
            .and_then(|table| table.write(&parquet_path, FileFormat::Parquet))
            .map_err(|err| write_err(&parquet_path, err.to_string()))?;
        let parquet_bytes = std::fs::metadata(&parquet_path)
            .map_err(|err| write_err(&parquet_path, err.to_string()))?
            .len();
        let sidecar = Sidecar {
            format_version: CACHE_FORMAT_VERSION,
            key: key.clone(),
            n_classes,
            parquet_bytes,
            symbols: symbols
                .iter()
                .zip(scores)
                .map(|(symbol, scores)| {
                    let distribution = &scores.input_distribution;
                    SymbolEntry {
                        symbol: symbol.as_ref().to_string(),
                        rows: scores.n_rows(),
                        rows_checked: distribution.rows_checked,
                        rows_extreme: distribution.rows_extreme,
                        max_abs_z_bits: distribution.max_abs_z.to_bits(),
                        max_abs_z_feature: distribution.max_abs_z_feature,
                    }
                })
                .collect(),
        };
        let json = serde_json::to_string_pretty(&sidecar)
            .map_err(|err| write_err(&sidecar_path, err.to_string()))?;
        let mut tmp_name = sidecar_path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        std::fs::write(&tmp, json)
            .and_then(|()| std::fs::rename(&tmp, &sidecar_path))
            .map_err(|err| write_err(&sidecar_path, err.to_string()))
    }
}

/// The class count shared by all `scores`, or what is wrong with them.
fn check_input<S: AsRef<str>>(symbols: &[S], scores: &[MemberScores]) -> Result<usize, String> {
    if symbols.len() != scores.len() {
        return Err(format!(
            "{} symbols but {} symbols' scores",
            symbols.len(),
            scores.len()
        ));
    }
    let Some(first) = scores.first() else {
        return Err("no symbols".to_string());
    };
    let n_classes = first.n_classes;
    if n_classes == 0 {
        return Err("scores with 0 classes".to_string());
    }
    for (symbol, scores) in symbols.iter().zip(scores) {
        let symbol = symbol.as_ref();
        if scores.n_classes != n_classes {
            return Err(format!(
                "{symbol} has {} classes, the first symbol {n_classes}",
                scores.n_classes
            ));
        }
        if scores.probabilities.len() != scores.n_rows() * n_classes {
            return Err(format!(
                "{symbol} has {} probabilities for {} rows × {n_classes} classes",
                scores.probabilities.len(),
                scores.n_rows()
            ));
        }
    }
    Ok(n_classes)
}

fn check_sidecar<S: AsRef<str>>(
    sidecar: &Sidecar,
    key: &PredictionKey,
    symbols: &[S],
) -> Result<(), String> {
    if sidecar.format_version != CACHE_FORMAT_VERSION {
        return Err(format!(
            "it has cache format version {}, this build reads version {CACHE_FORMAT_VERSION}",
            sidecar.format_version
        ));
    }
    if sidecar.key != *key {
        return Err(format!(
            "it records key {:?}, the requested key is {key:?}",
            sidecar.key
        ));
    }
    if sidecar.n_classes == 0 {
        return Err("it records 0 classes".to_string());
    }
    let recorded: Vec<&str> = sidecar.symbols.iter().map(|s| s.symbol.as_str()).collect();
    let requested: Vec<&str> = symbols.iter().map(AsRef::as_ref).collect();
    if recorded != requested {
        let position = recorded
            .iter()
            .zip(&requested)
            .position(|(a, b)| a != b)
            .unwrap_or(recorded.len().min(requested.len()));
        return Err(format!(
            "it holds {} symbols, {} were requested; first difference at position {position}: \
             cached {:?}, requested {:?}",
            recorded.len(),
            requested.len(),
            recorded.get(position),
            requested.get(position)
        ));
    }
    Ok(())
}

fn class_column(class: usize) -> String {
    format!("p{class}")
}

fn table_from_scores(
    scores: &[MemberScores],
    n_classes: usize,
) -> Result<Table, gauntlet_datasets::table::TableError> {
    let total: usize = scores.iter().map(MemberScores::n_rows).sum();
    let mut symbol = Vec::with_capacity(total);
    let mut row = Vec::with_capacity(total);
    let mut scored = Vec::with_capacity(total);
    let mut classes = vec![Vec::with_capacity(total); n_classes];
    for (index, scores) in scores.iter().enumerate() {
        let n = scores.n_rows();
        symbol.extend(std::iter::repeat_n(index as i64, n));
        row.extend(0..n as i64);
        scored.extend(scores.scored.iter().map(|&s| i64::from(s)));
        for values in scores.probabilities.chunks_exact(n_classes) {
            for (column, &value) in classes.iter_mut().zip(values) {
                column.push(value);
            }
        }
    }
    let mut table = Table::new();
    table.push("symbol", ColumnValues::I64(symbol))?;
    table.push("row", ColumnValues::I64(row))?;
    for (class, values) in classes.into_iter().enumerate() {
        table.push(class_column(class), ColumnValues::F32(values))?;
    }
    table.push("scored", ColumnValues::I64(scored))?;
    Ok(table)
}

fn scores_from_table(table: &Table, sidecar: &Sidecar) -> Result<Vec<MemberScores>, String> {
    let n_classes = sidecar.n_classes;
    let expected: Vec<String> = ["symbol".to_string(), "row".to_string()]
        .into_iter()
        .chain((0..n_classes).map(class_column))
        .chain(["scored".to_string()])
        .collect();
    let found: Vec<&str> = table.columns().iter().map(|(n, _)| n.as_str()).collect();
    if found != expected {
        return Err(format!("columns {found:?}, expected {expected:?}"));
    }
    let total: usize = sidecar.symbols.iter().map(|s| s.rows).sum();
    if table.height() != total {
        return Err(format!(
            "{} rows, the sidecar's symbols have {total}",
            table.height()
        ));
    }
    let i64_column = |name: &str| match table.column(name) {
        Some(ColumnValues::I64(values)) => Ok(values),
        _ => Err(format!("column {name:?} is not i64")),
    };
    let symbol = i64_column("symbol")?;
    let row = i64_column("row")?;
    let scored = i64_column("scored")?;
    let classes = (0..n_classes)
        .map(|class| match table.column(&class_column(class)) {
            Some(ColumnValues::F32(values)) => Ok(values.as_slice()),
            _ => Err(format!("column {:?} is not f32", class_column(class))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(sidecar.symbols.len());
    let mut start = 0usize;
    for (index, entry) in sidecar.symbols.iter().enumerate() {
        let range = start..start + entry.rows;
        start = range.end;
        if let Some(offset) = symbol[range.clone()]
            .iter()
            .position(|&s| s != index as i64)
        {
            return Err(format!(
                "row {} has symbol {}, expected {index} ({})",
                range.start + offset,
                symbol[range.start + offset],
                entry.symbol
            ));
        }
        if let Some(offset) = row[range.clone()]
            .iter()
            .enumerate()
            .position(|(i, &r)| r != i as i64)
        {
            return Err(format!(
                "{} row {offset} is stored with row index {}",
                entry.symbol,
                row[range.start + offset]
            ));
        }
        let mut flags = Vec::with_capacity(entry.rows);
        for (offset, &flag) in scored[range.clone()].iter().enumerate() {
            match flag {
                0 => flags.push(false),
                1 => flags.push(true),
                other => {
                    return Err(format!(
                        "{} row {offset} has scored = {other}, expected 0 or 1",
                        entry.symbol
                    ))
                }
            }
        }
        let mut probabilities = Vec::with_capacity(entry.rows * n_classes);
        for position in range {
            probabilities.extend(classes.iter().map(|column| column[position]));
        }
        out.push(MemberScores {
            n_classes,
            probabilities,
            scored: flags,
            input_distribution: InputDistribution {
                rows_checked: entry.rows_checked,
                rows_extreme: entry.rows_extreme,
                max_abs_z: f32::from_bits(entry.max_abs_z_bits),
                max_abs_z_feature: entry.max_abs_z_feature,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(data: &str) -> PredictionKey {
        PredictionKey::new("bundle", "manifest", data, Engine::OnnxRuntime)
    }

    /// Scores with awkward values: NaN on unscored rows, subnormals, 1 - ulp, -0.0.
    fn sample() -> (Vec<String>, Vec<MemberScores>) {
        let a = MemberScores {
            n_classes: 3,
            probabilities: vec![
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.1,
                0.2,
                0.7,
                f32::MIN_POSITIVE / 4.0,
                1.0 - f32::EPSILON / 2.0,
                -0.0,
            ],
            scored: vec![false, true, true],
            input_distribution: InputDistribution {
                rows_checked: 2,
                rows_extreme: 1,
                max_abs_z: f32::INFINITY,
                max_abs_z_feature: Some(4),
            },
        };
        let b = MemberScores {
            n_classes: 3,
            probabilities: vec![1.0 / 3.0; 6],
            scored: vec![true, true],
            input_distribution: InputDistribution::default(),
        };
        let empty = MemberScores {
            n_classes: 3,
            probabilities: Vec::new(),
            scored: Vec::new(),
            input_distribution: InputDistribution::default(),
        };
        (
            vec!["AAA".into(), "EMPTY".into(), "BBB".into()],
            vec![a, empty, b],
        )
    }

    fn bits(scores: &[MemberScores]) -> Vec<Vec<u32>> {
        scores
            .iter()
            .map(|s| s.probabilities.iter().map(|p| p.to_bits()).collect())
            .collect()
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn round_trip_is_bit_identical() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path().join("cache"));
        let (symbols, scores) = sample();
        assert!(cache.get(&key("d"), &symbols).unwrap().is_none());
        cache.put(&key("d"), &symbols, &scores).unwrap();
        let back = cache.get(&key("d"), &symbols).unwrap().unwrap();
        assert_eq!(bits(&back), bits(&scores));
        for (got, want) in back.iter().zip(&scores) {
            assert_eq!(got.n_classes, want.n_classes);
            assert_eq!(got.scored, want.scored);
            assert_eq!(got.input_distribution, want.input_distribution);
        }
        let stem = key("d").file_stem();
        assert_eq!(
            files(cache.dir()),
            [
                format!("{stem}.predictions.json"),
                format!("{stem}.predictions.parquet")
            ],
            "no temp files are left behind"
        );
    }

    #[test]
    fn the_parquet_file_is_readable_without_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        cache.put(&key("d"), &symbols, &scores).unwrap();
        let table = Table::read_parquet(&cache.parquet_path(&key("d"))).unwrap();
        let names: Vec<&str> = table.columns().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["symbol", "row", "p0", "p1", "p2", "scored"]);
        assert_eq!(
            table.column("symbol"),
            Some(&ColumnValues::I64(vec![0, 0, 0, 2, 2]))
        );
        assert_eq!(
            table.column("row"),
            Some(&ColumnValues::I64(vec![0, 1, 2, 0, 1]))
        );
        assert_eq!(
            table.column("scored"),
            Some(&ColumnValues::I64(vec![0, 1, 1, 1, 1]))
        );
    }

    #[test]
    fn any_other_key_part_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        let stored = key("d");
        cache.put(&stored, &symbols, &scores).unwrap();
        for other in [
            PredictionKey::new("bundle2", "manifest", "d", Engine::OnnxRuntime),
            PredictionKey::new("bundle", "manifest2", "d", Engine::OnnxRuntime),
            PredictionKey::new("bundle", "manifest", "d", Engine::Native),
            key("d2"),
            // Length prefixes keep the parts apart.
            PredictionKey::new("bundlem", "anifest", "d", Engine::OnnxRuntime),
        ] {
            assert_ne!(other.file_stem(), stored.file_stem());
            assert!(cache.get(&other, &symbols).unwrap().is_none(), "{other:?}");
        }
    }

    #[test]
    fn an_entry_recording_another_key_is_never_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        cache.put(&key("old"), &symbols, &scores).unwrap();
        // Someone copies an entry to the name of another key.
        for suffix in ["json", "parquet"] {
            std::fs::copy(
                dir.path()
                    .join(format!("{}.predictions.{suffix}", key("old").file_stem())),
                dir.path()
                    .join(format!("{}.predictions.{suffix}", key("new").file_stem())),
            )
            .unwrap();
        }
        let err = cache.get(&key("new"), &symbols).unwrap_err();
        assert!(matches!(err, CacheError::Unusable { .. }));
        let message = err.to_string();
        assert!(message.contains("records key"), "{message}");
        assert!(message.contains("\"old\""), "{message}");
        // Re-scoring and putting repairs it.
        cache.put(&key("new"), &symbols, &scores).unwrap();
        assert!(cache.get(&key("new"), &symbols).unwrap().is_some());
    }

    #[test]
    fn other_symbols_are_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        cache.put(&key("d"), &symbols, &scores).unwrap();
        let reordered = ["AAA", "BBB", "EMPTY"];
        let message = cache.get(&key("d"), &reordered).unwrap_err().to_string();
        assert!(
            message.contains(
                "first difference at position 1: cached Some(\"EMPTY\"), requested Some(\"BBB\")"
            ),
            "{message}"
        );
    }

    #[test]
    fn corrupt_entries_are_reported_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        let k = key("d");
        cache.put(&k, &symbols, &scores).unwrap();
        let parquet = cache.parquet_path(&k);
        let good = std::fs::read(&parquet).unwrap();

        // Truncated Parquet: the size no longer matches the sidecar.
        std::fs::write(&parquet, &good[..good.len() / 2]).unwrap();
        let message = cache.get(&k, &symbols).unwrap_err().to_string();
        assert!(
            message.contains("bytes but the sidecar recorded"),
            "{message}"
        );
        assert!(
            message.contains(&parquet.display().to_string()),
            "{message}"
        );

        // Same size, garbage bytes: the Parquet reader rejects it.
        std::fs::write(&parquet, vec![7u8; good.len()]).unwrap();
        let err = cache.get(&k, &symbols).unwrap_err();
        assert!(matches!(err, CacheError::Unusable { .. }), "{err}");

        // Missing Parquet file under a sidecar.
        std::fs::remove_file(&parquet).unwrap();
        assert!(matches!(
            cache.get(&k, &symbols),
            Err(CacheError::Unusable { .. })
        ));

        // Broken sidecar.
        std::fs::write(&parquet, &good).unwrap();
        std::fs::write(cache.sidecar_path(&k), "{ not json").unwrap();
        let message = cache.get(&k, &symbols).unwrap_err().to_string();
        assert!(message.contains("the sidecar is not valid"), "{message}");

        cache.put(&k, &symbols, &scores).unwrap();
        let back = cache.get(&k, &symbols).unwrap().unwrap();
        assert_eq!(bits(&back), bits(&scores));
    }

    #[test]
    fn a_sidecar_disagreeing_with_its_parquet_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        let k = key("d");
        cache.put(&k, &symbols, &scores).unwrap();
        let sidecar_path = cache.sidecar_path(&k);
        let text = std::fs::read_to_string(&sidecar_path).unwrap();
        let mut sidecar: Sidecar = serde_json::from_str(&text).unwrap();
        sidecar.symbols.swap(0, 2);
        sidecar.symbols[0].symbol = "AAA".into();
        sidecar.symbols[2].symbol = "BBB".into();
        std::fs::write(&sidecar_path, serde_json::to_string(&sidecar).unwrap()).unwrap();
        let message = cache.get(&k, &symbols).unwrap_err().to_string();
        assert!(message.contains("has symbol 0, expected 2"), "{message}");

        sidecar = serde_json::from_str(&text).unwrap();
        sidecar.format_version = CACHE_FORMAT_VERSION + 1;
        std::fs::write(&sidecar_path, serde_json::to_string(&sidecar).unwrap()).unwrap();
        let message = cache.get(&k, &symbols).unwrap_err().to_string();
        let expected = format!("cache format version {}", CACHE_FORMAT_VERSION + 1);
        assert!(message.contains(&expected), "{message}");
    }

    #[test]
    fn an_interrupted_write_leaves_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        let k = key("d");
        cache.put(&k, &symbols, &scores).unwrap();
        // A rewrite that died after removing the sidecar and while writing the Parquet
        // temp file: a stale Parquet file and a half-written temp file remain.
        std::fs::remove_file(cache.sidecar_path(&k)).unwrap();
        let mut tmp = cache.parquet_path(&k).into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, b"PAR1 half").unwrap();
        assert!(cache.get(&k, &symbols).unwrap().is_none());
        // The next put completes the entry.
        cache.put(&k, &symbols, &scores).unwrap();
        assert!(cache.get(&k, &symbols).unwrap().is_some());
    }

    #[test]
    fn a_failed_put_leaves_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        let k = key("d");
        cache.put(&k, &symbols, &scores).unwrap();
        // The Parquet path is now a directory: the rename fails mid-put.
        std::fs::remove_file(cache.parquet_path(&k)).unwrap();
        std::fs::create_dir(cache.parquet_path(&k)).unwrap();
        assert!(matches!(
            cache.put(&k, &symbols, &scores),
            Err(CacheError::Write { .. })
        ));
        assert!(cache.get(&k, &symbols).unwrap().is_none());
    }

    #[test]
    fn inconsistent_input_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, mut scores) = sample();
        let message = cache
            .put(&key("d"), &symbols[..2], &scores)
            .unwrap_err()
            .to_string();
        assert!(message.contains("3 symbols' scores"), "{message}");
        scores[2].probabilities.pop();
        let message = cache
            .put(&key("d"), &symbols, &scores)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("BBB has 5 probabilities for 2 rows × 3 classes"),
            "{message}"
        );
        let none: [&str; 0] = [];
        assert!(cache.put(&key("d"), &none, &[]).is_err());
        assert!(files(dir.path()).is_empty());
    }
}
