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
pub mod semantic;
pub mod settings;
pub mod settle;
pub mod unit_test;
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

/// Among the source unique_ids `ids`, the one `source('source', 'table')` names for a node of
/// project `from` when the root project is `root` (see [`Project::resolve_source`]).
pub fn resolve_source_in<'a>(
    ids: impl Iterator<Item = &'a String>,
    root: &str,
    source: &str,
    table: &str,
    from: &str,
) -> Option<&'a str> {
    let suffix = format!(".{source}.{table}");
    let matching: Vec<&str> = ids
        .map(String::as_str)
        .filter(|id| id.starts_with("source.") && id.ends_with(&suffix))
        .filter(|id| {
            // `source.<package>.<source>.<table>`: the package is the part in between.
            id["source.".len()..id.len() - suffix.len()]
                .split('.')
                .count()
                == 1
        })
        .collect();
    let in_package = |p: &str| {
        matching
            .iter()
            .copied()
            .find(|id| id["source.".len()..id.len() - suffix.len()] == *p)
    };
    in_package(root)
        .or_else(|| in_package(from))
        .or_else(|| matching.first().copied())
}

/// A package installed in the root project's packages-install-path: a dbt project of its own,
/// whose nodes, macros and docs join the root project's (with `package_name` its name).
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    /// Its folder, as found on disk (under the root project's folder unless
    /// packages-install-path is absolute).
    pub dir: PathBuf,
    /// Its folder as shown to the user, relative to the root project (`dbt_packages/dbt_utils`).
    pub shown_dir: String,
    /// Its own dbt_project.yml.
    pub config: DbtProject,
    /// The vars its nodes see, as dbt's: the package's own (global, then scoped to it), then the
    /// root project's (global, then `vars: {<package>: ...}`), then `--vars`.
    pub vars: Map<String, Value>,
}

/// One `on-run-start` or `on-run-end` hook of the root project or of a package.
#[derive(Debug, Clone)]
pub struct RunHook {
    /// The project that declares it.
    pub package: String,
    /// Its position in that project's list.
    pub index: usize,
    /// The dbt_project.yml that declares it, as shown to the user.
    pub file: PathBuf,
    pub sql: String,
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
    /// The installed packages, by folder name order.
    pub packages: Vec<Package>,
    /// Enabled nodes, each shared as an `Arc` from the moment it is loaded: later stages (render
    /// contexts, the runner's workers) hold the node itself, never a copy.
    pub nodes: BTreeMap<String, Arc<Node>>,
    /// Disabled nodes (`enabled: false`), which leave the graph as in dbt.
    pub disabled: BTreeMap<String, Node>,
    pub sources: BTreeMap<String, SourceNode>,
    pub disabled_sources: BTreeMap<String, SourceNode>,
    pub exposures: BTreeMap<String, ExposureNode>,
    /// Enabled unit tests, one per tested model version (`unit_test.<package>.<model>.<name>`).
    pub unit_tests: BTreeMap<String, unit_test::UnitTest>,
    /// The semantic layer: semantic models, metrics and saved queries, by unique_id.
    pub semantic: BTreeMap<String, semantic::SemanticNode>,
    /// Semantic resources turned off (`+enabled: false`), manifest.json's `disabled` only.
    pub disabled_semantic: BTreeMap<String, semantic::SemanticNode>,
    /// Models' `time_spine:` properties, by the model's unique_id.
    pub time_spines: BTreeMap<String, Value>,
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
    /// The `on-run-start` (`start`) or `on-run-end` hooks in the order dbt-core 1.11 runs them:
    /// the root project's first, then each package's by package name, each project's in its
    /// list's order.
    pub fn run_hooks(&self, start: bool) -> Vec<RunHook> {
        let pick = |c: &DbtProject| {
            if start {
                c.on_run_start.to_vec()
            } else {
                c.on_run_end.to_vec()
            }
        };
        let mut packages: Vec<&Package> = self.packages.iter().collect();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = vec![];
        for (index, sql) in pick(&self.config).into_iter().enumerate() {
            out.push(RunHook {
                package: self.name.clone(),
                index,
                file: PathBuf::from("dbt_project.yml"),
                sql,
            });
        }
        for p in packages {
            for (index, sql) in pick(&p.config).into_iter().enumerate() {
                out.push(RunHook {
                    package: p.name.clone(),
                    index,
                    file: PathBuf::from(&p.shown_dir).join("dbt_project.yml"),
                    sql,
                });
            }
        }
        out
    }

    pub fn target_dir(&self) -> PathBuf {
        self.dir.join(self.config.target_path())
    }

    /// The installed package named `name`.
    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// The vars the nodes of project `package` see (the root project's for the root project or
    /// an unknown name).
    pub fn vars_for(&self, package: &str) -> &Map<String, Value> {
        self.package(package).map_or(&self.vars, |p| &p.vars)
    }

    /// The dbt_project.yml that configures the nodes of `package` (the root project's for the
    /// root project or an unknown name).
    pub fn config_of(&self, package: &str) -> &DbtProject {
        self.package(package).map_or(&self.config, |p| &p.config)
    }

    /// The source `source('source_name', 'table')` names when a node of project `from` calls
    /// it, as dbt resolves it: declared in the root project, else in `from`, else in any package.
    pub fn resolve_source(&self, source: &str, table: &str, from: &str) -> Option<&str> {
        resolve_source_in(self.sources.keys(), &self.name, source, table, from)
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
