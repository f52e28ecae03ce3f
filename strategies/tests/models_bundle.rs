//! `BundleSpec::build` (what `gauntlet models bundle` runs) reproduces the bundle the
//! fixture script wrote, so the Rust and Python writers agree on the schema.

mod models_support;

use gauntlet_strategies::features::FeatureSet;
use gauntlet_strategies::models::{
    read_feature_manifest, Bundle, BundleSpec, InputLayout, InputSpec, ModelBundle, ModelFormat,
};
use models_support::fixtures;

#[test]
fn bundle_spec_rebuilds_the_committed_bundle() {
    for name in ["mlp3", "lstm3", "xgb2", "xgb2_native", "lgbm3_native"] {
        let committed: Bundle = ModelBundle::load(&fixtures().join(name)).unwrap().bundle;
        let spec = BundleSpec {
            name: committed.name.clone(),
            model_path: fixtures().join(&committed.model_file),
            model_format: committed.model_format,
            manifest: read_feature_manifest(&fixtures().join("core31.manifest.json")).unwrap(),
            input: InputSpec {
                name: "input".into(),
                layout: committed.input.layout,
                window: (committed.input.layout == InputLayout::Sequence).then_some(32),
            },
            scaler: committed.scaler.clone(),
            output: committed.output.clone(),
            labels: committed.labels.clone(),
            training_window: committed.training_window.clone(),
            reference: committed.reference.clone(),
        };
        assert_eq!(spec.build().unwrap(), committed, "{name}");
    }
    let native = ModelBundle::load(&fixtures().join("lgbm3_native")).unwrap();
    assert_eq!(native.bundle.model_format, ModelFormat::LightgbmText);
    assert!(native.onnx_info.is_none());
}

#[test]
fn committed_manifest_is_the_pipelines_core31_manifest() {
    let committed = read_feature_manifest(&fixtures().join("core31.manifest.json")).unwrap();
    assert_eq!(committed, FeatureSet::core31().manifest());
}

#[test]
fn bundle_json_round_trips_and_rejects_unknown_keys() {
    let committed = ModelBundle::load(&fixtures().join("mlp3")).unwrap().bundle;
    let text = committed.to_json();
    let back: Bundle = serde_json::from_str(&text).unwrap();
    assert_eq!(back, committed);
    let typo = text.replacen("\"scaling\"", "\"scalling\"", 1);
    let err = serde_json::from_str::<Bundle>(&typo)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `scalling`"), "{err}");
}
