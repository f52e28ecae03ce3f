//! The prediction cache: one member's [`MemberScores`] for a whole universe, stored as
//! raw little-endian binary so re-runs and sweeps never score the same rows twice.
//!
//! An entry is keyed by [`PredictionKey`] = (bundle hash, manifest hash, data hash,
//! scoring engine) and lives in the cache directory as two files named after
//! `stem = sha256("gauntlet-prediction-cache" ‖ CACHE_FORMAT_VERSION as u32 LE ‖ for each
//! key part: len as u64 LE ‖ UTF-8 bytes)` (lower-case hex):
//! - `stem.predictions.bin` (the data file), with no header: for each symbol in the
//!   sidecar's order, its `rows × C` outputs as f32 little-endian, row-major (row 0's
//!   classes 0 … C-1, then row 1's, …), then its `rows` scored flags, one byte each (1 if
//!   the row was scored, else 0); `Σ rows × (4·C + 1)` bytes in all. The outputs are the
//!   member's raw outputs before temperature — logits or probabilities, per the bundle's
//!   output kind — stored bit-exact, NaN on unscored rows; the caller applies the
//!   temperature, so a logits model's logits stay available for diagnostics;
//! - `stem.predictions.json` (the sidecar): the format version (`format_version`), the
//!   four keys (`key`), the class count C (`n_classes`), the data file's byte length
//!   (`data_bytes`) and lower-case hex SHA-256 (`data_sha256`) and, per symbol
//!   (`symbols`), its name, row count and input-distribution counts.
//!
//! Writes are atomic per file and ordered so no half-written entry is ever read:
//! [`PredictionCache::put`] first removes the old sidecar, then writes the data file,
//! then the sidecar, each to a temporary file `{final name}.{process id}.{n}.tmp` (`n`
//! counts the process's writes, so writers filling the cache at once never share one)
//! that is renamed into place once complete; a failed write removes its temporary file.
//! The sidecar is the commit marker: an entry without one (an interrupted write) is a
//! miss. A writer killed before its rename leaves its temporary file behind: nothing
//! reads it, and it can be deleted. Files are not synced to disk, so after a machine
//! crash either file may be lost or truncated; `get` reports that like any corruption.
//!
//! Lookups never use an entry silently: [`PredictionCache::get`] returns `Ok(None)` when
//! there is no sidecar, [`CacheError::Read`] when the sidecar exists but cannot be read,
//! and [`CacheError::Unusable`] when an entry exists but cannot be trusted:
//! - a sidecar that is not JSON of this layout (a missing or unknown field included),
//!   or that records another format version, another key, other symbols (names or
//!   order) than requested, 0 classes, or a `data_bytes` other than its row counts and
//!   C imply;
//! - a data file that is missing or unreadable, whose length is not `data_bytes`, whose
//!   SHA-256 is not `data_sha256`, or that holds a scored flag other than 0 or 1.
//!
//! The hash binds the data file to its sidecar, so a reader never pairs a sidecar with
//! another write's data file: one that reads the sidecar just before a `put` replaces
//! the entry with other contents, and the data file just after, refuses the pair (two
//! processes filling the same entry at once normally write the same bytes anyway).
//!
//! A caller should show the error as a warning, score again and `put`, which overwrites
//! the entry.

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::preflight::CheckedModel;
use super::scoring::Engine;
use super::scoring::{InputDistribution, MemberScores};

/// Version of the cache layout above; part of the file name and of the sidecar.
pub const CACHE_FORMAT_VERSION: u32 = 4;

/// Buffer of the writer [`PredictionCache::put`] writes the data file through.
const DATA_WRITE_BUFFER: usize = 1 << 20;

/// Outputs (or scored flags) converted to bytes, hashed and written at a time.
const CHUNK_VALUES: usize = 1 << 16;

