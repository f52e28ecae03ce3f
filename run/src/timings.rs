//! Wall-clock time of each stage of a run (printed by the command line, never written
//! into a compared report), and a spinner on stderr while a stage runs.

use std::time::{Duration, Instant};

/// The stages a run went through, in order, each with its total time.
#[derive(Debug, Default, Clone)]
pub struct StageTimings {
    pub stages: Vec<(&'static str, Duration)>,
    /// Whether a spinner shows the running stage (indicatif hides it when stderr is not
    /// a terminal).
    pub progress: bool,
}

impl StageTimings {
    /// Timings with a spinner when `progress`.
    pub fn new(progress: bool) -> Self {
        Self {
            stages: Vec::new(),
            progress,
        }
    }

    /// Runs `work` as (part of) `stage`: a stage timed several times shows its total.
    pub fn time<T>(&mut self, stage: &'static str, work: impl FnOnce() -> T) -> T {
        let spinner = self.progress.then(|| {
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
