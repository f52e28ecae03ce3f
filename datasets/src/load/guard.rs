//! A panic inside polars while one file is read becomes an error naming that file
//! (exit code 2) instead of a crash (exit code 101): bad input never panics.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use super::LoadError;

thread_local! {
    /// Set while this thread reads a file under [`guarded`]: its panic message is not
    /// printed, because the returned error replaces it.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read`, which reads `file`; a panic inside it becomes [`LoadError::Panicked`].
/// Panics on other threads (polars' own workers) are still printed by the previous hook,
/// and are still turned into the error when they reach this thread.
pub(crate) fn guarded<T>(
    file: &Path,
    read: impl FnOnce() -> Result<T, LoadError>,
) -> Result<T, LoadError> {
    install_quiet_hook();
    let was_quiet = QUIET.replace(true);
    let result = panic::catch_unwind(AssertUnwindSafe(read));
    QUIET.set(was_quiet);
    result.unwrap_or_else(|payload| {
        Err(LoadError::Panicked {
            file: file.to_path_buf(),
            message: panic_message(payload.as_ref()),
        })
    })
}

/// Wraps the current panic hook once so that it stays silent on a [`QUIET`] thread.
fn install_quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.get() {
                previous(info);
            }
        }));
    });
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "no message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_file() {
        let err = guarded::<()>(Path::new("BTC_1m.parquet"), || panic!("boom {}", 1)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("BTC_1m.parquet"), "{text}");
        assert!(text.contains("boom 1"), "{text}");
        assert!(!QUIET.get(), "the thread is loud again afterwards");
    }

    #[test]
    fn results_pass_through() {
        assert_eq!(guarded(Path::new("f"), || Ok(3)).unwrap(), 3);
    }
}
