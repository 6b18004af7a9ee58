//! `state:` selection: compare each node with its entry in a previous manifest.json (`--state`).
//!
//! Both sides are manifest dicts: the current project is serialized by the manifest writer
//! ([`crate::artifacts::manifest::graph_context_json`]), so a kiln manifest of an unchanged
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
//! A manifest written by another tool may spell values differently, so values compare leniently:
//! a missing key equals null, an empty list or mapping, or dbt's default for that key.

use super::methods::Target;
use crate::project::Project;
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub struct StateComparison<'a> {
    project: &'a Project,
    old: &'a Value,
    /// The current project as manifest dicts: `nodes`, `sources`, `exposures`.
    current: Value,
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

/// Equality that forgives what manifests write differently but means the same.
fn lenient_eq(key: &str, a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
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
        (Some(x), Some(y)) => {
            x == y
                || (is_empty(x) && is_empty(y))
                || (x.is_null() || y.is_null())
                    && config_default(key).is_some_and(|d| d == *x || d == *y)
        }
        (Some(v), None) | (None, Some(v)) => {
            is_empty(v) || config_default(key).is_some_and(|d| lenient_eq(key, Some(&d), Some(v)))
        }
        (None, None) => true,
    }
}

fn lookup<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter()
        .try_fold(v, |acc, p| acc.get(*p))
        .filter(|v| !v.is_null())
}

fn same_at(cur: &Value, old: &Value, path: &[&str]) -> bool {
    let key = path.last().copied().unwrap_or_default();
    lenient_eq(key, lookup(cur, path), lookup(old, path))
}

fn truthy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
}

/// The kind of resource, as far as dbt's comparisons care.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Node,
    Source,
    Exposure,
}

fn kind(t: Target<'_>) -> Kind {
    match t {
        Target::Node(_) => Kind::Node,
        Target::Source(_) => Kind::Source,
        Target::Exposure(_) => Kind::Exposure,
    }
}

/// Which sub-selectors apply to which kind of resource (as in dbt: sources and exposures have
/// no body, macros, contract or persisted descriptions).
fn supports(check: &str, k: Kind) -> bool {
    match k {
        Kind::Node => true,
        Kind::Source => matches!(check, "modified.configs" | "modified.relation"),
        Kind::Exposure => check == "modified.configs",
    }
}

impl<'a> StateComparison<'a> {
    pub fn new(project: &'a Project, old: &'a Value) -> Self {
        let mut modified_macros = BTreeSet::new();
        // A manifest without macros says nothing about them; don't flag every macro as new.
        if let Some(old_macros) = old.get("macros").and_then(Value::as_object) {
            for (uid, m) in &project.macros {
                let before = old_macros.get(uid).and_then(|o| o.get("macro_sql"));
                if before.and_then(Value::as_str) != Some(m.macro_sql.as_str()) {
                    modified_macros.insert(uid.clone());
                }
            }
            for (uid, m) in old_macros {
                let ours = m.get("package_name").and_then(Value::as_str) == Some(&project.name);
                if ours && !project.macros.contains_key(uid) {
                    modified_macros.insert(uid.clone());
                }
            }
        }
        StateComparison {
            project,
            old,
            current: crate::artifacts::manifest::graph_context_json(project),
            modified_macros,
        }
    }

