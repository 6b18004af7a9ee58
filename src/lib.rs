//! kiln: a SQL-first warehouse transformation tool that runs dbt projects.
//!
//! The pipeline, one module per stage: [`project`] loads the files, [`jinja`] renders them
//! (parse phase, then compile phase), [`sql`] reads compiled SQL as a tree, [`graph`] builds
//! the DAG and selects nodes, [`adapter`] holds what differs per warehouse, [`materialize`] says
//! what SQL each node runs, [`runner`] executes the DAG, [`artifacts`] writes dbt-compatible
//! JSON, and [`commands`] strings the stages together for each subcommand. [`schemas`] holds
//! dbt's resource dictionaries (the JSON of each node, source, exposure and macro) that the
//! manifest, Jinja's `model` and `graph` and `state:` comparison all show, and reads the
//! artifacts of earlier runs.

// Output goes through `events` (or an explicit `writeln!` whose error is ignored): `print!`
// and `eprint!` panic when stdout or stderr is closed or full.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod adapter;
pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod deps;
pub mod docs;
pub mod erase;
pub mod error;
pub mod events;
pub mod graph;
pub mod invocation;
pub mod jinja;
pub mod materialize;
pub mod notices;
pub mod project;
pub mod runner;
pub mod schemas;
pub mod session;
pub mod sql;
pub mod text;
pub mod timing;

pub use error::{Error, Outcome};

/// The dbt version kiln's behaviour and artifacts follow (`dbt_version` in Jinja, in artifacts'
/// metadata and in the `MainReportVersion` log event).
pub const DBT_COMPAT_VERSION: &str = "1.11.0";

/// Runs one command line.
pub fn run(cli: cli::Cli) -> Result<Outcome, Error> {
    commands::run(cli)
}

/// Runs one command line to its exit code: a failure is reported on the console and in the log
/// file, and the log file is flushed.
pub fn run_to_exit_code(cli: cli::Cli) -> u8 {
    let started = std::time::Instant::now();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let (code, success) = match run(cli) {
        Ok(outcome) => {
            let code = outcome.exit_code();
            (code, code == 0)
        }
        Err(e) => {
            for event in error::diagnostic_events(&e.diagnostics()) {
                event.emit();
            }
            (e.exit_code(), false)
        }
    };
    events::Event::new(
        events::kinds::COMMAND_COMPLETED,
        format!(
            "Command `{command}` {} after {:.2} seconds",
            if success { "succeeded" } else { "failed" },
            started.elapsed().as_secs_f64()
        ),
    )
    .with("command", command)
    .with("success", success)
    .with("elapsed", started.elapsed().as_secs_f64())
    .with(
        "completed_at",
        chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
    )
    .emit();
    events::flush();
    code
}
