//! `state:` selection: compare each node with its entry in a previous manifest.json (`--state`).
//!
//! Both sides are the manifest's dicts read by the same typed reader
//! ([`crate::schemas::read::StateManifest`]): the previous run's from its file, the current
//! project's from [`crate::schemas::graph_context_json`], so a kiln manifest of an unchanged
//! project compares equal field for field. What counts as a change follows dbt's documented
//! sub-selectors:
//! - `modified.body`: `checksum.checksum` (the raw code when a side has no checksum);
//! - `modified.configs`: `config`;
//! - `modified.relation`: the configured `database`, `schema` and `alias` (the configured values,
//!   not the target's, so comparing a dev run with a prod manifest does not flag everything; for
//!   sources, their `database`, `schema` and `identifier`);
//! - `modified.persisted_descriptions`: descriptions, only where `persist_docs` writes them;
//! - `modified.macros`: a macro the node calls, directly or through other macros, changed;
//! - `modified.contract`: an enforced contract (its checksum: columns, types, constraints);
//! - `modified`: any of the above, a new node, or a moved node (its `fqn` changed).
//!
//! Sources and exposures have no body, macros, contract or persisted descriptions, as in dbt: a
//! source is modified by its relation, configs, quoting, freshness, external properties and
//! load-time field or query; an exposure by its configs, type, owner, maturity, url, description,
//! label and the nodes it depends on.
//!
//! A manifest written by another tool may spell values differently, so values compare leniently:
//! a missing key equals null, an empty list or mapping, or dbt's default for that key.

use crate::graph::Graph;
use crate::project::Project;
use crate::schemas::read::{ManifestExposure, ManifestNode, ManifestSource, StateManifest};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

pub struct StateComparison<'a> {
    project: &'a Project,
    old: &'a StateManifest,
    /// The current project's dicts: `nodes`, `sources`, `exposures`.
    current: StateManifest,
    /// Project macros whose SQL differs from the previous manifest's (or that are new or gone).
    modified_macros: BTreeSet<String>,
}

/// dbt's config defaults, which one manifest may spell out and another leave unset.
fn config_default(key: &str) -> Option<Value> {
    Some(match key {
        "enabled" => json!(true),
        "on_schema_change" => json!("ignore"),
        "on_configuration_change" => json!("apply"),
        "lookback" => json!(1),
        "access" => json!("protected"),
        "docs" => json!({"show": true, "node_color": null}),
        "show" => json!(true),
        "contract" => json!({"enforced": false, "alias_types": true}),
        "enforced" => json!(false),
        "alias_types" => json!(true),
        "severity" => json!("ERROR"),
        "fail_calc" => json!("count(*)"),
        "warn_if" | "error_if" => json!("!= 0"),
        "delimiter" => json!(","),
        _ => return None,
    })
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.values().all(is_empty),
        _ => false,
    }
}

/// Equality that forgives what manifests write differently but means the same (null is the
/// same as missing).
fn lenient_eq(key: &str, a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.filter(|v| !v.is_null()), b.filter(|v| !v.is_null())) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .all(|k| lenient_eq(k, x.get(k.as_str()), y.get(k.as_str())))
        }
        // `tags: nightly` and `tags: [nightly]` are the same.
        (Some(Value::String(x)), Some(Value::Array(y)))
        | (Some(Value::Array(y)), Some(Value::String(x))) => {
            y.len() == 1 && y[0].as_str() == Some(x.as_str())
        }
        (Some(x), Some(y)) => x == y || (is_empty(x) && is_empty(y)),
        (Some(v), None) | (None, Some(v)) => {
            is_empty(v) || config_default(key).is_some_and(|d| lenient_eq(key, Some(&d), Some(v)))
        }
        (None, None) => true,
    }
}

/// Two configs, key by key (a missing config is an empty one).
fn same_config(cur: &Map<String, Value>, old: &Map<String, Value>) -> bool {
    let keys: BTreeSet<&String> = cur.keys().chain(old.keys()).collect();
    keys.into_iter()
        .all(|k| lenient_eq(k, cur.get(k.as_str()), old.get(k.as_str())))
}

