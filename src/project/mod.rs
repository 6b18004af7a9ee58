//! Loading a dbt project: dbt_project.yml, profiles.yml, properties YAML, and the model, seed,
//! snapshot, analysis, test, macro and docs files, into typed [`Project`] with config inherited as
//! dbt does. Nothing here renders models: that is the Jinja stage's parse phase (`jinja::parse`),
//! which ends by settling each node's typed config ([`settings`], checked by [`settle`]). Only
//! Jinja in YAML values (`var()`, `env_var()`, `doc()`) is rendered here ([`render`]).

pub mod config;
pub mod contract;
pub mod dbt_project;
pub mod discover;
pub mod generic_tests;
mod load;
pub mod node;
pub mod origin;
pub mod profiles;
pub mod properties;
pub mod refs;
pub mod render;
pub mod settings;
pub mod settle;
pub mod unused_config;
pub mod yaml;

pub use load::{
    LoadOptions, find_project_dir, load, rewrite_macro_source, scan_macros, sha256_hex,
};
pub use node::*;
pub(crate) use refs::{RefOrSource, parse_ref_or_source};

/// Whether a YAML string is a `ref(...)` or `source(...)` call.
pub fn looks_like_ref_or_source(s: &str) -> bool {
    refs::parse_ref_or_source(s).is_some()
}

use crate::error::Diagnostic;
use dbt_project::DbtProject;
use profiles::ProfileTarget;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A macro file registered as one Jinja template.
#[derive(Debug, Clone)]
pub struct MacroFile {
    /// Template name, e.g. `macros/cents.sql` or `dbt/cross_db.sql` for built-ins.
    pub template: String,
    pub package: String,
    /// Source with `{% test %}` and `{% materialization %}` rewritten to `{% macro %}`.
    pub source: String,
}

/// A loaded project, before rendering.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub config: DbtProject,
    pub name: String,
    pub target: ProfileTarget,
    /// Variables visible to the root project: global vars, then `vars.<project>`, then `--vars`.
    pub vars: Map<String, Value>,
    pub cli_vars: Map<String, Value>,
    /// Enabled nodes, each shared as an `Arc` from the moment it is loaded: later stages (render
    /// contexts, the runner's workers) hold the node itself, never a copy.
    pub nodes: BTreeMap<String, Arc<Node>>,
    /// Disabled nodes (`enabled: false`), which leave the graph as in dbt.
    pub disabled: BTreeMap<String, Node>,
    pub sources: BTreeMap<String, SourceNode>,
    pub disabled_sources: BTreeMap<String, SourceNode>,
    pub exposures: BTreeMap<String, ExposureNode>,
    pub macros: BTreeMap<String, MacroNode>,
    pub macro_files: Vec<MacroFile>,
    pub docs: BTreeMap<String, DocBlock>,
    /// `selectors.yml`, parsed, if present.
    pub selectors: Option<(PathBuf, String, Value)>,
    /// Non-fatal problems found while loading.
    pub warnings: Vec<Diagnostic>,
    /// Errors in files (YAML, duplicates, ...) that leave the rest of the project loadable: the
    /// later stages still run, so one run reports every problem, and the command then fails
    /// with all of them.
    pub errors: Vec<Diagnostic>,
}

impl Project {
    /// Where artifacts go.
    pub fn target_dir(&self) -> PathBuf {
        self.dir.join(self.config.target_path())
    }

    /// The node or source with this unique_id, for display.
    pub fn display_path(&self, unique_id: &str) -> Option<String> {
        if let Some(n) = self.nodes.get(unique_id) {
            return Some(n.original_file_path.clone());
        }
        self.sources
            .get(unique_id)
            .map(|s| s.original_file_path.clone())
    }
}
