//! The `kiln` binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = kiln::cli::Cli::parse();
    let json = cli.global.log_format == kiln::cli::LogFormat::Json;
    let color = !cli.global.no_color
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    match kiln::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            let diags = e.diagnostics();
            let text = if json {
                kiln::error::render_diagnostics_json(&diags)
            } else {
                kiln::error::render_diagnostics(&diags, color)
            };
            eprint!("{}", kiln::jinja::functions::scrub(&text));
            ExitCode::from(e.exit_code())
        }
    }
}
