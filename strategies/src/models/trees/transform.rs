//! From a forest's raw scores to the model's output row, in the arithmetic of the
//! library that defines the model (f32 for ONNX Runtime and XGBoost, f64 for LightGBM),
//! then the element-wise ONNX nodes an exporter put after the tree ensemble.

/// ONNX `post_transform` of TreeEnsembleClassifier / TreeEnsembleRegressor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PostTransform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
    Probit,
}

/// How ONNX Runtime widens the score `s` of a two-class classifier whose leaves only
/// weight class 0 to two scores: `[σ(−s), σ(s)]` with LOGISTIC, else as below (measured
/// on ONNX Runtime 1.31, see `onnx_semantics.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryScores {
    /// Every class weight ≥ 0: `[1 − s, s]`.
    Complement,
    /// Mixed signs: `[−s, s]`.
    Mirrored,
}

/// Turns raw scores into one output row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Transform {
    /// The raw scores (margins, logits).
    Identity,
    /// ONNX Runtime's TreeEnsemble post transform over all scores (f32).
    Onnx(PostTransform),
    /// ONNX Runtime's two-class case with one weighted class (see [`BinaryScores`]).
    OnnxBinary(BinaryScores, PostTransform),
    /// XGBoost `multi:softprob`: f32 exponentials summed in f64.
    XgboostSoftmax,
    /// XGBoost `binary:logistic` → `[1 − p, p]` (f32).
    XgboostLogistic,
    /// LightGBM `multiclass`: f64 softmax.
    LightgbmSoftmax,
    /// LightGBM `binary`: `p = 1 / (1 + exp(−σ·s))` → `[1 − p, p]` (f64).
    LightgbmSigmoid { sigmoid: f64 },
    /// One margin `s` as two logits `[0, scale·s]`: their softmax is `[1 − p, p]` with
    /// `p = σ(scale·s)`.
    BinaryLogits { scale: f64 },
}

impl Transform {
    /// Output width for `n_scores` raw scores.
    pub(crate) fn width(&self, n_scores: usize) -> usize {
        match self {
            Self::OnnxBinary(..)
            | Self::XgboostLogistic
            | Self::LightgbmSigmoid { .. }
            | Self::BinaryLogits { .. } => 2,
            _ => n_scores,
        }
    }

    /// Writes the output row for `scores` into `out` (`self.width(scores.len())` values).
    pub(crate) fn apply(&self, scores: &[f64], out: &mut [f64]) {
        match self {
            Self::Identity => out.copy_from_slice(scores),
            Self::Onnx(post) => {
                for (slot, &score) in out.iter_mut().zip(scores) {
                    *slot = f64::from(score as f32);
                }
                onnx_post(*post, out);
            }
            Self::OnnxBinary(kind, post) => {
                let s = scores[0] as f32;
                let pair = match (kind, post) {
                    (_, PostTransform::Logistic) => [ort_logistic(-s), ort_logistic(s)],
                    (BinaryScores::Complement, _) => [1.0 - s, s],
                    (BinaryScores::Mirrored, _) => [-s, s],
                };
                out[0] = f64::from(pair[0]);
                out[1] = f64::from(pair[1]);
            }
            Self::XgboostSoftmax => {
                let max = scores
                    .iter()
                    .map(|&s| s as f32)
                    .fold(scores[0] as f32, f32::max);
                let mut sum = 0f64;
                for (slot, &score) in out.iter_mut().zip(scores) {
                    let e = (score as f32 - max).exp();
                    sum += f64::from(e);
                    *slot = f64::from(e);
                }
                let sum = sum as f32;
                for slot in out.iter_mut() {
                    *slot = f64::from(*slot as f32 / sum);
                }
            }
            Self::XgboostLogistic => {
                let p = xgboost_sigmoid(scores[0] as f32);
                out[0] = f64::from(1.0 - p);
                out[1] = f64::from(p);
            }
            Self::LightgbmSoftmax => {
                let max = scores.iter().copied().fold(scores[0], f64::max);
                let mut sum = 0.0;
                for (slot, &score) in out.iter_mut().zip(scores) {
                    *slot = (score - max).exp();
                    sum += *slot;
                }
                out.iter_mut().for_each(|slot| *slot /= sum);
            }
            Self::LightgbmSigmoid { sigmoid } => {
                let p = 1.0 / (1.0 + (-sigmoid * scores[0]).exp());
                out[0] = 1.0 - p;
                out[1] = p;
            }
            Self::BinaryLogits { scale } => {
                out[0] = 0.0;
                out[1] = scale * scores[0];
            }
        }
    }
}

