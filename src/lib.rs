//! kiln: a SQL-first warehouse transformation tool that runs dbt projects.
//!
//! The pipeline, one module per stage: [`project`] loads the files, [`jinja`] renders them
//! (parse phase, then compile phase), [`sql`] reads compiled SQL as a tree, [`graph`] builds
//! the DAG and selects nodes, [`adapter`] holds what differs per warehouse, [`materialize`] says
//! what SQL each node runs, [`runner`] executes the DAG, [`artifacts`] writes dbt-compatible
//! JSON, and [`commands`] strings the stages together for each subcommand.

pub mod adapter;
pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod error;
pub mod graph;
pub mod invocation;
pub mod jinja;
pub mod materialize;
pub mod project;
pub mod runner;
pub mod sql;
pub mod timing;

pub use error::{Error, Outcome};

/// The dbt version kiln's behaviour and artifacts follow (`dbt_version` in Jinja and artifacts).
pub const DBT_COMPAT_VERSION: &str = "1.10.0";

/// Runs one command line.
pub fn run(cli: cli::Cli) -> Result<Outcome, Error> {
    commands::run(cli)
}
