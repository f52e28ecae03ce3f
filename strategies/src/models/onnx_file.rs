//! A minimal reader of the top level of an ONNX `ModelProto` (protobuf wire format),
//! so that a file that is not an ONNX model (a pickle, a truncated export, random
//! bytes) is rejected with a clear message before ONNX Runtime sees it, and so that
//! `models inspect` can list the opset imports and the producer.
//!
//! Only the fields gauntlet reports are decoded (field numbers from onnx.proto3):
//! `ir_version` (1), `producer_name` (2), `producer_version` (3), `graph` (7, only its
//! presence and size), `opset_import` (8: `domain` 1, `version` 2). Every other field is
//! skipped after checking that its wire type and length are valid.

/// What the top level of an ONNX file declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxFileInfo {
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    /// `(domain, version)` pairs in file order; the default domain is `""`
    /// (reported as `ai.onnx`).
    pub opsets: Vec<(String, i64)>,
    /// Size in bytes of the serialized graph.
    pub graph_bytes: usize,
}

/// Decodes the top level of an ONNX model; the error explains why the bytes are not one.
pub fn parse_onnx(bytes: &[u8]) -> Result<OnnxFileInfo, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if bytes[0] == 0x80 && bytes.len() > 1 && bytes[1] <= 5 {
        return Err(format!(
            "it looks like a Python pickle (protocol {}), not an ONNX protobuf; export the model to ONNX \
             (skl2onnx / onnxmltools / torch.onnx) and bundle that file",
            bytes[1]
        ));
    }
    let mut info = OnnxFileInfo {
        ir_version: 0,
        producer_name: String::new(),
        producer_version: String::new(),
        opsets: Vec::new(),
        graph_bytes: 0,
    };
    let mut has_graph = false;
    let mut reader = Reader { bytes, pos: 0 };
    while !reader.done() {
        let (field, wire) = reader.key()?;
        match (field, wire) {
            (1, 0) => info.ir_version = reader.varint()? as i64,
            (2, 2) => info.producer_name = reader.string()?,
            (3, 2) => info.producer_version = reader.string()?,
            (7, 2) => {
                info.graph_bytes = reader.bytes()?.len();
                has_graph = true;
            }
            (8, 2) => info.opsets.push(parse_opset(reader.bytes()?)?),
            _ => reader.skip(wire)?,
        }
    }
    if info.ir_version <= 0 {
        return Err("no ir_version field: this is not a serialized ONNX ModelProto".into());
    }
    if !has_graph {
        return Err("no graph in the file: this is not a serialized ONNX ModelProto".into());
    }
    if info.opsets.is_empty() {
        return Err("no opset_import: this is not a complete ONNX model".into());
    }
    Ok(info)
}

fn parse_opset(bytes: &[u8]) -> Result<(String, i64), String> {
    let mut reader = Reader { bytes, pos: 0 };
    let mut domain = String::new();
    let mut version = 0;
    while !reader.done() {
        match reader.key()? {
            (1, 2) => domain = reader.string()?,
            (2, 0) => version = reader.varint()? as i64,
            (_, wire) => reader.skip(wire)?,
        }
    }
    Ok((domain, version))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return Err(format!("truncated varint at byte {}", self.pos));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("varint longer than 10 bytes at byte {}", self.pos))
    }

    fn key(&mut self) -> Result<(u64, u8), String> {
        let at = self.pos;
        let key = self.varint()?;
        let field = key >> 3;
        let wire = (key & 7) as u8;
        if field == 0 || !matches!(wire, 0 | 1 | 2 | 5) {
            return Err(format!(
                "invalid protobuf field key {key:#x} (field {field}, wire type {wire}) at byte {at}"
            ));
        }
        Ok((field, wire))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let at = self.pos;
        let len = self.varint()?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.pos.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "field at byte {at} declares {len} bytes but only {} remain (truncated file?)",
                    self.bytes.len() - self.pos
                )
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn string(&mut self) -> Result<String, String> {
        let at = self.pos;
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("string at byte {at} is not UTF-8"))
    }

    fn skip(&mut self, wire: u8) -> Result<(), String> {
        let width = match wire {
            0 => return self.varint().map(drop),
            2 => return self.bytes().map(drop),
            1 => 8,
            _ => 4,
        };
        if self.pos + width > self.bytes.len() {
            return Err(format!("truncated fixed-width field at byte {}", self.pos));
        }
        self.pos += width;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ir_version 8, producer "p", graph of 2 bytes, opset ("", 15).
    const TINY: &[u8] = &[
        0x08, 0x08, 0x12, 0x01, b'p', 0x3a, 0x02, 0x0a, 0x00, 0x42, 0x02, 0x10, 0x0f,
    ];

    #[test]
    fn decodes_the_fields_it_reports() {
        let info = parse_onnx(TINY).unwrap();
        assert_eq!(info.ir_version, 8);
        assert_eq!(info.producer_name, "p");
        assert_eq!(info.graph_bytes, 2);
        assert_eq!(info.opsets, vec![(String::new(), 15)]);
    }

    #[test]
    fn truncation_is_reported() {
        let err = parse_onnx(&TINY[..6]).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn pickle_is_recognised() {
        let err = parse_onnx(&[0x80, 0x04, 0x95, 0x10]).unwrap_err();
        assert!(err.contains("pickle (protocol 4)"), "{err}");
    }

    #[test]
    fn empty_and_graphless_files_are_rejected() {
        assert!(parse_onnx(&[]).unwrap_err().contains("empty"));
        assert!(parse_onnx(&[0x08, 0x08]).unwrap_err().contains("no graph"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = parse_onnx(&bytes);
        }
    }
}
