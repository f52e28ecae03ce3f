//! The calibration section of a report: reliability, ECE, Brier, … of the ensemble and
//! of each member over the window's scored rows whose realized class is known. It does
//! not depend on fills, risk or strategy, so a sweep computes it once.
//!
//! The realized class of a row comes from the member's label definition (horizon and
//! flat band, `gauntlet_strategies::features::forward_return_labels`), mapped onto the
//! ensemble's class labels by name (case-insensitive).

use std::collections::BTreeMap;

use gauntlet_datasets::CandleSeries;
use gauntlet_reports::calibration::{calibration_report, CalibrationReport, ReportRow, ReportRows};
use gauntlet_reports::render::CalibrationSection;
use gauntlet_strategies::ensemble::EnsembleScores;
use gauntlet_strategies::features::{forward_return_labels, Label};
use gauntlet_strategies::models::MemberScores;
use rayon::prelude::*;

use super::predict::{MemberPredictions, Predictions};

/// Realized class of each row of `series` from the label horizon and flat band, as an
/// index into `class_labels`; rows whose realized label is not a class (e.g. `flat` for
/// a down/up model) or is unknown (the last `horizon` rows) are `None`.
fn realized_classes(
    series: &CandleSeries,
    horizon: usize,
    flat_threshold: f64,
    class_labels: &[String],
) -> anyhow::Result<Vec<Option<usize>>> {
    let labels = forward_return_labels(series.close(), horizon, flat_threshold)?;
    let index: BTreeMap<Label, Option<usize>> = [Label::Down, Label::Flat, Label::Up]
        .into_iter()
        .map(|l| {
            (
                l,
                class_labels
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(l.as_str())),
            )
        })
        .collect();
    Ok(labels
        .into_iter()
        .map(|l| l.and_then(|l| index[&l]))
        .collect())
}

/// Calibration of the ensemble and of each member over the window's scored, labelled
/// rows. The ensemble is judged against the first member's label definition. Each
/// report reads the predictions where they are ([`ReportRows`]); the realized classes
/// are computed once per label definition.
pub(super) fn calibration_section(
    predictions: &Predictions,
    series: &[CandleSeries],
    window: &[(usize, usize)],
    pool: &rayon::ThreadPool,
) -> anyhow::Result<CalibrationSection> {
    let n_classes = predictions.class_labels.len();
    // The realized classes of each label definition, once (members usually share one);
    // `definition_of[m]` indexes member m's in `labelled`.
    let mut labelled: Vec<((usize, u64), WindowClasses)> = Vec::new();
    let mut definition_of = Vec::with_capacity(predictions.members.len());
    for member in &predictions.members {
        let definition = (member.label_horizon, member.flat_threshold.to_bits());
        let index = match labelled.iter().position(|(d, _)| *d == definition) {
            Some(index) => index,
            None => {
                let classes = pool.install(|| {
                    WindowClasses::collect(
                        predictions,
                        series,
                        window,
                        member.label_horizon,
                        member.flat_threshold,
                    )
                })?;
                labelled.push((definition, classes));
                labelled.len() - 1
            }
        };
        definition_of.push(index);
    }
    type MemberReport = anyhow::Result<Option<(String, CalibrationReport)>>;
    let member_report = |(member, &definition): (&MemberPredictions, &usize)| -> MemberReport {
        let rows = ScoredRows {
            classes: &labelled[definition].1,
            n_classes,
            probabilities: &member.scores,
            logits: member.logits.as_deref(),
            consensus: None,
        };
        let report = rows.report()?;
        Ok(report.map(|r| (member.name.clone(), r)))
    };
    let ensemble_report = || -> anyhow::Result<Option<CalibrationReport>> {
        let ensemble = &predictions.ensemble;
        ScoredRows {
            classes: &labelled[definition_of[0]].1,
            n_classes,
            probabilities: ensemble,
            logits: None,
            consensus: Some(ensemble),
        }
        .report()
    };
    // The reports are independent: build them in parallel.
    let (members, ensemble) = pool.install(|| {
        rayon::join(
            || {
                predictions
                    .members
                    .par_iter()
                    .zip(&definition_of)
                    .map(member_report)
                    .collect::<anyhow::Result<Vec<_>>>()
            },
            ensemble_report,
        )
    });
    Ok(CalibrationSection {
        ensemble: ensemble?,
        members: members?.into_iter().flatten().collect(),
        class_labels: predictions.class_labels.clone(),
    })
}

/// Marks a window row without a realized class in [`WindowClasses`].
const NO_CLASS: u8 = u8::MAX;

/// The realized class of every window row for one label definition: per symbol, the
/// window's first row and one class index per window row ([`NO_CLASS`] when none).
struct WindowClasses(Vec<(usize, Vec<u8>)>);

