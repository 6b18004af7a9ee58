//! What a resource's dict needs from the rest of the project.

use crate::project::{Compiled, Node, Project};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What a node's dict needs from the rest of the project: the tests attached to it (for
/// `primary_key`), the ephemeral models it may inline, dbt_project.yml's config trees, where the
/// project lives. Empty ([`ProjectFacts::default`]) while only the node is known, as for Jinja's
/// `model`.
#[derive(Default)]
pub struct ProjectFacts<'a> {
    pub(super) project: Option<&'a Project>,
    /// unique_id of a model (or seed, snapshot) → the generic tests attached to it, enabled or
    /// not, for `primary_key`.
    pub(super) tests_of: BTreeMap<&'a str, Vec<&'a Node>>,
    /// `__dbt__cte__<name>` → the ephemeral model's unique_id, for `extra_ctes[].id`.
    pub(super) cte_ids: BTreeMap<String, String>,
    /// dbt_project.yml's `data_tests:` and `tests:` trees, merged once.
    pub(super) test_tree: Map<String, Value>,
    /// The nodes this invocation ran: they get a `build_path`, as in dbt.
    pub(super) built: BTreeSet<&'a str>,
    /// The project's absolute path, a seed's `root_path` (as dbt writes it).
    pub(super) root_path: Option<String>,
    /// Each node's `depends_on.nodes`, as the graph resolved them (none before it is built).
    pub(super) depends_on: Option<&'a BTreeMap<String, Vec<String>>>,
    /// The SQL the invocation compiled, by unique_id.
    pub(super) compiled: Option<&'a BTreeMap<String, Compiled>>,
}

impl<'a> ProjectFacts<'a> {
    pub fn of(project: &'a Project) -> Self {
        let mut tests_of: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
        let enabled = project.nodes.values().map(AsRef::as_ref);
        for n in enabled.chain(project.disabled.values()) {
            if let Some(attached) = n.test.as_ref().and_then(|t| t.attached_node.as_deref()) {
                tests_of.entry(attached).or_default().push(n);
            }
        }
        let cte_ids = project
            .nodes
            .values()
            .filter(|n| n.is_ephemeral())
            .map(|n| (format!("__dbt__cte__{}", n.name), n.unique_id.clone()))
            .collect();
        let root_path = std::fs::canonicalize(&project.dir)
            .unwrap_or_else(|_| project.dir.clone())
            .display()
            .to_string();
        ProjectFacts {
            project: Some(project),
            tests_of,
            cte_ids,
            test_tree: project.config.data_test_configs(),
            built: BTreeSet::new(),
            root_path: Some(root_path),
            depends_on: None,
            compiled: None,
        }
    }

    /// With the SQL this invocation compiled.
    #[must_use]
    pub fn with_compiled(mut self, compiled: &'a BTreeMap<String, Compiled>) -> Self {
        self.compiled = Some(compiled);
        self
    }

    /// The node's compiled SQL, if this invocation compiled it.
    pub(super) fn compiled_of(&self, unique_id: &str) -> Option<&'a Compiled> {
        self.compiled?.get(unique_id)
    }

    /// With the dependencies the graph resolved (`depends_on.nodes`).
    #[must_use]
    pub fn with_depends_on(mut self, depends_on: &'a BTreeMap<String, Vec<String>>) -> Self {
        self.depends_on = Some(depends_on);
        self
    }

    /// A node's `depends_on.nodes`: empty until the graph is built.
    pub(super) fn depends_on_of(&self, unique_id: &str) -> &'a [String] {
        self.depends_on
            .and_then(|d| d.get(unique_id))
            .map_or(&[], Vec::as_slice)
    }

    /// With the nodes this invocation ran (whose SQL it wrote under `target/run/`).
    #[must_use]
    pub fn with_built(mut self, built: &'a BTreeSet<String>) -> Self {
        self.built = built.iter().map(String::as_str).collect();
        self
    }

    /// The project, when it is known.
    pub fn project(&self) -> Option<&'a Project> {
        self.project
    }

    pub(super) fn target_path(&self) -> String {
        self.project
            .map_or_else(|| "target".into(), |p| p.config.target_path())
    }
}
