//! The per-bar view of model predictions a strategy sees, and the columnar
//! per-symbol predictions it is cut from.

/// One bar's ensemble output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelView<'a> {
    /// Class probabilities in the bundle's label order (sum ≈ 1).
    pub probabilities: &'a [f32],
    /// Index into `probabilities` of the "up" class.
    pub up_class: usize,
    /// Index into `probabilities` of the "down" class.
    pub down_class: usize,
    /// Share of ensemble members that agree with the ensemble's class, in `[0, 1]`.
    pub consensus: f32,
}

impl ModelView<'_> {
    /// `P(up) = probabilities[up_class]`.
    #[inline]
    pub fn p_up(&self) -> f32 {
        self.probabilities[self.up_class]
    }

    /// `P(down) = probabilities[down_class]`.
    #[inline]
    pub fn p_down(&self) -> f32 {
        self.probabilities[self.down_class]
    }
}

/// One symbol's predictions for every bar, row-major: row `i` (bar `i` of the
/// symbol's series) is `probabilities[i * n_classes .. (i + 1) * n_classes]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelOutputs<'a> {
    probabilities: &'a [f32],
    n_classes: usize,
    consensus: &'a [f32],
    up_class: usize,
    down_class: usize,
}

/// Predictions whose shapes do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelOutputsError {
    #[error("model outputs need at least 2 classes, got {0}")]
    TooFewClasses(usize),
    #[error("class index {index} ({role}) is out of range for {n_classes} classes")]
    ClassOutOfRange {
        role: &'static str,
        index: usize,
        n_classes: usize,
    },
    #[error("up_class and down_class are both {0}; they must differ")]
    SameClass(usize),
    #[error("probabilities hold {len} values, not a multiple of {n_classes} classes")]
    RaggedProbabilities { len: usize, n_classes: usize },
    #[error("{rows} probability rows but {consensus} consensus values; expected one per bar")]
    ConsensusLength { rows: usize, consensus: usize },
}

impl<'a> ModelOutputs<'a> {
    /// Checks the shapes: `probabilities.len() == consensus.len() * n_classes`,
    /// class indices in range and distinct.
    pub fn new(
        probabilities: &'a [f32],
        n_classes: usize,
        consensus: &'a [f32],
        up_class: usize,
        down_class: usize,
    ) -> Result<Self, ModelOutputsError> {
        if n_classes < 2 {
            return Err(ModelOutputsError::TooFewClasses(n_classes));
        }
        for (role, index) in [("up_class", up_class), ("down_class", down_class)] {
            if index >= n_classes {
                return Err(ModelOutputsError::ClassOutOfRange {
                    role,
                    index,
                    n_classes,
                });
            }
        }
        if up_class == down_class {
            return Err(ModelOutputsError::SameClass(up_class));
        }
        if probabilities.len() % n_classes != 0 {
            return Err(ModelOutputsError::RaggedProbabilities {
                len: probabilities.len(),
                n_classes,
            });
        }
        let rows = probabilities.len() / n_classes;
        if rows != consensus.len() {
            return Err(ModelOutputsError::ConsensusLength {
                rows,
                consensus: consensus.len(),
            });
        }
        Ok(Self {
            probabilities,
            n_classes,
            consensus,
            up_class,
            down_class,
        })
    }

    /// The row-major probabilities (`n_classes` per bar) and the consensus per bar.
    pub fn columns(&self) -> (&'a [f32], &'a [f32]) {
        (self.probabilities, self.consensus)
    }

    /// Number of bars covered.
    pub fn len(&self) -> usize {
        self.consensus.len()
    }

    pub fn is_empty(&self) -> bool {
        self.consensus.is_empty()
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Every bar's view, in bar order.
    pub fn rows(&self) -> impl Iterator<Item = ModelView<'a>> + 'a {
        let (up_class, down_class) = (self.up_class, self.down_class);
        let rows = self.probabilities.chunks_exact(self.n_classes);
        rows.zip(self.consensus)
            .map(move |(probabilities, &consensus)| ModelView {
                probabilities,
                up_class,
                down_class,
                consensus,
            })
    }

    /// Bar `i`'s view, `None` past the end.
    #[inline]
    pub fn row(&self, i: usize) -> Option<ModelView<'a>> {
        let start = i.checked_mul(self.n_classes)?;
        Some(ModelView {
            probabilities: self.probabilities.get(start..start + self.n_classes)?,
            up_class: self.up_class,
            down_class: self.down_class,
            consensus: *self.consensus.get(i)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_slice_the_matrix() {
        let p = [0.2, 0.8, 0.6, 0.4];
        let c = [1.0, 0.5];
        let m = ModelOutputs::new(&p, 2, &c, 1, 0).unwrap();
        let r = m.row(1).unwrap();
        assert_eq!((r.p_up(), r.p_down(), r.consensus), (0.4, 0.6, 0.5));
        assert!(m.row(2).is_none());
    }

    #[test]
    fn rejects_bad_shapes() {
        let p = [0.2, 0.8, 0.6];
        assert_eq!(
            ModelOutputs::new(&p, 2, &[1.0], 1, 0),
            Err(ModelOutputsError::RaggedProbabilities {
                len: 3,
                n_classes: 2
            })
        );
        assert_eq!(
            ModelOutputs::new(&p[..2], 2, &[1.0, 1.0], 1, 0),
            Err(ModelOutputsError::ConsensusLength {
                rows: 1,
                consensus: 2
            })
        );
        assert_eq!(
            ModelOutputs::new(&p[..2], 2, &[1.0], 2, 0),
            Err(ModelOutputsError::ClassOutOfRange {
                role: "up_class",
                index: 2,
                n_classes: 2
            })
        );
        assert_eq!(
            ModelOutputs::new(&p[..2], 2, &[1.0], 1, 1),
            Err(ModelOutputsError::SameClass(1))
        );
    }
}
