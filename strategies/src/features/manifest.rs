//! The feature manifest: what a model was trained on, with a content hash.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::FeatureError;
use super::params::ParamValue;
use super::set::FeatureSet;

/// Schema tag of [`FeatureManifest`] JSON; part of the hashed content.
pub const MANIFEST_SCHEMA: &str = "gauntlet.feature_manifest/1";

/// A feature set's identity: written beside every export and recorded by every model.
///
/// `hash` = `"sha256:" + hex(sha256(canonical))`, where `canonical` is the manifest
/// without `hash` as compact JSON with object keys sorted, no whitespace, integers
/// in decimal, floats in Rust's shortest round-trip form (`2.0`, `0.1`, `1e-7`) and
/// strings JSON-escaped — byte for byte what Python's
/// `json.dumps(m, sort_keys=True, separators=(",", ":"))` prints for the same
/// object (names are ASCII by construction). It depends on nothing but the definitions: same set ⇒ same
/// hash on every machine; any change of set name, version, feature name, order,
/// family or parameter ⇒ a different hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureManifest {
    pub schema: String,
    pub set: String,
    pub version: u32,
    pub hash: String,
    /// Largest warm-up of the features on the base series (bars).
    pub warmup_bars: usize,
    /// Largest warm-up per higher timeframe (completed bars of that timeframe).
    pub timeframe_warmup_bars: BTreeMap<String, usize>,
    pub features: Vec<ManifestFeature>,
}

/// One feature in a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFeature {
    pub name: String,
    pub family: String,
    pub params: BTreeMap<String, ParamValue>,
    /// Higher timeframes read (empty: the base series).
    pub timeframes: Vec<String>,
    /// Leading bars without a value, in bars of `timeframes` (base bars if empty).
    pub warmup_bars: usize,
}

impl FeatureManifest {
    pub(crate) fn of(set: &FeatureSet) -> Self {
        let mut warmup_bars = 0;
        let mut timeframe_warmup_bars = BTreeMap::new();
        let features = set
            .features()
            .iter()
            .map(|def| {
                let timeframes = def.kind().timeframes();
                if timeframes.is_empty() {
                    warmup_bars = warmup_bars.max(def.warmup_bars());
                }
                for tf in &timeframes {
                    let w = timeframe_warmup_bars.entry(tf.to_string()).or_insert(0);
                    *w = (*w).max(def.warmup_bars());
                }
                ManifestFeature {
                    name: def.name().to_string(),
                    family: def.family().to_string(),
                    params: def
                        .params()
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                    timeframes: timeframes.iter().map(|t| t.to_string()).collect(),
                    warmup_bars: def.warmup_bars(),
                }
            })
            .collect();
        let mut manifest = Self {
            schema: MANIFEST_SCHEMA.to_string(),
            set: set.name().to_string(),
            version: set.version(),
            hash: String::new(),
            warmup_bars,
            timeframe_warmup_bars,
            features,
        };
        manifest.hash = manifest.content_hash();
        manifest
    }

    /// Feature names in column order.
    pub fn names(&self) -> Vec<&str> {
        self.features.iter().map(|f| f.name.as_str()).collect()
    }

    /// The canonical form the hash is computed over (see the type docs).
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(256 + 128 * self.features.len());
        out.push_str("{\"features\":[");
        for (i, f) in self.features.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"family\":");
            push_str_json(&mut out, &f.family);
            out.push_str(",\"name\":");
            push_str_json(&mut out, &f.name);
            out.push_str(",\"params\":{");
            for (j, (k, v)) in f.params.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                push_str_json(&mut out, k);
                out.push(':');
                match v {
                    ParamValue::Int(v) => {
                        let _ = write!(out, "{v}");
                    }
                    ParamValue::Float(v) => {
                        let _ = write!(out, "{v:?}");
                    }
                    ParamValue::Text(v) => push_str_json(&mut out, v),
                }
            }
            out.push_str("},\"timeframes\":[");
            for (j, tf) in f.timeframes.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                push_str_json(&mut out, tf);
            }
            let _ = write!(out, "],\"warmup_bars\":{}}}", f.warmup_bars);
        }
        out.push_str("],\"schema\":");
        push_str_json(&mut out, &self.schema);
        out.push_str(",\"set\":");
        push_str_json(&mut out, &self.set);
        out.push_str(",\"timeframe_warmup_bars\":{");
        for (j, (tf, w)) in self.timeframe_warmup_bars.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_str_json(&mut out, tf);
            let _ = write!(out, ":{w}");
        }
        let _ = write!(
            out,
            "}},\"version\":{},\"warmup_bars\":{}}}",
            self.version, self.warmup_bars
        );
        out
    }

    /// `"sha256:" + hex(sha256(canonical()))`.
    pub fn content_hash(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        let mut hex = String::with_capacity(7 + 64);
        hex.push_str("sha256:");
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }

    /// Pretty JSON (what `features.manifest.json` contains).
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain structs, BTreeMaps and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses manifest JSON and checks schema and hash.
    pub fn from_json(text: &str) -> Result<Self, FeatureError> {
        let manifest: Self =
            serde_json::from_str(text).map_err(|e| FeatureError::ManifestFormat(e.to_string()))?;
        if manifest.schema != MANIFEST_SCHEMA {
            return Err(FeatureError::ManifestFormat(format!(
                "schema {:?}, expected {MANIFEST_SCHEMA:?}",
                manifest.schema
            )));
        }
        manifest.verify()?;
        Ok(manifest)
    }

    /// Checks that `hash` matches the content.
    pub fn verify(&self) -> Result<(), FeatureError> {
        let computed = self.content_hash();
        if computed == self.hash {
            Ok(())
        } else {
            Err(FeatureError::ManifestHash {
                recorded: self.hash.clone(),
                computed,
            })
        }
    }
}

fn push_str_json(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