/// Numbers this process's temporary files, so no two writes share one.
static TEMP_FILES: AtomicU64 = AtomicU64::new(0);

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
        hex(&hasher.finalize())
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
    /// The data file's length in bytes.
    data_bytes: u64,
    /// The data file's SHA-256, lower-case hex.
    data_sha256: String,
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

    /// The entry's data file (raw outputs and scored flags).
    pub fn data_path(&self, key: &PredictionKey) -> PathBuf {
        self.dir
            .join(format!("{}.predictions.bin", key.file_stem()))
    }

    /// The entry's sidecar JSON (its commit marker).
    pub fn sidecar_path(&self, key: &PredictionKey) -> PathBuf {
        self.dir
            .join(format!("{}.predictions.json", key.file_stem()))
    }

    /// The cached predictions for `key`, one [`MemberScores`] per symbol in `symbols`
    /// order: `Ok(None)` if there is no entry, [`CacheError::Read`] if its sidecar
    /// cannot be read, [`CacheError::Unusable`] if there is an entry that cannot be
    /// trusted (see the module docs).
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
        let data_path = self.data_path(key);
        let data = std::fs::read(&data_path)
            .map_err(|err| unusable(&data_path, format!("cannot read the data file: {err}")))?;
        let scores =
            scores_from_data(&data, &sidecar).map_err(|reason| unusable(&data_path, reason))?;
        Ok(Some(scores))
    }

    /// Stores one member's predictions for `symbols` (same order and length as
    /// `scores`) under `key`, replacing any entry there. Atomic: a reader sees the old
    /// entry, no entry, or the new entry, never a partial one; several processes (or
    /// threads) may `put` the same entry at once.
    pub fn put<S: AsRef<str>>(
        &self,
        key: &PredictionKey,
        symbols: &[S],
        scores: &[MemberScores],
    ) -> Result<(), CacheError> {
        let n_classes = check_input(symbols, scores).map_err(CacheError::Input)?;
        let sidecar_path = self.sidecar_path(key);
        let data_path = self.data_path(key);
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
        let (data_bytes, data_sha256) =
            write_atomically(&data_path, DATA_WRITE_BUFFER, |out| write_data(out, scores))
                .map_err(|reason| write_err(&data_path, reason))?;
        let sidecar = Sidecar {
            format_version: CACHE_FORMAT_VERSION,
            key: key.clone(),
            n_classes,
            data_bytes,
            data_sha256,
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
        debug_assert_eq!(expected_data_bytes(&sidecar), Some(data_bytes));
        let json = serde_json::to_vec_pretty(&sidecar)
            .map_err(|err| write_err(&sidecar_path, err.to_string()))?;
        write_atomically(&sidecar_path, json.len(), |out| out.write_all(&json))
            .map_err(|reason| write_err(&sidecar_path, reason))
    }
}

