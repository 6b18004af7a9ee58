//! Execution tests: projects in temp folders built by `kiln run/seed/test/build/show/
//! run-operation` into a real DuckDB file, then checked by reading that file: table contents,
//! statuses in run_results.json, skipped descendants, atomic rebuilds, hooks, locks, Ctrl-C.

#[path = "../cli/support.rs"]
mod support;

#[path = "../cli/openlineage_schema.rs"]
mod openlineage_schema;

#[path = "../cli/notice_servers.rs"]
mod notice_servers;

mod build;
mod compat;
mod contracts;
mod db;
mod execute;
mod flags;
mod icu;
mod incremental;
mod interrupt;
mod notices;
mod openlineage;
mod quality;
mod quality_history;
mod relative_paths;
mod reuse;
mod small_runs;
mod snapshots;
mod speed;
mod state;
mod targets;
mod types;