    fn previous(&self, id: &str) -> Option<&'a Value> {
        [
            "nodes",
            "sources",
            "exposures",
            "metrics",
            "semantic_models",
            "saved_queries",
        ]
        .iter()
        .find_map(|section| self.old.get(*section).and_then(|s| s.get(id)))
    }

    fn current_of(&self, t: Target<'_>) -> &Value {
        let section = match kind(t) {
            Kind::Node => "nodes",
            Kind::Source => "sources",
            Kind::Exposure => "exposures",
        };
        self.current
            .get(section)
            .and_then(|s| s.get(t.unique_id()))
            .unwrap_or(&Value::Null)
    }

    /// Whether `t` passes the `state:<check>` comparison.
    pub fn check(&self, check: &str, t: Target<'_>) -> bool {
        let old = self.previous(t.unique_id());
        let cur = self.current_of(t);
        let k = kind(t);
        match (check, old) {
            ("new", old) => old.is_none(),
            ("old", old) => old.is_some(),
            ("modified", old) => self.modified(t, cur, old),
            ("unmodified", old) => !self.modified(t, cur, old),
            ("modified.macros", _) => self.macros_changed(t),
            // A new node counts as modified by every comparison that applies to it.
            (sub, None) => supports(sub, k),
            (sub, Some(old)) => supports(sub, k) && !same(sub, k, cur, old),
        }
    }

    fn modified(&self, t: Target<'_>, cur: &Value, old: Option<&Value>) -> bool {
        let Some(old) = old else { return true };
        let k = kind(t);
        let same_contents = match k {
            Kind::Node => [
                "modified.body",
                "modified.configs",
                "modified.persisted_descriptions",
                "modified.relation",
                "modified.contract",
            ]
            .iter()
            .all(|c| same(c, k, cur, old)),
            Kind::Source => {
                same("modified.relation", k, cur, old)
                    && same("modified.configs", k, cur, old)
                    && [
                        "quoting",
                        "freshness",
                        "external",
                        "loaded_at_field",
                        "loaded_at_query",
                    ]
                    .iter()
                    .all(|f| same_at(cur, old, &[f]))
            }
            Kind::Exposure => {
                let deps = |v: &Value| -> BTreeSet<String> {
                    v.pointer("/depends_on/nodes")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                same("modified.configs", k, cur, old)
                    && ["type", "owner", "maturity", "url", "description", "label"]
                        .iter()
                        .all(|f| same_at(cur, old, &[f]))
                    && deps(cur) == deps(old)
            }
        };
        !same_contents || !same_at(cur, old, &["fqn"]) || self.macros_changed(t)
    }

    /// Whether a macro the node calls (directly, or through the project's macros) changed.
    fn macros_changed(&self, t: Target<'_>) -> bool {
        let Target::Node(n) = t else { return false };
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

/// Whether `cur` and `old` agree on what the sub-selector `check` compares.
fn same(check: &str, k: Kind, cur: &Value, old: &Value) -> bool {
    match (check, k) {
        ("modified.body", Kind::Node) => same_body(cur, old),
        ("modified.configs", _) => same_at(cur, old, &["config"]),
        ("modified.relation", Kind::Node) => ["database", "schema", "alias"]
            .iter()
            .all(|key| same_at(cur, old, &["config", key])),
        ("modified.relation", Kind::Source) => ["database", "schema", "identifier"]
            .iter()
            .all(|key| same_at(cur, old, &[key])),
        ("modified.persisted_descriptions", Kind::Node) => same_persisted(cur, old),
        ("modified.contract", Kind::Node) => same_contract(cur, old),
        _ => true,
    }
}

fn text<'v>(v: &'v Value, path: &[&str]) -> &'v str {
    path.iter()
        .try_fold(v, |acc, p| acc.get(*p))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn same_body(cur: &Value, old: &Value) -> bool {
    let (now, before) = (
        text(cur, &["checksum", "checksum"]),
        text(old, &["checksum", "checksum"]),
    );
    if !now.is_empty() && !before.is_empty() {
        return now == before;
    }
    text(cur, &["raw_code"]) == text(old, &["raw_code"])
}

/// Descriptions count only where `persist_docs` writes them to the warehouse.
fn same_persisted(cur: &Value, old: &Value) -> bool {
    let persist = cur.pointer("/config/persist_docs");
    if truthy(persist.and_then(|p| p.get("relation")))
        && text(cur, &["description"]) != text(old, &["description"])
    {
        return false;
    }
    if truthy(persist.and_then(|p| p.get("columns"))) {
        let descriptions = |v: &Value| -> BTreeSet<(String, String)> {
            v.get("columns")
                .and_then(Value::as_object)
                .map(|cols| {
                    cols.iter()
                        .map(|(name, c)| (name.clone(), text(c, &["description"]).to_string()))
                        .filter(|(_, d)| !d.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        if descriptions(cur) != descriptions(old) {
            return false;
        }
    }
    true
}

/// Whether the contract is enforced, wherever the manifest keeps that.
fn enforced(v: &Value) -> bool {
    truthy(v.pointer("/config/contract/enforced")) || truthy(v.pointer("/contract/enforced"))
}

/// An enforced contract is compared by its checksum (columns, types, constraints, and the
/// materialization where it enforces constraints); turning enforcement on or off is a change.
fn same_contract(cur: &Value, old: &Value) -> bool {
    match (enforced(old), enforced(cur)) {
        (false, false) => return true,
        (false, true) | (true, false) => return false,
        (true, true) => {}
    }
    let (now, before) = (
        text(cur, &["contract", "checksum"]),
        text(old, &["contract", "checksum"]),
    );
    if !now.is_empty() && !before.is_empty() {
        return now == before;
    }
    // No checksum on one side: compare what it is made of.
    let columns = |v: &Value| -> BTreeSet<String> {
        v.get("columns")
            .and_then(Value::as_object)
            .map(|cols| {
                cols.iter()
                    .map(|(name, c)| {
                        format!(
                            "{name}|{}|{}",
                            c.get("data_type").unwrap_or(&Value::Null),
                            c.get("constraints").unwrap_or(&json!([]))
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    columns(cur) == columns(old)
        && same_at(cur, old, &["config", "materialized"])
        && same_at(cur, old, &["constraints"])
}