/// ONNX Runtime's `ComputeLogistic`: `1 / (1 + exp(−|x|))`, mirrored for x < 0 (f32).
pub(crate) fn ort_logistic(x: f32) -> f32 {
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 {
        1.0 - v
    } else {
        v
    }
}

/// ONNX Runtime's `ErfInv` approximation and `ComputeProbit` (`√2 · erfinv(2x − 1)`).
fn ort_probit(x: f32) -> f32 {
    let value = 2.0 * x - 1.0;
    let sign = if value < 0.0 { -1.0f32 } else { 1.0 };
    let squared = (1.0 - value) * (1.0 + value);
    let log = squared.ln();
    let v = 2.0 / (std::f32::consts::PI * 0.147) + 0.5 * log;
    let v2 = 1.0 / 0.147 * log;
    let v3 = -v + (v * v - v2).sqrt();
    std::f32::consts::SQRT_2 * (sign * v3.sqrt())
}

/// XGBoost's `Sigmoid(float)`: `1 / (exp(min(−x, 88.7)) + 1 + 1e-16)` in f32.
fn xgboost_sigmoid(x: f32) -> f32 {
    let denominator = (-x).min(88.7).exp() + 1.0 + 1e-16;
    1.0 / denominator
}

/// ONNX Runtime's `write_scores` transforms for two or more scores, in f32 (`values`
/// hold f32 values widened to f64).
fn onnx_post(post: PostTransform, values: &mut [f64]) {
    let as_f32 = |v: f64| v as f32;
    match post {
        PostTransform::None => {}
        PostTransform::Logistic => values
            .iter_mut()
            .for_each(|v| *v = f64::from(ort_logistic(as_f32(*v)))),
        PostTransform::Probit => values
            .iter_mut()
            .for_each(|v| *v = f64::from(ort_probit(as_f32(*v)))),
        PostTransform::Softmax => {
            let max = values
                .iter()
                .map(|&v| as_f32(v))
                .fold(-f32::MAX, |m, v| if v > m { v } else { m });
            let mut sum = 0f32;
            for v in values.iter_mut() {
                let e = (as_f32(*v) - max).exp();
                sum += e;
                *v = f64::from(e);
            }
            values
                .iter_mut()
                .for_each(|v| *v = f64::from(as_f32(*v) / sum));
        }
        PostTransform::SoftmaxZero => {
            let max = values
                .iter()
                .map(|&v| as_f32(v))
                .fold(-f32::MAX, |m, v| if v > m { v } else { m });
            let exp_neg_max = (-max).exp();
            let mut sum = 0f32;
            for v in values.iter_mut() {
                let x = as_f32(*v);
                // ONNX Runtime skips scores within ±1e-7 of zero.
                let e = if !(-0.000_000_1..=0.000_000_1).contains(&x) {
                    let e = (x - max).exp();
                    sum += e;
                    e
                } else {
                    x * exp_neg_max
                };
                *v = f64::from(e);
            }
            values
                .iter_mut()
                .for_each(|v| *v = f64::from(as_f32(*v) / sum));
        }
    }
}

/// An element-wise ONNX node after the tree ensemble, on f32 values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Elementwise {
    /// `Mul` by a constant broadcast over the row (one value, or one per column).
    Mul(Vec<f32>),
    /// `Add` of a constant broadcast over the row.
    Add(Vec<f32>),
    /// `Softmax` over the row.
    Softmax,
    /// `Sigmoid`: `1 / (1 + exp(−x))`.
    Sigmoid,
}

