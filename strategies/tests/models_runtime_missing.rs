//! Without ONNX Runtime, scoring fails with a message telling exactly how to fix it
//! (never a silent skip, never a panic). Its own test binary: the runtime is
//! process-global.

mod models_support;

use gauntlet_strategies::models::{check_bundle, runtime, PreflightError, PreflightOptions};
use models_support::{expected, fixtures};

#[test]
fn missing_library_error_says_how_to_fix_it() {
    std::env::set_var("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1");
    let message = runtime().unwrap_err().to_string();
    assert_eq!(
        message,
        "ORT_DYLIB_PATH is set to /nonexistent/libonnxruntime.so.1.31.1 but that file does not exist; \
         point it at libonnxruntime.so.1.31.1 (e.g. .venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1) \
         or unset it and run `make venv`"
    );
    let err = check_bundle(
        &fixtures().join("mlp3"),
        &expected(),
        &PreflightOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, PreflightError::Runtime(_)));
    assert_eq!(err.to_string(), message);
}