/// Two free-form values (quoting, freshness, owner) compared leniently.
fn same_value(key: &str, cur: &Value, old: &Value) -> bool {
    lenient_eq(key, Some(cur), Some(old))
}

fn truthy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
}

/// A resource of the current project and its entry in the state manifest.
enum Pair<'c, 'o> {
    Node(&'c ManifestNode, Option<&'o ManifestNode>),
    Source(&'c ManifestSource, Option<&'o ManifestSource>),
    Exposure(&'c ManifestExposure, Option<&'o ManifestExposure>),
}

impl<'a> StateComparison<'a> {
    pub fn new(project: &'a Project, graph: &Graph, old: &'a StateManifest) -> Self {
        let mut modified_macros = BTreeSet::new();
        // A manifest without macros says nothing about them; don't flag every macro as new.
        if let Some(old_macros) = &old.macros {
            for (uid, m) in &project.macros {
                let before = old_macros.get(uid).and_then(|o| o.macro_sql.as_deref());
                if before != Some(m.macro_sql.as_str()) {
                    modified_macros.insert(uid.clone());
                }
            }
            for (uid, m) in old_macros {
                // The project's and its installed packages' macros (not kiln's built-ins).
                let ours = m
                    .package_name
                    .as_deref()
                    .is_some_and(|p| p == project.name || project.package(p).is_some());
                if ours && !project.macros.contains_key(uid) {
                    modified_macros.insert(uid.clone());
                }
            }
        }
        StateComparison {
            project,
            old,
            current: StateManifest::of_dicts(&crate::schemas::graph_context_json(
                project,
                &graph.depends_on,
            )),
            modified_macros,
        }
    }

    fn pair(&self, id: &str) -> Option<Pair<'_, 'a>> {
        if let Some(cur) = self.current.nodes().get(id) {
            return Some(Pair::Node(cur, self.old.nodes().get(id)));
        }
        if let Some(cur) = self.current.sources.get(id) {
            return Some(Pair::Source(cur, self.old.sources.get(id)));
        }
        let cur = self.current.exposures.get(id)?;
        Some(Pair::Exposure(cur, self.old.exposures.get(id)))
    }

    /// Whether the node, source or exposure `id` passes the `state:<check>` comparison.
    pub fn check(&self, check: &str, id: &str) -> bool {
        if let Some(t) = self.project.unit_tests.get(id) {
            return self.check_unit_test(check, t);
        }
        let Some(pair) = self.pair(id) else {
            return false;
        };
        let is_new = match &pair {
            Pair::Node(_, old) => old.is_none(),
            Pair::Source(_, old) => old.is_none(),
            Pair::Exposure(_, old) => old.is_none(),
        };
        match check {
            "new" => is_new,
            "old" => !is_new,
            "modified" => self.modified(id, &pair),
            "unmodified" => !self.modified(id, &pair),
            "modified.macros" => self.macros_changed(id),
            // A new resource counts as modified by every comparison that applies to it.
            sub => match pair {
                Pair::Node(cur, old) => old.is_none_or(|old| !same_node(sub, cur, old)),
                Pair::Source(cur, old) => {
                    matches!(sub, "modified.configs" | "modified.relation")
                        && old.is_none_or(|old| !same_source(sub, cur, old))
                }
                Pair::Exposure(cur, old) => {
                    sub == "modified.configs"
                        && old.is_none_or(|old| !same_config(&cur.config, &old.config))
                }
            },
        }
    }

    /// A unit test, as dbt compares one: new when the previous manifest lacks it, modified when
    /// what its checksum covers differs (model, versions, given, expect with the fixture rows,
    /// overrides; compared as the manifests write them, so a manifest of dbt's compares too);
    /// the sub-selectors (`modified.body`...) do not apply to unit tests.
    fn check_unit_test(&self, check: &str, t: &crate::project::unit_test::UnitTest) -> bool {
        let old = self.old.unit_tests.get(&t.unique_id);
        let cur = crate::schemas::unit_test_json(t, "");
        let modified = old.is_none_or(|o| {
            let pairs = [
                ("model", &o.model),
                ("versions", &o.versions),
                ("given", &o.given),
                ("expect", &o.expect),
                ("overrides", &o.overrides),
            ];
            !pairs
                .iter()
                .all(|(k, before)| lenient_eq(k, cur.get(*k), Some(before)))
        });
        match check {
            "new" => old.is_none(),
            "old" => old.is_some(),
            "modified" => modified,
            "unmodified" => !modified,
            _ => false,
        }
    }

