//! `gauntlet models bundle`: `NAME.bundle.json` next to a model file (ONNX, XGBoost
//! JSON or LightGBM text) from the feature manifest, the scaler (given, or fitted on
//! the training table) and the training facts, so nobody hand-writes it. What is not
//! given is inferred, saying from what, and the bundle is written only if it passes
//! preflight against its own manifest.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use gauntlet_datasets::table::Table;
use gauntlet_reports::render::write_atomically;
use gauntlet_strategies::models::{
    check_class_labels, onnx_output_kind, onnx_scores_output, parse_onnx, preflight,
    read_feature_manifest, reference_output_kind, sha256_hex, BundleSpec, ExpectedFeatures,
    InputLayout, InputSpec, LabelSpec, ModelFormat, OnnxFileInfo, OutputEvidence, OutputKind,
    OutputSpec, PreflightError, PreflightOptions, ReferenceRows, Scaler, ScalerFitError,
    TrainingWindow, ZeroVariance,
};

/// Where the input scaler comes from.
#[derive(Debug, Clone)]
pub enum ScalerSource {
    /// JSON `{"mean": [...], "std": [...]}` in manifest feature order.
    File(PathBuf),
    /// Fitted on the training table (`gauntlet features export` output for the
    /// manifest): per-feature mean and population std (ddof=0, numpy's default and
    /// scikit-learn's StandardScaler) over the rows with a label.
    FitOn {
        table: PathBuf,
        zero_variance: ZeroVariance,
    },
    /// The model takes raw, unscaled features.
    None,
}

/// Everything a bundle is made of; `None` fields are inferred.
#[derive(Debug, Clone)]
pub struct BundleRequest {
    pub model: PathBuf,
    /// Default: told from the file's extension and content.
    pub format: Option<ModelFormat>,
    /// The feature manifest the training data was exported with.
    pub manifest: PathBuf,
    pub scaler: ScalerSource,
    /// JSON `{"source", "tolerance", "inputs", "outputs"}`: raw input rows and the
    /// native library's outputs for them.
    pub reference: Option<PathBuf>,
    /// Default: the model file's stem.
    pub name: Option<String>,
    /// ONNX input name. Default: the graph's first input.
    pub input_name: Option<String>,
    pub layout: InputLayout,
    pub window: Option<usize>,
    /// ONNX output holding the class scores. Default: the graph's only float tensor.
    pub output: Option<String>,
    /// Default: told from the graph or the reference outputs; XGBoost / LightGBM:
    /// probabilities (the library's predict_proba).
    pub kind: Option<OutputKind>,
    /// Class labels in output-column order.
    pub classes: Vec<String>,
    pub temperature: f64,
    pub labels: LabelSpec,
    pub training_window: TrainingWindow,
    /// Default: `NAME.bundle.json` next to the model file.
    pub out: Option<PathBuf>,
}

/// Something [`write_bundle`] inferred or fitted, as it happens; each displays as one
/// line for the user.
#[derive(Debug, Clone, PartialEq)]
pub enum BundleNote {
    Output {
        name: String,
        why: String,
    },
    Kind {
        kind: OutputKind,
        reason: String,
    },
    ScalerFitted {
        table: PathBuf,
        rows: usize,
        unlabelled: usize,
    },
    StdOne {
        features: Vec<String>,
    },
    /// The bundle lives in another folder than the model: the model file was copied
    /// beside it, where the bundle's `model_file` points.
    ModelCopied {
        to: PathBuf,
    },
}

