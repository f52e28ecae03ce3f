//! Bad input, table-driven: one `#[rstest]` case per bad input a user can give, each
//! asserting the exit code (2 for an error, 1 only for a failed check or gate), that the
//! message names the file, row, column, key or feature at fault, and that nothing panics
//! (exit 101) or leaves a mixed output set. One module per input family; the cases are
//! listed in docs/errors.md.

mod common;
#[path = "bad_input/config.rs"]
mod config;
#[path = "bad_input/data.rs"]
mod data;
#[path = "bad_input/models.rs"]
mod models;
#[path = "bad_input/output_sets.rs"]
mod output_sets;
