//! CLI tests: real projects in temp folders, `kiln` run as a user runs it, exit code, stdout and
//! stderr snapshotted under `tests/snapshots/` (the `cli__*` files).
//!
//! - `errors`: one fixture per kind of bad input (`tests/fixtures/*_error`), each expected to exit
//!   2 with a message that names the file, line and column, what is wrong and what to do.
//! - `commands`: the happy paths of parse, compile, clean, debug, init, vars, targets, profiles.
//! - `runtime`: errors the database raises while a run builds models (exit 1), placed on the
//!   lines of the files the analyst wrote.

mod commands;
mod errors;
mod runtime;
mod support;
