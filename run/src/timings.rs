//! Wall-clock time of each stage of a run (printed by the command line, never written
//! into a compared report), and on stderr while it runs: a spinner with the stage's name,
//! or, for work counted in units (symbols, configs), a bar with the count, the rate and
//! the time left.

use std::time::{Duration, Instant};

/// The stages a run went through, in order, each with its total time.
#[derive(Debug, Default, Clone)]
pub struct StageTimings {
    pub stages: Vec<(&'static str, Duration)>,
    /// Whether a spinner shows the running stage (indicatif hides it when stderr is not
    /// a terminal).
    pub progress: bool,
    /// The bar of the counted work under way ([`StageTimings::count`]): the stages timed
    /// meanwhile name themselves on it instead of starting a spinner.
    counted: Option<indicatif::ProgressBar>,
}

impl Drop for StageTimings {
    /// Clears a bar left by work that ended in an error, before the error is printed.
    fn drop(&mut self) {
        self.end_count();
    }
}

/// Advances the bar of counted work ([`StageTimings::count`]); shared by the workers.
#[derive(Debug, Clone, Default)]
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// `n` more units done.
    pub fn advance(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }
}

impl StageTimings {
    /// Timings with a spinner when `progress`.
    pub fn new(progress: bool) -> Self {
        Self {
            stages: Vec::new(),
            progress,
            counted: None,
        }
    }

    /// Starts counted work of `total` `unit`s (e.g. "symbols", "configs"): a bar with the
    /// count, rate and time left until [`StageTimings::end_count`]; nothing without
    /// progress.
    pub fn count(&mut self, unit: &'static str, total: usize) -> Progress {
        self.end_count();
        if !self.progress {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{msg:>12}} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{rate}}, {{eta}} left)"
            ))
            .expect("a valid progress template")
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let _ = write!(out, "{:.1}/s", state.per_sec());
                },
            )
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        self.counted = Some(bar.clone());
        Progress(Some(bar))
    }

    /// Ends the counted work (its bar is cleared).
    pub fn end_count(&mut self) {
        if let Some(bar) = self.counted.take() {
            bar.finish_and_clear();
        }
    }

    /// [`StageTimings::time`] of `work` counted in `total` `unit`s.
    pub fn time_counted<T>(
        &mut self,
        stage: &'static str,
        unit: &'static str,
        total: usize,
        work: impl FnOnce(&Progress) -> T,
    ) -> T {
        let progress = self.count(unit, total);
        let out = self.time(stage, || work(&progress));
        self.end_count();
        out
    }

    /// Runs `work` as (part of) `stage`: a stage timed several times shows its total.
    pub fn time<T>(&mut self, stage: &'static str, work: impl FnOnce() -> T) -> T {
        if let Some(bar) = &self.counted {
            bar.set_message(stage);
        }
        let spinner = (self.progress && self.counted.is_none()).then(|| {
            let spinner = indicatif::ProgressBar::new_spinner();
            spinner.set_message(format!("{stage}…"));
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        });
        let start = Instant::now();
        let out = work();
        if let Some(spinner) = spinner {
            spinner.finish_and_clear();
        }
        let elapsed = start.elapsed();
        match self.stages.iter_mut().find(|(name, _)| *name == stage) {
            Some((_, total)) => *total += elapsed,
            None => self.stages.push((stage, elapsed)),
        }
        out
    }

    /// `load 0.12s, features 0.40s, …`
    pub fn describe(&self) -> String {
        self.stages
            .iter()
            .map(|(stage, d)| format!("{stage} {:.2}s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_work_is_timed_as_its_stage() {
        let mut timings = StageTimings::new(false);
        let sum = timings.time_counted("simulation", "configs", 3, |progress| {
            (1..=3).inspect(|_| progress.advance(1)).sum::<u64>()
        });
        assert_eq!(sum, 6);
        assert_eq!(timings.stages[0].0, "simulation");
        assert!(timings.counted.is_none());
    }

    #[test]
    fn a_stage_timed_twice_shows_once_in_first_order() {
        let mut timings = StageTimings::new(false);
        assert_eq!(timings.time("load", || 1), 1);
        timings.time("features", || ());
        timings.time("load", || ());
        let names: Vec<&str> = timings.stages.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["load", "features"]);
        let described = timings.describe();
        assert!(described.starts_with("load ") && described.contains("s, features "));
    }
}
