//! Training labels for export: the direction of the price `horizon` bars ahead.

use super::error::FeatureError;

/// Class of a forward return; the numeric codes are the class indices models use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Label {
    Down = 0,
    Flat = 1,
    Up = 2,
}

impl Label {
    /// Class names in class-index order.
    pub const NAMES: [&'static str; 3] = ["down", "flat", "up"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Labels `r_t = close[t + horizon] / close[t] − 1` (in rows, so a gap in the data is
/// not skipped over): `Up` if `r_t > flat_threshold`, `Down` if `r_t < −flat_threshold`,
/// else `Flat`. The last `horizon` rows — and rows where either close is not a finite
/// positive number — are `None` (unlabelled, never filled).
///
/// Errors: `horizon == 0`, or `flat_threshold` negative or not finite.
pub fn forward_return_labels(
    close: &[f64],
    horizon: usize,
    flat_threshold: f64,
) -> Result<Vec<Option<Label>>, FeatureError> {
    if horizon == 0 {
        return Err(FeatureError::InvalidLabels(
            "label horizon must be ≥ 1 bar".to_string(),
        ));
    }
    if !(flat_threshold.is_finite() && flat_threshold >= 0.0) {
        return Err(FeatureError::InvalidLabels(format!(
            "flat threshold {flat_threshold} must be a finite number ≥ 0"
        )));
    }
    let usable = |p: f64| p.is_finite() && p > 0.0;
    Ok((0..close.len())
        .map(|t| {
            let later = *close.get(t + horizon)?;
            let now = close[t];
            if !(usable(now) && usable(later)) {
                return None;
            }
            let r = later / now - 1.0;
            Some(if r > flat_threshold {
                Label::Up
            } else if r < -flat_threshold {
                Label::Down
            } else {
                Label::Flat
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_compare_the_forward_return_with_the_threshold() {
        let close = [100.0, 101.0, 100.0, 100.05, 99.0, 99.0];
        let labels = forward_return_labels(&close, 1, 0.001).unwrap();
        assert_eq!(
            labels,
            vec![
                Some(Label::Up),   // +1%
                Some(Label::Down), // −0.99%
                Some(Label::Flat), // +0.05% ≤ 0.1%
                Some(Label::Down),
                Some(Label::Flat), // 0
                None,              // last horizon rows unlabelled
            ]
        );
        let labels = forward_return_labels(&close, 2, 0.0).unwrap();
        assert_eq!(labels[4..], [None, None]);
        assert_eq!(labels[0], Some(Label::Flat)); // exactly 0 is flat
    }

    #[test]
    fn bad_closes_are_unlabelled_and_bad_parameters_are_errors() {
        let labels = forward_return_labels(&[1.0, f64::NAN, 1.0, 2.0], 1, 0.0).unwrap();
        assert_eq!(labels, vec![None, None, Some(Label::Up), None]);
        assert!(forward_return_labels(&[1.0], 0, 0.0).is_err());
        assert!(forward_return_labels(&[1.0], 1, -0.1).is_err());
        assert!(forward_return_labels(&[1.0], 1, f64::NAN).is_err());
        assert_eq!(forward_return_labels(&[], 3, 0.0).unwrap(), vec![]);
        assert_eq!(Label::Up as u8, 2);
        assert_eq!(Label::Down.as_str(), "down");
    }
}
