//! Output sets: the files one command writes into one directory — a run's reports, a
//! sweep, a regression diff, a candle universe — appear complete or not at all.
//!
//! The set is written into a hidden sibling directory (`.NAME.staging-PID-N`) and swapped
//! in with one `rename` (`RENAME_EXCHANGE` on Linux), so the directory holds the previous
//! complete set until the new one is complete, and a run killed or out of disk space
//! leaves it as it was. Entries of the directory that are not part of the set (say, a
//! sweep's folder inside a run's report folder, or 1m candles beside the 5m ones
//! `data resample` writes) are kept: they move into the new directory after the swap.
//! A staging directory left by a killed run is cleared by the next run on the same
//! directory (after moving back any such entries it holds).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context};
use gauntlet_datasets::Interval;
use gauntlet_reports::regress::{
    JSON_FILE as REGRESSION_JSON, MARKDOWN_FILE as REGRESSION_MARKDOWN,
};
use gauntlet_reports::render::ReportFormat;

use crate::backtest::INVOCATION_FILE;

/// Which files make up a set: the names its command writes into the directory.
#[derive(Debug, Clone, Copy)]
pub enum OutputSet {
    /// `report.*`, `trades.csv`, `risk_events.csv`, `invocation.json`.
    Report,
    /// `sweep.*` and the best config's reports in `best/`.
    Sweep,
    /// The regression diff's Markdown and JSON.
    Regression,
    /// The candle files of one interval: `<SYMBOL>_<interval>.parquet` / `.csv`.
    Universe(Interval),
}

impl OutputSet {
    /// Whether an entry named `name` belongs to this kind of set (and is replaced by the
    /// new set) rather than being the user's (and kept).
    fn holds(self, name: &str) -> bool {
        // Temporary files of an interrupted single-file write (`.NAME.partial`).
        if name.starts_with('.') && name.ends_with(".partial") {
            return true;
        }
        match self {
            Self::Report => {
                name == INVOCATION_FILE || ReportFormat::ALL.iter().any(|f| f.file_name() == name)
            }
            Self::Sweep => {
                name == "best"
                    || ["csv", "md", "html", "json"]
                        .iter()
                        .any(|ext| name == format!("sweep.{ext}"))
            }
            Self::Regression => name == REGRESSION_MARKDOWN || name == REGRESSION_JSON,
            Self::Universe(interval) => [".parquet", ".csv"].iter().any(|ext| {
                name.strip_suffix(ext)
                    .and_then(|stem| stem.rsplit_once('_'))
                    .is_some_and(|(symbol, tail)| !symbol.is_empty() && tail == interval.as_str())
            }),
        }
    }
}

/// A set being written: write into [`StagedDir::path`], then [`StagedDir::commit`].
/// Dropped without a commit (an error, a panic), it removes what it wrote.
#[derive(Debug)]
pub struct StagedDir {
    target: PathBuf,
    staging: PathBuf,
    set: OutputSet,
    committed: bool,
}

/// Staging directories of this process get distinct names.
static STAGED: AtomicU64 = AtomicU64::new(0);