/// Writes `path` through a temporary file unique to this write (see the module docs),
/// buffered by `buffer` bytes: `write` fills it, and once it is flushed it is renamed
/// to `path`. On failure, removes the temporary file and returns what went wrong.
fn write_atomically<T>(
    path: &Path,
    buffer: usize,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<T>,
) -> Result<T, String> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        TEMP_FILES.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = PathBuf::from(name);
    let result = write_then_rename(&tmp, path, buffer, write);
    if result.is_err() {
        // Best effort: the temporary file may not even have been created.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// [`write_atomically`] without the clean-up.
fn write_then_rename<T>(
    tmp: &Path,
    path: &Path,
    buffer: usize,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<T>,
) -> Result<T, String> {
    let file =
        File::create(tmp).map_err(|err| format!("cannot create {}: {err}", tmp.display()))?;
    let mut out = BufWriter::with_capacity(buffer, file);
    let value = write(&mut out)
        .and_then(|value| out.flush().map(|()| value))
        .map_err(|err| format!("cannot write {}: {err}", tmp.display()))?;
    drop(out);
    std::fs::rename(tmp, path)
        .map_err(|err| format!("cannot rename {} into place: {err}", tmp.display()))?;
    Ok(value)
}

/// Writes `scores` to `out` in the data file's layout (see the module docs) and returns
/// the number of bytes written and their SHA-256 (lower-case hex), hashed chunk by chunk
/// as they are written.
fn write_data(out: &mut impl Write, scores: &[MemberScores]) -> std::io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut write_chunk = |chunk: &[u8]| {
        hasher.update(chunk);
        bytes += chunk.len() as u64;
        out.write_all(chunk)
    };
    let mut chunk = Vec::with_capacity(CHUNK_VALUES * 4);
    for scores in scores {
        for values in scores.probabilities.chunks(CHUNK_VALUES) {
            chunk.clear();
            for value in values {
                chunk.extend_from_slice(&value.to_le_bytes());
            }
            write_chunk(&chunk)?;
        }
        for flags in scores.scored.chunks(CHUNK_VALUES) {
            chunk.clear();
            chunk.extend(flags.iter().map(|&flag| u8::from(flag)));
            write_chunk(&chunk)?;
        }
    }
    Ok((bytes, hex(&hasher.finalize())))
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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

/// What makes `sidecar` unfit for a lookup of `key` and `symbols`, if anything (before
/// its data file is read).
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
    match expected_data_bytes(sidecar) {
        Some(bytes) if bytes == sidecar.data_bytes => Ok(()),
        Some(bytes) => Err(format!(
            // No overflow: the sum is at most the byte count, which did not overflow.
            "its {} rows × {} classes make a {bytes}-byte data file, but it recorded \
             data_bytes = {}",
            sidecar.symbols.iter().map(|s| s.rows as u64).sum::<u64>(),
            sidecar.n_classes,
            sidecar.data_bytes
        )),
        None => Err(format!(
            "its row counts and {} classes overflow the data file's size",
            sidecar.n_classes
        )),
    }
}

/// The data file's length per the sidecar's row counts and class count
/// (`Σ rows × (4·C + 1)`), or `None` if it overflows.
fn expected_data_bytes(sidecar: &Sidecar) -> Option<u64> {
    let row_bytes = u64::try_from(sidecar.n_classes)
        .ok()?
        .checked_mul(4)?
        .checked_add(1)?;
    sidecar.symbols.iter().try_fold(0u64, |total, entry| {
        total.checked_add(u64::try_from(entry.rows).ok()?.checked_mul(row_bytes)?)
    })
}

