//! CLI tests: real projects in temp folders, `kiln` run as a user runs it, exit code, stdout and
//! stderr snapshotted under `tests/snapshots/` (the `cli__*` files).
//!
//! - `errors`: one fixture per kind of bad input (`tests/fixtures/*_error`), each expected to exit
//!   2 with a message that names the file, line and column, what is wrong and what to do.
//! - `commands`: the happy paths of parse, compile, clean, debug, init, vars, targets, profiles.
//! - `runtime`: errors the database raises while a run builds models (exit 1), placed on the
//!   lines of the files the analyst wrote.
//! - `logs`: what runs print and log (JSON events, --quiet, logs/dbt.log, colours, freshness and
//!   run-operation output, completion), held to dbt-core's recorded output.
//! - `state_files`: the artifacts of an earlier run read back (`--state`, `kiln retry`), and the
//!   errors for files kiln cannot read.

mod commands;
mod compile_outputs;
mod errors;
mod flags;
mod lineage;
mod lineage_cache;
mod lineage_guessed;
mod logs;
mod parse_cache;
mod runtime;
mod state_files;
mod support;
mod unused_semantic_paths;
