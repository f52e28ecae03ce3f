//! The ONNX file format: the project's official protobuf schema
//! (`strategies/proto/onnx-ml.proto`, compiled by `build.rs` with prost), and what
//! gauntlet reads from a model before ONNX Runtime or the native evaluator sees it —
//! the top level `models inspect` prints ([`OnnxFileInfo`]), and a clear refusal of
//! files that are not ONNX models ([`OnnxError`]).

use prost::Message;

/// The prost types generated from `onnx-ml.proto` (package `onnx`).
#[allow(clippy::all, clippy::pedantic, dead_code)]
pub(crate) mod onnx {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub(crate) use onnx::ModelProto;

/// What the top level of an ONNX file declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxFileInfo {
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    /// `(domain, version)` pairs in file order; the default domain is `""`
    /// (reported as `ai.onnx`).
    pub opsets: Vec<(String, i64)>,
    /// Operators of the graph's nodes in order, `domain:op` outside the default domain.
    pub operators: Vec<String>,
    /// The graph's inputs (initializers excluded) and outputs.
    pub inputs: Vec<TensorDecl>,
    pub outputs: Vec<TensorDecl>,
}

/// Why bytes are not a usable ONNX model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnnxError {
    #[error("the file is empty")]
    Empty,
    #[error(
        "it looks like a Python pickle (protocol {0}), not an ONNX protobuf; export the model to ONNX \
         (skl2onnx / onnxmltools / torch.onnx) and bundle that file"
    )]
    Pickle(u8),
    #[error("it is not a serialized ONNX ModelProto (truncated or not protobuf: {0})")]
    Decode(String),
    #[error("no ir_version field: this is not a serialized ONNX ModelProto")]
    NoIrVersion,
    #[error("no graph in the file: this is not a serialized ONNX ModelProto")]
    NoGraph,
    #[error("no opset_import: this is not a complete ONNX model")]
    NoOpset,
}

/// One input or output of a graph as the file declares it (shown as
/// `name: ELEMENT [d0, d1]`, `?` for a symbolic dimension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorDecl {
    pub name: String,
    /// The element type's ONNX name (`FLOAT`, `DOUBLE`…), or the kind of a non-tensor
    /// value (`sequence`, `map`…).
    pub element: String,
    /// Dimensions, −1 where symbolic or unknown; `None` when no shape is declared.
    pub dims: Option<Vec<i64>>,
}

impl std::fmt::Display for TensorDecl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.element)?;
        if let Some(dims) = &self.dims {
            let dims: Vec<String> = dims
                .iter()
                .map(|&d| {
                    if d < 0 {
                        "?".to_string()
                    } else {
                        d.to_string()
                    }
                })
                .collect();
            write!(f, " [{}]", dims.join(", "))?;
        }
        Ok(())
    }
}

impl TensorDecl {
    pub(crate) fn is_float_tensor(&self) -> bool {
        self.element == "FLOAT"
    }
}

/// The graph's inputs (initializers excluded) and outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphSignature {
    pub inputs: Vec<TensorDecl>,
    pub outputs: Vec<TensorDecl>,
}

impl GraphSignature {
    pub(crate) fn of(model: &ModelProto) -> Self {
        use onnx::{tensor_shape_proto::dimension::Value, type_proto, ValueInfoProto};
        let declare = |value: &ValueInfoProto| {
            let (element, dims) = match value.r#type.as_ref().and_then(|t| t.value.as_ref()) {
                Some(type_proto::Value::TensorType(tensor)) => (
                    onnx::tensor_proto::DataType::try_from(tensor.elem_type())
                        .map_or("UNDEFINED", |t| t.as_str_name())
                        .to_string(),
                    tensor.shape.as_ref().map(|shape| {
                        shape
                            .dim
                            .iter()
                            .map(|dim| match dim.value {
                                Some(Value::DimValue(v)) if v >= 0 => v,
                                _ => -1,
                            })
                            .collect()
                    }),
                ),
                Some(type_proto::Value::SequenceType(_)) => ("sequence".into(), None),
                Some(type_proto::Value::MapType(_)) => ("map".into(), None),
                Some(_) => ("non-tensor".into(), None),
                None => ("undeclared".into(), None),
            };
            TensorDecl {
                name: value.name().to_string(),
                element,
                dims,
            }
        };
        let Some(graph) = model.graph.as_ref() else {
            return Self {
                inputs: Vec::new(),
                outputs: Vec::new(),
            };
        };
        let initializers: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|t| t.name()).collect();
        Self {
            inputs: graph
                .input
                .iter()
                .filter(|value| !initializers.contains(value.name()))
                .map(declare)
                .collect(),
            outputs: graph.output.iter().map(declare).collect(),
        }
    }
}

