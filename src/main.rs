//! The `kiln` binary: answer a shell's completion request, or parse the command line, run it, and
//! map the outcome to an exit code.

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    clap_complete::CompleteEnv::with_factory(kiln::commands::completions::command).complete();
    let cli = kiln::cli::Cli::parse();
    ExitCode::from(kiln::run_to_exit_code(cli))
}
