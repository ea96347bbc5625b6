//! The `mockdet` binary: parse arguments, call the library, exit.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mockdet::cli::run(mockdet::cli::Cli::parse())
}