    fn modified(&self, id: &str, pair: &Pair<'_, '_>) -> bool {
        let same_contents = match pair {
            Pair::Node(cur, Some(old)) => {
                [
                    "modified.body",
                    "modified.configs",
                    "modified.persisted_descriptions",
                    "modified.relation",
                    "modified.contract",
                ]
                .iter()
                .all(|c| same_node(c, cur, old))
                    && cur.fqn == old.fqn
            }
            Pair::Source(cur, Some(old)) => {
                same_source("modified.relation", cur, old)
                    && same_source("modified.configs", cur, old)
                    && same_value("quoting", &cur.quoting, &old.quoting)
                    && same_value("freshness", &cur.freshness, &old.freshness)
                    && same_value("external", &cur.external, &old.external)
                    && cur.loaded_at_field == old.loaded_at_field
                    && cur.loaded_at_query == old.loaded_at_query
                    && cur.fqn == old.fqn
            }
            Pair::Exposure(cur, Some(old)) => {
                let deps = |e: &ManifestExposure| -> BTreeSet<String> {
                    e.depends_on.nodes.iter().cloned().collect()
                };
                same_config(&cur.config, &old.config)
                    && cur.kind == old.kind
                    && same_value("owner", &cur.owner, &old.owner)
                    && cur.maturity == old.maturity
                    && cur.url == old.url
                    && cur.description == old.description
                    && cur.label == old.label
                    && deps(cur) == deps(old)
                    && cur.fqn == old.fqn
            }
            // New.
            _ => return true,
        };
        !same_contents || self.macros_changed(id)
    }

    /// Whether a macro the node calls (directly, or through the project's macros) changed.
    fn macros_changed(&self, id: &str) -> bool {
        let Some(n) = self.project.nodes.get(id) else {
            return false;
        };
        if self.modified_macros.is_empty() {
            return false;
        }
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = n.depends_on_macros.iter().map(String::as_str).collect();
        while let Some(uid) = stack.pop() {
            if !seen.insert(uid) {
                continue;
            }
            if self.modified_macros.contains(uid) {
                return true;
            }
            if let Some(m) = self.project.macros.get(uid) {
                stack.extend(m.depends_on_macros.iter().map(String::as_str));
            }
        }
        false
    }
}

/// Whether two nodes agree on what the sub-selector `check` compares.
fn same_node(check: &str, cur: &ManifestNode, old: &ManifestNode) -> bool {
    match check {
        "modified.body" => same_body(cur, old),
        "modified.configs" => same_config(&cur.config, &old.config),
        "modified.relation" => ["database", "schema", "alias"]
            .iter()
            .all(|key| lenient_eq(key, cur.config.get(*key), old.config.get(*key))),
        "modified.persisted_descriptions" => same_persisted(cur, old),
        "modified.contract" => same_contract(cur, old),
        _ => true,
    }
}

/// Whether two sources agree on what the sub-selector `check` compares.
fn same_source(check: &str, cur: &ManifestSource, old: &ManifestSource) -> bool {
    match check {
        "modified.configs" => same_config(&cur.config, &old.config),
        "modified.relation" => {
            cur.database == old.database
                && cur.schema == old.schema
                && cur.identifier == old.identifier
        }
        _ => true,
    }
}

fn same_body(cur: &ManifestNode, old: &ManifestNode) -> bool {
    let (now, before) = (&cur.checksum.checksum, &old.checksum.checksum);
    if !now.is_empty() && !before.is_empty() {
        return now == before;
    }
    cur.raw_code.as_deref().unwrap_or_default() == old.raw_code.as_deref().unwrap_or_default()
}

