//! The `mockdet` binary: parse arguments, call the library, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    mockdet::cli::run(mockdet::cli::Cli::parse())
}