/// Decodes an ONNX model; the error explains why the bytes are not one.
pub(crate) fn decode_model(bytes: &[u8]) -> Result<ModelProto, OnnxError> {
    if bytes.is_empty() {
        return Err(OnnxError::Empty);
    }
    if bytes[0] == 0x80 && bytes.len() > 1 && bytes[1] <= 5 {
        return Err(OnnxError::Pickle(bytes[1]));
    }
    let model = ModelProto::decode(bytes).map_err(|err| OnnxError::Decode(err.to_string()))?;
    if model.ir_version.unwrap_or(0) <= 0 {
        return Err(OnnxError::NoIrVersion);
    }
    if model.graph.is_none() {
        return Err(OnnxError::NoGraph);
    }
    if model.opset_import.is_empty() {
        return Err(OnnxError::NoOpset);
    }
    Ok(model)
}

/// The top level of an ONNX model (see [`OnnxFileInfo`]).
pub fn parse_onnx(bytes: &[u8]) -> Result<OnnxFileInfo, OnnxError> {
    decode_model(bytes).map(|model| OnnxFileInfo::of(&model))
}

impl OnnxFileInfo {
    pub(crate) fn of(model: &ModelProto) -> Self {
        let operators = model
            .graph
            .iter()
            .flat_map(|graph| &graph.node)
            .map(|node| match node.domain() {
                "" | "ai.onnx" => node.op_type().to_string(),
                domain => format!("{domain}:{}", node.op_type()),
            })
            .collect();
        let signature = GraphSignature::of(model);
        Self {
            inputs: signature.inputs,
            outputs: signature.outputs,
            ir_version: model.ir_version(),
            producer_name: model.producer_name().to_string(),
            producer_version: model.producer_version().to_string(),
            opsets: model
                .opset_import
                .iter()
                .map(|opset| (opset.domain().to_string(), opset.version()))
                .collect(),
            operators,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::onnx::{GraphProto, OperatorSetIdProto};
    use super::*;

    fn tiny() -> Vec<u8> {
        ModelProto {
            ir_version: Some(8),
            producer_name: Some("p".into()),
            graph: Some(GraphProto::default()),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(15),
            }],
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn decodes_the_fields_it_reports() {
        let info = parse_onnx(&tiny()).unwrap();
        assert_eq!(info.ir_version, 8);
        assert_eq!(info.producer_name, "p");
        assert_eq!(info.opsets, vec![(String::new(), 15)]);
    }

    #[test]
    fn truncation_is_reported() {
        let bytes = tiny();
        let err = parse_onnx(&bytes[..bytes.len() - 3])
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn pickle_is_recognised() {
        let err = parse_onnx(&[0x80, 0x04, 0x95, 0x10])
            .unwrap_err()
            .to_string();
        assert!(err.contains("pickle (protocol 4)"), "{err}");
    }

    #[test]
    fn empty_and_graphless_files_are_rejected() {
        assert_eq!(parse_onnx(&[]), Err(OnnxError::Empty));
        assert_eq!(parse_onnx(&[0x08, 0x08]), Err(OnnxError::NoGraph));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = parse_onnx(&bytes);
        }
    }
}
