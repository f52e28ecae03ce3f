//! The `gauntlet` command line: thin commands over the library crates.

use clap::Parser;

mod cli;
mod commands;
mod config;
mod grid;
mod pipeline;

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