/// Decodes the data file (see the module docs) after checking its length and SHA-256
/// against `sidecar`, which [`check_sidecar`] accepted.
fn scores_from_data(data: &[u8], sidecar: &Sidecar) -> Result<Vec<MemberScores>, String> {
    if data.len() as u64 != sidecar.data_bytes {
        return Err(format!(
            "the data file has {} bytes but the sidecar recorded {}",
            data.len(),
            sidecar.data_bytes
        ));
    }
    let sha256 = hex(&Sha256::digest(data));
    if sha256 != sidecar.data_sha256 {
        return Err(format!(
            "the data file's SHA-256 {sha256} differs from the sidecar's {}",
            sidecar.data_sha256
        ));
    }
    let n_classes = sidecar.n_classes;
    let mut rest = data;
    let mut out = Vec::with_capacity(sidecar.symbols.len());
    for entry in &sidecar.symbols {
        // The length check above and check_sidecar's make these splits succeed; they
        // are checked anyway so no sidecar can make this panic.
        let (values, tail) = entry
            .rows
            .checked_mul(4)
            .and_then(|n| n.checked_mul(n_classes))
            .and_then(|n| rest.split_at_checked(n))
            .ok_or_else(|| format!("the data file ends inside {}'s outputs", entry.symbol))?;
        let (flags, tail) = tail
            .split_at_checked(entry.rows)
            .ok_or_else(|| format!("the data file ends inside {}'s flags", entry.symbol))?;
        rest = tail;
        if let Some(offset) = flags.iter().position(|&flag| flag > 1) {
            return Err(format!(
                "{} row {offset} has scored = {}, expected 0 or 1",
                entry.symbol, flags[offset]
            ));
        }
        let probabilities = values
            .chunks_exact(4)
            .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            .collect();
        out.push(MemberScores {
            n_classes,
            probabilities,
            scored: flags.iter().map(|&flag| flag == 1).collect(),
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
    use std::sync::atomic::AtomicUsize;

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

    /// The two files of a committed entry, sorted as [`files`] lists them.
    fn entry_files(key: &PredictionKey) -> [String; 2] {
        let stem = key.file_stem();
        [
            format!("{stem}.predictions.bin"),
            format!("{stem}.predictions.json"),
        ]
    }

    fn read_sidecar(cache: &PredictionCache, key: &PredictionKey) -> Sidecar {
        serde_json::from_str(&std::fs::read_to_string(cache.sidecar_path(key)).unwrap()).unwrap()
    }

    fn write_sidecar(cache: &PredictionCache, key: &PredictionKey, sidecar: &Sidecar) {
        std::fs::write(
            cache.sidecar_path(key),
            serde_json::to_string(sidecar).unwrap(),
        )
        .unwrap();
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
        assert_eq!(
            files(cache.dir()),
            entry_files(&key("d")),
            "no temp files are left behind"
        );
    }

    /// Decodes an entry by hand from the layout the module docs give, without the cache's
    /// reader: the docs are the format's spec.
    #[test]
    fn the_files_follow_the_documented_layout() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        let k = key("d");
        cache.put(&k, &symbols, &scores).unwrap();
        let data = std::fs::read(cache.data_path(&k)).unwrap();
        let sidecar: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(cache.sidecar_path(&k)).unwrap())
                .unwrap();
        assert_eq!(sidecar["format_version"], CACHE_FORMAT_VERSION);
        assert_eq!(sidecar["key"]["data_hash"], "d");
        assert_eq!(sidecar["key"]["engine"], Engine::OnnxRuntime.as_str());
        assert_eq!(sidecar["n_classes"], 3);
        // Σ rows × (4·C + 1) = (3 + 0 + 2) × 13.
        assert_eq!(data.len(), 65);
        assert_eq!(sidecar["data_bytes"], data.len());
        let sha256: String = Sha256::digest(&data)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(sidecar["data_sha256"], sha256);

        let entries = sidecar["symbols"].as_array().unwrap();
        assert_eq!(entries.len(), symbols.len());
        let mut offset = 0;
        for ((entry, symbol), want) in entries.iter().zip(&symbols).zip(&scores) {
            assert_eq!(entry["symbol"], symbol.as_str());
            let rows = entry["rows"].as_u64().unwrap() as usize;
            assert_eq!(rows, want.n_rows());
            // rows × C f32 little-endian, row-major...
            let outputs: Vec<u32> = data[offset..offset + rows * 3 * 4]
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            offset += rows * 3 * 4;
            let want_outputs: Vec<u32> = want.probabilities.iter().map(|p| p.to_bits()).collect();
            assert_eq!(outputs, want_outputs, "{symbol}");
            // ...then one scored byte per row.
            let flags = &data[offset..offset + rows];
            offset += rows;
            let want_flags: Vec<u8> = want.scored.iter().map(|&s| u8::from(s)).collect();
            assert_eq!(flags, want_flags, "{symbol}");
            assert_eq!(entry["rows_checked"], want.input_distribution.rows_checked);
        }
        assert_eq!(offset, data.len(), "no header, no trailer");
        // Spelled out: AAA's row 1 class 0 (0.1), its flags, and BBB's first output (1/3).
        assert_eq!(data[12..16], 0.1f32.to_le_bytes());
        assert_eq!(data[36..39], [0, 1, 1]);
        assert_eq!(data[39..43], (1.0f32 / 3.0).to_le_bytes());
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
        for suffix in ["json", "bin"] {
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
        let data_path = cache.data_path(&k);
        let shown = data_path.display().to_string();
        let good = std::fs::read(&data_path).unwrap();

        // Truncated data file: the length no longer matches the sidecar.
        std::fs::write(&data_path, &good[..good.len() / 2]).unwrap();
        let message = cache.get(&k, &symbols).unwrap_err().to_string();
        assert!(
            message.contains("bytes but the sidecar recorded"),
            "{message}"
        );
        assert!(message.contains(&shown), "{message}");

        // Same length, one bit of an output flipped: the hash catches it.
        let mut flipped = good.clone();
        flipped[13] ^= 0x01;
        std::fs::write(&data_path, &flipped).unwrap();
        let err = cache.get(&k, &symbols).unwrap_err();
        assert!(matches!(err, CacheError::Unusable { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("SHA-256"), "{message}");
        assert!(message.contains("differs from the sidecar's"), "{message}");
        assert!(message.contains(&shown), "{message}");

        // Missing data file under a sidecar.
        std::fs::remove_file(&data_path).unwrap();
        let err = cache.get(&k, &symbols).unwrap_err();
        assert!(matches!(err, CacheError::Unusable { .. }), "{err}");
        assert!(err.to_string().contains(&shown), "{err}");

        // Broken sidecar.
        std::fs::write(&data_path, &good).unwrap();
        std::fs::write(cache.sidecar_path(&k), "{ not json").unwrap();
        let message = cache.get(&k, &symbols).unwrap_err().to_string();
        assert!(message.contains("the sidecar is not valid"), "{message}");

        cache.put(&k, &symbols, &scores).unwrap();
        let back = cache.get(&k, &symbols).unwrap().unwrap();
        assert_eq!(bits(&back), bits(&scores));
    }

    #[test]
    fn a_scored_flag_other_than_0_or_1_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        let k = key("d");
        cache.put(&k, &symbols, &scores).unwrap();
        let data_path = cache.data_path(&k);
        let mut data = std::fs::read(&data_path).unwrap();
        // AAA's flags follow its 3 rows × 3 classes × 4 bytes; set row 1's to 2.
        assert_eq!(data[37], 1);
        data[37] = 2;
        std::fs::write(&data_path, &data).unwrap();
        // A sidecar that agrees with the changed bytes, so only the flag check is left.
        let mut sidecar = read_sidecar(&cache, &k);
        sidecar.data_sha256 = hex(&Sha256::digest(&data));
        write_sidecar(&cache, &k, &sidecar);
        let err = cache.get(&k, &symbols).unwrap_err();
        assert!(matches!(err, CacheError::Unusable { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("AAA row 1 has scored = 2, expected 0 or 1"),
            "{message}"
        );
        assert!(
            message.contains(&data_path.display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn a_sidecar_disagreeing_with_its_data_file_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        let k = key("d");
        cache.put(&k, &symbols, &scores).unwrap();
        let original = read_sidecar(&cache, &k);

        // AAA's and BBB's row counts swapped: same total length and hash, but the data
        // file no longer splits into valid symbols (output bytes land on flags).
        let mut sidecar = original.clone();
        sidecar.symbols.swap(0, 2);
        sidecar.symbols[0].symbol = "AAA".into();
        sidecar.symbols[2].symbol = "BBB".into();
        write_sidecar(&cache, &k, &sidecar);
        let err = cache.get(&k, &symbols).unwrap_err();
        assert!(matches!(err, CacheError::Unusable { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("expected 0 or 1"), "{message}");

        // A row count that changes the total no longer matches data_bytes.
        sidecar = original.clone();
        sidecar.symbols[0].rows += 1;
        write_sidecar(&cache, &k, &sidecar);
        let message = cache.get(&k, &symbols).unwrap_err().to_string();
        assert!(
            message.contains(
                "its 6 rows × 3 classes make a 78-byte data file, but it recorded \
                 data_bytes = 65"
            ),
            "{message}"
        );

        // Another class count, likewise.
        sidecar = original.clone();
        sidecar.n_classes = 2;
        write_sidecar(&cache, &k, &sidecar);
        let message = cache.get(&k, &symbols).unwrap_err().to_string();
        assert!(message.contains("recorded data_bytes = 65"), "{message}");

        sidecar = original;
        sidecar.format_version = CACHE_FORMAT_VERSION + 1;
        write_sidecar(&cache, &k, &sidecar);
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
        // A rewrite that died after removing the sidecar and while writing the data
        // file's temp file: a stale data file and a half-written temp file remain.
        std::fs::remove_file(cache.sidecar_path(&k)).unwrap();
        let mut tmp = cache.data_path(&k).into_os_string();
        tmp.push(format!(".{}.0.tmp", std::process::id().wrapping_add(1)));
        std::fs::write(&tmp, [0x7f; 20]).unwrap();
        assert!(cache.get(&k, &symbols).unwrap().is_none());
        // The next put completes the entry; the dead writer's temp file is never read.
        cache.put(&k, &symbols, &scores).unwrap();
        let back = cache.get(&k, &symbols).unwrap().unwrap();
        assert_eq!(bits(&back), bits(&scores));
        assert_eq!(files(dir.path()).len(), 3);
    }

    #[test]
    fn a_failed_put_leaves_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (symbols, scores) = sample();
        let k = key("d");
        cache.put(&k, &symbols, &scores).unwrap();
        // The data path is now a directory: the rename fails mid-put.
        let data_path = cache.data_path(&k);
        std::fs::remove_file(&data_path).unwrap();
        std::fs::create_dir(&data_path).unwrap();
        match cache.put(&k, &symbols, &scores) {
            Err(CacheError::Write { path, .. }) => assert_eq!(path, data_path),
            other => panic!("expected a write error, got {other:?}"),
        }
        assert!(cache.get(&k, &symbols).unwrap().is_none());
        assert_eq!(
            files(dir.path()),
            [entry_files(&k)[0].clone()],
            "no sidecar, and the temp file was removed"
        );
    }

    #[test]
    fn concurrent_puts_of_one_key_never_expose_a_partial_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path());
        let (mut symbols, mut scores) = sample();
        // A larger symbol, so writes take long enough to overlap.
        let rows = 20_000;
        symbols.push("BIG".into());
        scores.push(MemberScores {
            n_classes: 3,
            probabilities: (0..rows * 3).map(|i| i as f32 * 1e-3).collect(),
            scored: (0..rows).map(|row| row % 7 != 0).collect(),
            input_distribution: InputDistribution::default(),
        });
        let k = key("d");
        let writers_left = AtomicUsize::new(2);
        let (hits, misses) = std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    let result = (0..20).try_for_each(|_| {
                        // A pause between puts leaves the committed entry up for a while.
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        cache.put(&k, &symbols, &scores)
                    });
                    writers_left.fetch_sub(1, Ordering::SeqCst);
                    result.unwrap();
                });
            }
            let reader = scope.spawn(|| {
                let (mut hits, mut misses) = (0usize, 0usize);
                loop {
                    let done = writers_left.load(Ordering::SeqCst) == 0;
                    match cache.get(&k, &symbols) {
                        Ok(Some(back)) => {
                            assert_eq!(bits(&back), bits(&scores));
                            assert!(back.iter().zip(&scores).all(|(a, b)| a.scored == b.scored));
                            hits += 1;
                        }
                        Ok(None) => misses += 1,
                        Err(err) => panic!("a get during concurrent puts failed: {err}"),
                    }
                    if done {
                        return (hits, misses);
                    }
                }
            });
            reader.join().unwrap()
        });
        // The last get came after both writers finished: the entry was committed.
        assert!(hits >= 1, "{hits} hits, {misses} misses");
        assert_eq!(files(dir.path()), entry_files(&k), "no temp files remain");
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