impl StagedDir {
    /// Starts a set for the directory `target`: clears what killed runs left beside it
    /// and creates an empty staging directory.
    pub fn begin(target: &Path, set: OutputSet) -> anyhow::Result<Self> {
        // A link to a directory: the set replaces the linked directory, the link stays.
        let resolved;
        let target = match target.symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => {
                resolved = fs::canonicalize(target).with_context(|| {
                    format!("{} is a link that leads nowhere", target.display())
                })?;
                resolved.as_path()
            }
            _ => target,
        };
        if target.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
            bail!(
                "{} exists and is not a directory: choose another output directory",
                target.display()
            );
        }
        let (parent, name) = split(target)?;
        fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create the directory {}", parent.display()))?;
        clear_abandoned(&parent, &name, target, set)?;
        let staging = parent.join(format!(
            "{}{}-{}",
            staging_prefix(&name),
            std::process::id(),
            STAGED.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&staging).with_context(|| {
            format!(
                "cannot create the staging directory {} beside {}",
                staging.display(),
                target.display()
            )
        })?;
        Ok(Self {
            target: target.to_path_buf(),
            staging,
            set,
            committed: false,
        })
    }

    /// Where to write the set's files.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Swaps the complete set in for the directory's previous one, keeps the entries that
    /// are not part of the set, and removes the previous set.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let previous = if self.target.symlink_metadata().is_ok() {
            swap(&self.staging, &self.target)?;
            // The staging directory now holds the previous set.
            carry_over(&self.staging, &self.target, self.set)?;
            Some(self.staging.clone())
        } else {
            fs::rename(&self.staging, &self.target).with_context(|| {
                format!(
                    "cannot move {} into place as {}",
                    self.staging.display(),
                    self.target.display()
                )
            })?;
            None
        };
        self.committed = true;
        if let Some(previous) = previous {
            fs::remove_dir_all(&previous).with_context(|| {
                format!(
                    "the new set is in {}, but the previous one could not be removed from {}",
                    self.target.display(),
                    previous.display()
                )
            })?;
        }
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the error that stopped the run is the one to report.
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// The parent directory (`.` for a bare name) and the file name of `target`.
fn split(target: &Path) -> anyhow::Result<(PathBuf, String)> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| {
            format!(
                "{} does not end in a directory name: give the output directory a name",
                target.display()
            )
        })?
        .to_string();
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

fn staging_prefix(name: &str) -> String {
    format!(".{name}.staging-")
}

/// Exchanges the directories `staging` and `target` in one step where the file system
/// can; elsewhere moves `target` aside and `staging` into its place (a moment without
/// `target`, never a mix of two sets).
fn swap(staging: &Path, target: &Path) -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if renameat_with(CWD, staging, CWD, target, RenameFlags::EXCHANGE).is_ok() {
            return Ok(());
        }
    }
    let aside = staging.with_extension("previous");
    fs::rename(target, &aside)
        .with_context(|| format!("cannot move the previous {} aside", target.display()))?;
    if let Err(err) = fs::rename(staging, target) {
        let _ = fs::rename(&aside, target);
        return Err(err).with_context(|| {
            format!(
                "cannot move {} into place as {}",
                staging.display(),
                target.display()
            )
        });
    }
    fs::rename(&aside, staging).with_context(|| {
        format!(
            "cannot move the previous set from {} to {}",
            aside.display(),
            staging.display()
        )
    })
}

/// Moves the entries of `from` that are not part of `set` into `to` (unless `to` has one
/// of the same name).
fn carry_over(from: &Path, to: &Path, set: OutputSet) -> anyhow::Result<()> {
    let entries = fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let name = entry.file_name();
        if set.holds(&name.to_string_lossy()) || to.join(&name).symlink_metadata().is_ok() {
            continue;
        }
        fs::rename(entry.path(), to.join(&name)).with_context(|| {
            format!(
                "cannot move {} back into {}",
                entry.path().display(),
                to.display()
            )
        })?;
    }
    Ok(())
}

