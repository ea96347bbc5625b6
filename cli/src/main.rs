//! The `mockdet` binary: parse arguments, call the library, exit.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod error;
mod fleet_cmd;
mod limits;
mod logging;
mod orchestrator_cmd;

fn main() -> ExitCode {
    cli::run(cli::Cli::parse())
}