impl Elementwise {
    pub(crate) fn apply(&self, row: &mut [f64]) {
        let constant = |values: &[f32], column: usize| {
            if values.len() == 1 {
                values[0]
            } else {
                values[column]
            }
        };
        match self {
            Self::Mul(values) => row.iter_mut().enumerate().for_each(|(column, v)| {
                *v = f64::from(*v as f32 * constant(values, column));
            }),
            Self::Add(values) => row.iter_mut().enumerate().for_each(|(column, v)| {
                *v = f64::from(*v as f32 + constant(values, column));
            }),
            Self::Softmax => {
                let max = row
                    .iter()
                    .map(|&v| v as f32)
                    .fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0f32;
                for v in row.iter_mut() {
                    let e = (*v as f32 - max).exp();
                    sum += e;
                    *v = f64::from(e);
                }
                row.iter_mut().for_each(|v| *v = f64::from(*v as f32 / sum));
            }
            Self::Sigmoid => row
                .iter_mut()
                .for_each(|v| *v = f64::from(1.0 / (1.0 + (-(*v as f32)).exp()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(transform: Transform, scores: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; transform.width(scores.len())];
        transform.apply(scores, &mut out);
        out
    }

    #[test]
    fn softmaxes_sum_to_one_and_keep_the_order() {
        for transform in [
            Transform::Onnx(PostTransform::Softmax),
            Transform::XgboostSoftmax,
            Transform::LightgbmSoftmax,
        ] {
            let out = apply(transform.clone(), &[0.5, -1.0, 2.0]);
            assert!(
                (out.iter().sum::<f64>() - 1.0).abs() < 1e-6,
                "{transform:?}"
            );
            assert!(out[2] > out[0] && out[0] > out[1], "{transform:?}");
        }
    }

    #[test]
    fn binary_outputs_are_complementary_pairs() {
        for transform in [
            Transform::XgboostLogistic,
            Transform::LightgbmSigmoid { sigmoid: 1.0 },
            Transform::OnnxBinary(BinaryScores::Mirrored, PostTransform::Logistic),
        ] {
            let out = apply(transform.clone(), &[0.75]);
            assert!((out[0] + out[1] - 1.0).abs() < 1e-6, "{transform:?}");
            let logistic = 1.0 / (1.0 + (-0.75f64).exp());
            assert!((out[1] - logistic).abs() < 1e-6, "{transform:?}");
        }
        assert_eq!(
            apply(
                Transform::OnnxBinary(BinaryScores::Complement, PostTransform::None),
                &[0.25]
            ),
            [0.75, 0.25]
        );
        assert_eq!(
            apply(
                Transform::OnnxBinary(BinaryScores::Mirrored, PostTransform::None),
                &[0.25]
            ),
            [-0.25, 0.25]
        );
    }

    #[test]
    fn binary_logits_softmax_to_the_sigmoid() {
        let out = apply(Transform::BinaryLogits { scale: 2.0 }, &[0.5]);
        let p = out[1].exp() / (out[0].exp() + out[1].exp());
        assert!((p - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn probit_inverts_the_normal_cdf_approximately() {
        // Φ⁻¹(0.975) ≈ 1.95996; ONNX Runtime's approximation is good to ~1e-3.
        let mut values = [0.975, 0.5];
        onnx_post(PostTransform::Probit, &mut values);
        assert!((values[0] - 1.959_96).abs() < 5e-3, "{values:?}");
        assert!(values[1].abs() < 1e-6);
    }

    #[test]
    fn softmax_zero_leaves_zero_scores_near_zero() {
        let mut values = [0.0, 1.0, 2.0];
        onnx_post(PostTransform::SoftmaxZero, &mut values);
        assert_eq!(values[0], 0.0);
        assert!((values[1] + values[2] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn elementwise_nodes_broadcast_constants() {
        let mut row = [1.0, 2.0];
        Elementwise::Mul(vec![3.0]).apply(&mut row);
        Elementwise::Add(vec![1.0, -1.0]).apply(&mut row);
        assert_eq!(row, [4.0, 5.0]);
        Elementwise::Sigmoid.apply(&mut row);
        assert!(row.iter().all(|v| (0.0..1.0).contains(v)));
    }
}
