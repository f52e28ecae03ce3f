//! Damaged bundles never panic: a bundle.json whose values are replaced by values of
//! the wrong size, sign or type is refused by loading or preflight with an error, or
//! passes — for the native tree members (no ONNX Runtime involved) and the XGBoost /
//! LightGBM file bundles.

mod models_support;

use gauntlet_strategies::models::{preflight, ModelBundle, PreflightOptions};
use models_support::{expected, fixtures};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Paths (object keys and array indices) of every leaf of `value`.
fn leaves(value: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(json!(key));
                leaves(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push(json!(index));
                leaves(child, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at<'a>(value: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(value, |v, step| match step {
        Value::String(key) => &mut v[key.as_str()],
        step => &mut v[step.as_u64().unwrap() as usize],
    })
}

/// Values a damaged or hand-edited bundle holds where it should not.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1e308)),
        Just(json!(u64::MAX)),
        Just(json!(0.5)),
        Just(json!("")),
        Just(json!("down")),
        Just(json!([])),
        Just(json!({})),
        Just(Value::Null),
        Just(json!(true)),
    ]
}

fn damaged_bundle_never_panics(name: &str, edits: &[(prop::sample::Index, Value)]) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.bundle.json"))).unwrap();
    let mut bundle: Value = serde_json::from_str(&text).unwrap();
    let model = bundle["model_file"].as_str().unwrap().to_string();
    std::fs::copy(fixtures().join(&model), dir.path().join(&model)).unwrap();
    let mut paths = Vec::new();
    leaves(&bundle, &mut Vec::new(), &mut paths);
    for (index, value) in edits {
        let path = &paths[index.index(paths.len())];
        *at(&mut bundle, path) = value.clone();
    }
    let path = dir.path().join(format!("{name}.bundle.json"));
    std::fs::write(&path, serde_json::to_string(&bundle).unwrap()).unwrap();
    if let Ok(bundle) = ModelBundle::load(&path) {
        let _ = preflight(bundle, &expected(), &PreflightOptions::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn damaged_bundles_never_panic(
        name in prop_oneof![Just("xgb3"), Just("lgbm3"), Just("xgb3_native"), Just("lgbm3_native")],
        edits in prop::collection::vec((any::<prop::sample::Index>(), odd_value()), 1..4),
    ) {
        damaged_bundle_never_panics(name, &edits);
    }
}