impl fmt::Display for BundleNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Output { name, why } => {
                write!(
                    f,
                    "output      {name} (inferred: {why}; --output to choose another)"
                )
            }
            Self::Kind { kind, reason } => write!(
                f,
                "kind        {} (inferred: {reason}; --kind to override)",
                kind.as_str()
            ),
            Self::ScalerFitted {
                table,
                rows,
                unlabelled,
            } => {
                write!(
                    f,
                    "scaler      mean and population std (ddof=0) fitted on {rows} rows of {}",
                    table.display()
                )?;
                match unlabelled {
                    0 => Ok(()),
                    n => write!(f, ", leaving out {n} rows without a label"),
                }
            }
            Self::StdOne { features } => write!(
                f,
                "scaler      std 1 (--zero-variance-std-one) for {} zero-variance feature(s): {}",
                features.len(),
                features.join(", ")
            ),
            Self::ModelCopied { to } => write!(
                f,
                "model file  copied to {} (a bundle names its model file in its own folder)",
                to.display()
            ),
        }
    }
}

/// Builds the bundle of `request`, checks it with preflight against its own manifest
/// (the checks `gauntlet models check` runs) and writes it atomically, so a bundle
/// that can never be scored is never written. Returns where it was written; `note`
/// hears each inference as it is made.
pub fn write_bundle(
    request: BundleRequest,
    mut note: impl FnMut(BundleNote),
) -> anyhow::Result<PathBuf> {
    let manifest = read_feature_manifest(&request.manifest)?;
    check_class_labels(&request.classes).map_err(|err| anyhow::anyhow!("--classes: {err}"))?;
    let reference: Option<ReferenceRows> =
        request.reference.as_deref().map(read_json).transpose()?;
    let bytes = std::fs::read(&request.model)
        .with_context(|| format!("cannot read {}", request.model.display()))?;
    let format = match request.format {
        Some(format) => format,
        None => ModelFormat::detect(&request.model, &bytes).with_context(|| {
            format!(
                "cannot tell the format of {}: pass --format onnx|xgboost-json|lightgbm-text",
                request.model.display()
            )
        })?,
    };
    let graph = match format {
        ModelFormat::Onnx => Some(parse_onnx(&bytes).map_err(|err| {
            anyhow::anyhow!(
                "{} is not a valid ONNX model: {err}",
                request.model.display()
            )
        })?),
        ModelFormat::XgboostJson | ModelFormat::LightgbmText => None,
    };
    let input_name = match (&request.input_name, &graph) {
        (Some(name), _) => name.clone(),
        (None, Some(info)) => info
            .inputs
            .first()
            .map(|input| input.name.clone())
            .context("the ONNX graph has no inputs")?,
        (None, None) => "input".to_string(),
    };
    let (output_name, kind) = output(
        &request,
        &bytes,
        graph.as_ref(),
        reference.as_ref(),
        &mut note,
    )?;
    let scaler = scaler(&request.scaler, &manifest.names(), &mut note)?;
    let name = request.name.clone().unwrap_or_else(|| {
        request
            .model
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let out = request
        .out
        .clone()
        .unwrap_or_else(|| request.model.with_file_name(format!("{name}.bundle.json")));
    if !out.to_string_lossy().ends_with(".bundle.json") {
        bail!(
            "--out {}: a bundle's file name ends in .bundle.json (e.g. {name}.bundle.json), \
             which is how configs and `models check NAME` find it",
            out.display()
        );
    }
    let expected = ExpectedFeatures::from(&manifest);
    let spec = BundleSpec {
        name,
        model_path: request.model,
        model_format: format,
        manifest,
        input: InputSpec {
            name: input_name,
            layout: request.layout,
            window: request.window,
        },
        scaler,
        output: OutputSpec {
            name: output_name,
            kind,
            class_labels: request.classes,
            temperature: request.temperature,
        },
        labels: request.labels,
        training_window: request.training_window,
        reference,
    };
    let bundle = spec.build_at(out.clone())?;
    let json = bundle.bundle.to_json();
    let (model_path, model_bytes, model_sha256) = (
        bundle.model_path.clone(),
        bundle.model_bytes.clone(),
        bundle.bundle.model_sha256.clone(),
    );
    match preflight(bundle, &expected, &PreflightOptions::default()) {
        Ok(_) => {}
        Err(PreflightError::Failed(report)) => bail!(
            "refusing to write {}: the bundle fails the checks `gauntlet models check` runs \
             ({} problem{}):{}",
            out.display(),
            report.failures.len(),
            if report.failures.len() == 1 { "" } else { "s" },
            report
                .failures
                .iter()
                .map(|failure| format!("\n  - {failure}"))
                .collect::<String>()
        ),
        Err(err @ PreflightError::Runtime(_)) => {
            return Err(err)
                .with_context(|| format!("cannot check {} before writing it", out.display()))
        }
    }
    let dir = out.parent().unwrap_or(Path::new(""));
    if let Some(copied) = place_model_file(&model_path, &model_bytes, &model_sha256, dir)? {
        note(BundleNote::ModelCopied { to: copied });
    }
    write_atomically(&out, json.as_bytes())?;
    Ok(out)
}

/// Makes `dir` hold the model file a bundle there names (`model`'s file name, content
/// `bytes` with SHA-256 `sha256`): nothing when `model` is already there, a copy
/// (written atomically; whole or not at all) when absent, an identical file reused, and
/// an error when another file of that name is there. Returns the copy's path.
pub(crate) fn place_model_file(
    model: &Path,
    bytes: &[u8],
    sha256: &str,
    dir: &Path,
) -> anyhow::Result<Option<PathBuf>> {
    let target = dir.join(
        model
            .file_name()
            .context("the model path has no file name")?,
    );
    let same_file = match (target.canonicalize(), model.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_file {
        return Ok(None);
    }
    match std::fs::read(&target) {
        Ok(existing) if sha256_hex(&existing) == sha256 => Ok(None),
        Ok(_) => bail!(
            "{} exists and is a different model; choose another output folder",
            target.display()
        ),
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("reading {}", target.display()))
        }
        Err(_) => {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            write_atomically(&target, bytes)?;
            Ok(Some(target))
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// The scaler: read from a file, fitted on the training table over `names`, or none.
fn scaler(
    source: &ScalerSource,
    names: &[&str],
    note: &mut impl FnMut(BundleNote),
) -> anyhow::Result<Option<Scaler>> {
    let (path, zero_variance) = match source {
        ScalerSource::File(path) => return read_json(path).map(Some),
        ScalerSource::None => return Ok(None),
        ScalerSource::FitOn {
            table,
            zero_variance,
        } => (table, *zero_variance),
    };
    let table = Table::read_parquet(path)?;
    let fitted = Scaler::fit(&table, names, zero_variance).map_err(|err| {
        let hint = match err {
            ScalerFitError::ZeroVariance(_) => {
                "; drop them from the feature set, or pass --zero-variance-std-one to scale \
                 them by 1"
            }
            _ => "",
        };
        anyhow::anyhow!("--fit-scaler-from {}: {err}{hint}", path.display())
    })?;
    note(BundleNote::ScalerFitted {
        table: path.clone(),
        rows: fitted.rows,
        unlabelled: fitted.unlabelled,
    });
    if !fitted.std_one.is_empty() {
        note(BundleNote::StdOne {
            features: fitted.std_one.clone(),
        });
    }
    Ok(Some(fitted.scaler))
}

/// The output name and kind: as given, else told from the graph (ONNX) or the reference
/// outputs. `graph`: the ONNX file's graph (`None` for XGBoost / LightGBM files).
fn output(
    request: &BundleRequest,
    bytes: &[u8],
    graph: Option<&OnnxFileInfo>,
    reference: Option<&ReferenceRows>,
    note: &mut impl FnMut(BundleNote),
) -> anyhow::Result<(String, OutputKind)> {
    let name = match (&request.output, graph) {
        (Some(name), _) => name.clone(),
        (None, Some(info)) => {
            let (name, why) = onnx_scores_output(info)
                .map_err(|err| anyhow::anyhow!("{}: {err}", request.model.display()))?;
            note(BundleNote::Output {
                name: name.clone(),
                why: why.to_string(),
            });
            name
        }
        (None, _) => "output".to_string(),
    };
    if let Some(kind) = request.kind {
        return Ok((name, kind));
    }
    let evidence = reference
        .and_then(reference_output_kind)
        .or_else(|| match graph {
            Some(_) => onnx_output_kind(bytes, &name),
            None => Some(OutputEvidence {
                kind: OutputKind::Probabilities,
                reason: "the library's predict_proba (--kind logits for its raw margins)".into(),
            }),
        });
    let Some(evidence) = evidence else {
        let has_output = graph.is_some_and(|info| info.outputs.iter().any(|o| o.name == name));
        if !has_output {
            // Preflight refuses the bundle, naming the graph's outputs; the kind is moot.
            return Ok((name, OutputKind::Probabilities));
        }
        bail!(
            "{}: cannot tell whether output {name:?} holds probabilities or logits (the graph \
             does not say and there are no --reference rows); pass --kind probabilities or \
             --kind logits",
            request.model.display()
        );
    };
    note(BundleNote::Kind {
        kind: evidence.kind,
        reason: evidence.reason.clone(),
    });
    Ok((name, evidence.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/models");

    fn request(model: &Path, out: &Path) -> BundleRequest {
        BundleRequest {
            model: model.to_path_buf(),
            format: None,
            manifest: Path::new(FIXTURES).join("core31.manifest.json"),
            scaler: ScalerSource::None,
            reference: None,
            name: None,
            input_name: None,
            layout: InputLayout::Rows,
            window: None,
            output: None,
            kind: None,
            classes: vec!["down".into(), "flat".into(), "up".into()],
            temperature: 1.0,
            labels: LabelSpec {
                horizon_bars: 6,
                flat_threshold: 0.001,
            },
            training_window: TrainingWindow {
                from: "2024-01-01T00:00:00Z".into(),
                to: "2024-01-04T23:55:00Z".into(),
            },
            out: Some(out.to_path_buf()),
        }
    }

    #[test]
    fn an_xgboost_file_is_bundled_as_probabilities_saying_why() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.bundle.json");
        let mut notes = Vec::new();
        let model = Path::new(FIXTURES).join("xgb3.json");
        let written = write_bundle(request(&model, &out), |n| notes.push(n)).unwrap();
        assert_eq!(written, out);
        assert!(out.is_file());
        // The bundle is in another folder than the model: the model file is copied
        // beside it, so the bundle loads as written.
        let copy = dir.path().join("xgb3.json");
        assert!(matches!(
            notes.as_slice(),
            [BundleNote::Kind {
                kind: OutputKind::Probabilities,
                ..
            }, BundleNote::ModelCopied { to }] if *to == copy
        ));
        assert!(notes[0]
            .to_string()
            .starts_with("kind        probabilities (inferred: "));
        assert_eq!(
            std::fs::read(&copy).unwrap(),
            std::fs::read(&model).unwrap()
        );
        gauntlet_strategies::models::ModelBundle::load(&out).unwrap();
        // Written again: the identical copy is reused.
        std::fs::remove_file(&out).unwrap();
        let mut again = Vec::new();
        write_bundle(request(&model, &out), |n| again.push(n)).unwrap();
        assert_eq!(again.len(), 1, "{again:?}");
    }

    #[test]
    fn a_bundle_path_must_end_in_bundle_json() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("my_model");
        let model = Path::new(FIXTURES).join("xgb3.json");
        let err = write_bundle(request(&model, &out), |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("ends in .bundle.json (e.g. "), "{err}");
        assert!(!out.exists());
    }

    #[test]
    fn a_bundle_that_fails_preflight_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.bundle.json");
        let model = Path::new(FIXTURES).join("xgb3.json");
        let mut wrong_width = request(&model, &out);
        wrong_width.classes = vec!["down".into(), "up".into()];
        let err = write_bundle(wrong_width, |_| {}).unwrap_err();
        assert!(err.to_string().contains("refusing to write"), "{err:#}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