/// Removes the staging directories of `target` whose process is gone, after moving back
/// into `target` any entry of the user's that a run killed mid-swap left in one.
fn clear_abandoned(parent: &Path, name: &str, target: &Path, set: OutputSet) -> anyhow::Result<()> {
    let prefix = staging_prefix(name);
    let entries =
        fs::read_dir(parent).with_context(|| format!("cannot read {}", parent.display()))?;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|rest| rest.split(['-', '.']).next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if process_alive(pid) {
            continue;
        }
        let path = entry.path();
        // A run killed between moving the previous set aside and moving the new one in
        // (file systems without an exchanging rename): the previous set goes back.
        if file_name.to_string_lossy().ends_with(".previous") && !target.exists() {
            fs::rename(&path, target).with_context(|| {
                format!(
                    "cannot move {} back to {}",
                    path.display(),
                    target.display()
                )
            })?;
            continue;
        }
        if path.is_dir() && target.is_dir() {
            carry_over(&path, target, set)?;
        }
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.with_context(|| {
            format!(
                "cannot remove {}, left by an interrupted run: remove it by hand",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Whether a process with this id runs (Linux: `/proc/PID`; elsewhere assumed, so that
/// nothing another run may still write is removed).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_set_replaces_the_old_one_and_keeps_the_users_entries() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("reports");
        write(&target.join("report.json"), "old");
        write(&target.join("trades.csv"), "old trades");
        write(&target.join(".report.md.partial"), "stray");
        write(&target.join("sweep/sweep.json"), "a sweep");
        write(&target.join("notes.txt"), "mine");

        let staged = StagedDir::begin(&target, OutputSet::Report).unwrap();
        write(&staged.path().join("report.json"), "new");
        // Until the commit the directory holds the old set.
        assert_eq!(read(&target.join("report.json")), "old");
        staged.commit().unwrap();

        assert_eq!(names(&target), ["notes.txt", "report.json", "sweep"]);
        assert_eq!(read(&target.join("report.json")), "new");
        assert_eq!(read(&target.join("sweep/sweep.json")), "a sweep");
        assert_eq!(names(root.path()), ["reports"]);
    }

    #[test]
    fn an_abandoned_set_leaves_the_directory_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        write(&target.join("sweep.json"), "old");
        {
            let staged = StagedDir::begin(&target, OutputSet::Sweep).unwrap();
            write(&staged.path().join("sweep.csv"), "half of a new set");
        }
        assert_eq!(names(&target), ["sweep.json"]);
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn a_first_set_creates_the_directory() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("a/b/universe");
        let staged = StagedDir::begin(&target, OutputSet::Universe(Interval::M5)).unwrap();
        write(&staged.path().join("BTC_5m.parquet"), "bars");
        staged.commit().unwrap();
        assert_eq!(names(&target), ["BTC_5m.parquet"]);
    }

    #[test]
    fn a_universe_replaces_its_interval_only() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("data");
        write(&target.join("OLD_5m.parquet"), "a symbol the new set lacks");
        write(&target.join("BTC_1m.parquet"), "1m bars");
        write(&target.join("README"), "mine");
        let staged = StagedDir::begin(&target, OutputSet::Universe(Interval::M5)).unwrap();
        write(&staged.path().join("BTC_5m.parquet"), "5m bars");
        staged.commit().unwrap();
        assert_eq!(
            names(&target),
            ["BTC_1m.parquet", "BTC_5m.parquet", "README"]
        );
    }

    #[test]
    fn a_killed_runs_staging_directory_is_cleared_and_the_users_entries_come_back() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("reports");
        write(&target.join("report.json"), "new");
        // A run killed between the swap and moving the user's entries back: its staging
        // directory holds the previous set and the user's folder. No process has id
        // u32::MAX.
        let abandoned = root.path().join(format!(".reports.staging-{}-0", u32::MAX));
        write(&abandoned.join("report.json"), "old");
        write(&abandoned.join("sweep/sweep.json"), "a sweep");
        let staged = StagedDir::begin(&target, OutputSet::Report).unwrap();
        assert_eq!(read(&target.join("sweep/sweep.json")), "a sweep");
        assert_eq!(read(&target.join("report.json")), "new");
        drop(staged);
        assert_eq!(names(root.path()), ["reports"]);
    }

    #[test]
    fn a_link_to_a_directory_stays_a_link() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("elsewhere");
        write(&real.join("report.json"), "old");
        let link = root.path().join("reports");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let staged = StagedDir::begin(&link, OutputSet::Report).unwrap();
        write(&staged.path().join("report.json"), "new");
        staged.commit().unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(read(&real.join("report.json")), "new");
    }

    #[test]
    fn a_previous_set_moved_aside_by_a_killed_run_comes_back() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("reports");
        let aside = root
            .path()
            .join(format!(".reports.staging-{}-0.previous", u32::MAX));
        write(&aside.join("report.json"), "old");
        drop(StagedDir::begin(&target, OutputSet::Report).unwrap());
        assert_eq!(read(&target.join("report.json")), "old");
        assert_eq!(names(root.path()), ["reports"]);
    }

    #[test]
    fn a_file_in_the_way_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("reports");
        write(&target, "a file");
        let err = StagedDir::begin(&target, OutputSet::Report).unwrap_err();
        assert!(err.to_string().contains("is not a directory"), "{err}");
    }
}
