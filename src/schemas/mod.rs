//! dbt's resource dictionaries: the JSON shape of each node, source, exposure, macro and docs
//! block, as dbt's manifest writes it and as Jinja's `model` and `graph` variables show it; and
//! typed readers for the artifacts an earlier run left behind (`--state`, `retry`).
//!
//! One layer, below Jinja and the graph (it imports only `project` and `error`), so that every
//! stage that shows a resource shows the same dict: the manifest writer (`artifacts`), Jinja's
//! context, `state:` comparison, and later the catalog and the docs site. In dbt Fusion this is
//! the `dbt-schemas` crate.
//!
//! The dicts follow dbt-core 1.11 field for field, in the order it writes them (its dataclass
//! field order, which is also the property order of the published schema,
//! `https://schemas.getdbt.com/dbt/manifest/v12.json`). Decisions:
//!
//! - **Full configs.** Every `config` lists dbt's default keys for its resource type (a model's
//!   `incremental_strategy`, a test's `fail_calc`, ...) with the project's values over them, then
//!   any other key the project set, so readers never have to know dbt's defaults ([`config`]).
//!   Values are written as the project set them (`severity: warn` stays `warn`; dbt's default is
//!   `ERROR`).
//! - **As dbt reads files.** dbt strips every file it reads: `raw_code` and checksums are of the
//!   stripped text, so a checksum matches dbt's and `state:modified` agrees with a dbt manifest.
//!   One exception: dbt checksums a seed over 1 MiB by its path (`{name: path}`), so it never
//!   sees such a seed change; kiln hashes its contents like any other file.
//! - **One node dict.** Jinja's `model` ([`node_context_json`]) and `graph.nodes` entries are the
//!   same dict as the manifest's node, as in dbt; without the whole project at hand
//!   ([`ProjectFacts`]) the fields that need it (`root_path`, `primary_key` from tests) take
//!   their empty values.
//! - **Compiled fields only once compiled.** `compiled`, `compiled_code`, `extra_ctes_injected`
//!   and `extra_ctes` appear, and `compiled_path` is set, only for nodes `kiln compile` rendered,
//!   as dbt drops them for nodes that were only parsed; `build_path` only for nodes this
//!   invocation ran.
//! - **Borrowed, not built.** A node's dict ([`NodeDict`]) serialises straight from the node, so
//!   a 10,000-model manifest is written without a `Value` tree per node.
//! - `created_at` is a constant ([`CREATED_AT`]) instead of the wall clock, so identical projects
//!   give identical files.

mod config;
mod context;
mod contract;
mod docs;
mod exposure;
mod facts;
pub mod lineage;
mod macros;
mod node;
pub mod pii;
mod python;
pub mod read;
mod semantic;
mod site;
mod source;
mod unit_test;

pub use config::default_config_for;
pub use context::{graph_context_json, node_context_json};
pub use docs::docs_json;
pub use exposure::exposure_json;
pub use facts::ProjectFacts;
pub use macros::macro_json;
pub use node::{NodeDict, checksum_json, hook_nodes, node_json};
pub use semantic::{SemanticFacts, semantic_json};
pub use site::{page_raw_code, site_config};
pub use source::source_json;
pub use unit_test::unit_test_json;

/// `created_at` of every resource. dbt writes the parse time; a constant keeps output
/// reproducible, and no reader we know of orders or filters on it.
pub const CREATED_AT: f64 = 0.0;

/// The `metadata.env` key naming the target that wrote an artifact (kiln's addition: dbt's
/// schemas allow no other key in `metadata`, and `env` takes any string).
pub const TARGET_ENV_KEY: &str = "kiln_target";

/// The `metadata.env` key of run_results.json naming the adapter type of that target (the
/// manifest has dbt's own `metadata.adapter_type`).
pub const ADAPTER_ENV_KEY: &str = "kiln_adapter_type";

#[cfg(test)]
mod tests;