/// Descriptions count only where `persist_docs` writes them to the warehouse.
fn same_persisted(cur: &ManifestNode, old: &ManifestNode) -> bool {
    let persist = cur.config.get("persist_docs");
    let description = |n: &ManifestNode| n.description.clone().unwrap_or_default();
    if truthy(persist.and_then(|p| p.get("relation"))) && description(cur) != description(old) {
        return false;
    }
    if truthy(persist.and_then(|p| p.get("columns"))) {
        let descriptions = |n: &ManifestNode| -> BTreeSet<(String, String)> {
            n.columns
                .iter()
                .filter(|(_, c)| !c.description.is_empty())
                .map(|(name, c)| (name.clone(), c.description.clone()))
                .collect()
        };
        if descriptions(cur) != descriptions(old) {
            return false;
        }
    }
    true
}

/// Whether the contract is enforced, wherever the manifest keeps that.
fn enforced(n: &ManifestNode) -> bool {
    truthy(n.config.get("contract").and_then(|c| c.get("enforced"))) || n.contract.enforced
}

/// An enforced contract is compared by its checksum (columns, types, constraints, and the
/// materialization where it enforces constraints); turning enforcement on or off is a change.
fn same_contract(cur: &ManifestNode, old: &ManifestNode) -> bool {
    match (enforced(old), enforced(cur)) {
        (false, false) => return true,
        (false, true) | (true, false) => return false,
        (true, true) => {}
    }
    let checksum = |n: &ManifestNode| n.contract.checksum.clone().unwrap_or_default();
    let (now, before) = (checksum(cur), checksum(old));
    if !now.is_empty() && !before.is_empty() {
        return now == before;
    }
    // No checksum on one side: compare what it is made of.
    let columns = |n: &ManifestNode| -> BTreeSet<String> {
        n.columns
            .iter()
            .map(|(name, c)| {
                format!(
                    "{name}|{}|{}",
                    c.data_type
                        .as_ref()
                        .map_or(Value::Null, |t| Value::from(t.as_str())),
                    Value::from(c.constraints.clone())
                )
            })
            .collect()
    };
    columns(cur) == columns(old)
        && lenient_eq(
            "materialized",
            cur.config.get("materialized"),
            old.config.get("materialized"),
        )
        && cur.constraints == old.constraints
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn configs_forgive_what_writers_spell_differently() {
        let kiln = config(json!({
            "enabled": true, "tags": ["nightly"], "on_schema_change": "ignore",
            "persist_docs": {}, "grants": {}, "alias": null, "docs": {"show": true, "node_color": null},
        }));
        // Left out where empty, null or dbt's default; a single tag as a string.
        let other = config(json!({"tags": "nightly", "docs": {"show": true}}));
        assert!(same_config(&kiln, &other));
        assert!(same_config(&other, &kiln));
        let changed = config(json!({"tags": "nightly", "on_schema_change": "fail"}));
        assert!(!same_config(&kiln, &changed));
        let retagged = config(json!({"tags": ["nightly", "finance"]}));
        assert!(!same_config(&kiln, &retagged));
    }

    #[test]
    fn contracts_compare_by_checksum_then_by_columns() {
        let node = |v: Value| -> ManifestNode { serde_json::from_value(v).unwrap_or_default() };
        let enforced = node(json!({"contract": {"enforced": true, "checksum": "a"}}));
        let same = node(
            json!({"config": {"contract": {"enforced": true}}, "contract": {"checksum": "a"}}),
        );
        let other = node(json!({"contract": {"enforced": true, "checksum": "b"}}));
        let off = node(json!({"contract": {"enforced": false, "checksum": "a"}}));
        assert!(same_contract(&enforced, &same));
        assert!(!same_contract(&enforced, &other));
        assert!(!same_contract(&enforced, &off));
        // Without a checksum on one side, the columns' types and constraints decide.
        let typed = |t: &str| {
            node(json!({"contract": {"enforced": true},
                "columns": {"id": {"data_type": t, "constraints": [{"type": "not_null"}]}}}))
        };
        assert!(same_contract(&typed("integer"), &typed("integer")));
        assert!(!same_contract(&typed("integer"), &typed("bigint")));
    }
}