impl WindowClasses {
    fn collect(
        predictions: &Predictions,
        series: &[CandleSeries],
        window: &[(usize, usize)],
        horizon: usize,
        flat_threshold: f64,
    ) -> anyhow::Result<Self> {
        let per_symbol = series
            .par_iter()
            .zip(window)
            .map(|(candles, &(start, end))| {
                let realized =
                    realized_classes(candles, horizon, flat_threshold, &predictions.class_labels)?;
                let classes = realized[start..end]
                    .iter()
                    .map(|class| class.and_then(|c| u8::try_from(c).ok()).unwrap_or(NO_CLASS))
                    .collect();
                Ok((start, classes))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self(per_symbol))
    }
}

/// Scored rows of one symbol: `probabilities` (row-major f32, `n_classes` per row) and
/// which rows were scored; the ensemble's add its consensus.
trait ScoredSymbol: Sync {
    fn probabilities(&self) -> &[f32];
    fn scored(&self, row: usize) -> bool;
    fn consensus(&self, _row: usize) -> Option<f64> {
        None
    }
}

impl ScoredSymbol for MemberScores {
    fn probabilities(&self) -> &[f32] {
        &self.probabilities
    }
    fn scored(&self, row: usize) -> bool {
        self.scored[row]
    }
}

impl ScoredSymbol for EnsembleScores {
    fn probabilities(&self) -> &[f32] {
        &self.probabilities
    }
    fn scored(&self, row: usize) -> bool {
        self.scored[row]
    }
    fn consensus(&self, row: usize) -> Option<f64> {
        Some(f64::from(self.consensus[row]))
    }
}

/// The window rows that have a realized class and were scored, read in place: symbol
/// by symbol, row by row, the f32 probabilities widened to f64 and rescaled to sum to 1
/// (f32 rows summed in f64 are 1 only within f32 rounding; the calibration checks judge
/// the model, not the cast).
struct ScoredRows<'a, S> {
    classes: &'a WindowClasses,
    n_classes: usize,
    probabilities: &'a [S],
    logits: Option<&'a [MemberScores]>,
    consensus: Option<&'a [S]>,
}

impl<S: ScoredSymbol> ScoredRows<'_, S> {
    /// The report of these rows; `None` when there are none.
    fn report(&self) -> anyhow::Result<Option<CalibrationReport>> {
        let report = calibration_report(self)?;
        Ok((report.rows > 0).then_some(report))
    }
}

impl<S: ScoredSymbol> ReportRows for ScoredRows<'_, S> {
    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn len(&self) -> usize {
        self.classes
            .0
            .iter()
            .zip(self.probabilities)
            .map(|((start, classes), scores)| {
                classes
                    .iter()
                    .enumerate()
                    .filter(|&(offset, &class)| class != NO_CLASS && scores.scored(start + offset))
                    .count()
            })
            .sum()
    }

    fn visit<F: FnMut(ReportRow<'_>)>(&self, mut visit: F) {
        let k = self.n_classes;
        let mut probabilities = vec![0f64; k];
        let mut logits = vec![0f64; k];
        for (symbol, (start, classes)) in self.classes.0.iter().enumerate() {
            let scores = &self.probabilities[symbol];
            for (offset, &class) in classes.iter().enumerate() {
                let row = start + offset;
                if class == NO_CLASS || !scores.scored(row) {
                    continue;
                }
                let raw = &scores.probabilities()[row * k..(row + 1) * k];
                for (p, &value) in probabilities.iter_mut().zip(raw) {
                    *p = f64::from(value);
                }
                let sum: f64 = probabilities.iter().sum();
                if sum > 0.0 {
                    probabilities.iter_mut().for_each(|p| *p /= sum);
                }
                let logits = self.logits.map(|all| {
                    let raw = all[symbol].row(row);
                    for (z, &value) in logits.iter_mut().zip(raw) {
                        *z = f64::from(value);
                    }
                    logits.as_slice()
                });
                visit(ReportRow {
                    probabilities: &probabilities,
                    label: usize::from(class),
                    logits,
                    consensus: self
                        .consensus
                        .and_then(|consensus| consensus[symbol].consensus(row)),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use gauntlet_datasets::Interval;
    use gauntlet_strategies::models::InputDistribution;

    use super::*;

    fn series(close: &[f64]) -> CandleSeries {
        let n = close.len();
        let ts = (0..n as i64).map(|i| i * 60_000).collect();
        let c = close.to_vec();
        CandleSeries::new(
            "SYM",
            Interval::M1,
            ts,
            c.clone(),
            c.clone(),
            c.clone(),
            c,
            vec![1.0; n],
        )
        .unwrap()
    }

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn realized_classes_map_labels_onto_the_class_names_ignoring_case() {
        // Returns over one bar: +2%, −2%, 0, unknown (the last bar).
        let candles = series(&[100.0, 102.0, 99.96, 99.96]);
        let three = realized_classes(&candles, 1, 0.01, &labels(&["DOWN", "flat", "Up"])).unwrap();
        assert_eq!(three, [Some(2), Some(0), Some(1), None]);
        // A down/up model has no class for a flat bar.
        let two = realized_classes(&candles, 1, 0.01, &labels(&["down", "up"])).unwrap();
        assert_eq!(two, [Some(1), Some(0), None, None]);
    }

    #[test]
    fn scored_rows_skip_rows_without_a_class_or_a_score_and_sum_to_one() {
        // One symbol, window rows 1..5 of 5: classes of rows 1, 2, 3, 4.
        let classes = WindowClasses(vec![(1, vec![0, NO_CLASS, 1, 1])]);
        let scores = MemberScores {
            n_classes: 2,
            probabilities: vec![
                0.9,
                0.1, // row 0: before the window
                0.25,
                0.25, // row 1: rescaled to 0.5, 0.5
                0.3,
                0.7, // row 2: no realized class
                0.25,
                0.75, // row 3
                f32::NAN,
                f32::NAN, // row 4: not scored
            ],
            scored: vec![true, true, true, true, false],
            input_distribution: InputDistribution::default(),
        };
        let rows = ScoredRows {
            classes: &classes,
            n_classes: 2,
            probabilities: std::slice::from_ref(&scores),
            logits: None,
            consensus: None,
        };
        assert_eq!(rows.len(), 2);
        let mut seen = Vec::new();
        rows.visit(|row| {
            assert_eq!(row.consensus, None);
            seen.push((row.probabilities.to_vec(), row.label));
        });
        assert_eq!(seen, [(vec![0.5, 0.5], 0), (vec![0.25, 0.75], 1),]);
    }
}
