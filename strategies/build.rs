//! Generates the ONNX protobuf types from the vendored official schema
//! (`proto/onnx-ml.proto`) with a pure-Rust protobuf compiler, so building needs no
//! `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/onnx-ml.proto");
    let descriptors = protox::compile(["onnx-ml.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
