//! The `gauntlet` command line: thin commands over the library crates.

#![forbid(unsafe_code)]

use clap::Parser;

mod cli;
mod commands;

/// Freed memory is kept for the next allocation instead of going back to the kernel
/// and being faulted in and zeroed again: a sweep allocates the same large result
/// columns for every configuration (docs/perf-notes.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            std::process::ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, skipping a cause whose text the message
/// already contains (library errors often print their source themselves).
fn describe(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}
