//! `state:` selection: compare each node with its entry in a previous manifest.json (`--state`).
//!
//! What counts as a change follows dbt's documented sub-selectors:
//! - `modified.body`: the file's checksum (`checksum.checksum`), or the raw code when a node has
//!   no checksum of its own (generic tests);
//! - `modified.configs`: the node's config;
//! - `modified.relation`: the configured `database`, `schema` and `alias` (the configured values,
//!   not the target's, so comparing a dev run with a prod manifest does not flag everything; for
//!   sources, their database, schema and identifier);
//! - `modified.persisted_descriptions`: descriptions, only where `persist_docs` writes them;
//! - `modified.macros`: a macro the node calls, directly or through other macros, changed;
//! - `modified.contract`: an enforced contract's columns, types and constraints;
//! - `modified`: any of the above, a new node, or a moved node (its fqn changed).
//!
//! Manifests written by dbt carry every config key with its default, kiln's only the keys that were
//! set, so config values compare leniently: a missing key equals null, an empty list or mapping,
//! or dbt's default for that key.

use super::methods::Target;
use crate::project::{Node, Project, ResourceType};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

pub struct StateComparison<'a> {
    project: &'a Project,
    old: &'a Value,
    /// Project macros whose SQL differs from the previous manifest's (or that are new or gone).
    modified_macros: BTreeSet<String>,
}

/// dbt's config defaults, which a manifest may spell out and kiln leaves unset.
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
        "warn_if" => json!("!= 0"),
        "error_if" => json!("!= 0"),
        "delimiter" => json!(","),
        "store_failures_as" => Value::Null,
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
        (Some(Value::String(x)), Some(Value::Array(y)))
        | (Some(Value::Array(y)), Some(Value::String(x))) => {
            // `tags: nightly` and `tags: [nightly]` are the same.
            y.len() == 1 && y[0].as_str() == Some(x.as_str())
        }
        (Some(x), Some(y)) => x == y || (is_empty(x) && is_empty(y)),
        (Some(v), None) | (None, Some(v)) => {
            is_empty(v) || config_default(key).is_some_and(|d| lenient_eq(key, Some(&d), Some(v)))
        }
        (None, None) => true,
    }
}

fn same_config(new: &Map<String, Value>, old: Option<&Value>) -> bool {
    let empty = Map::new();
    let old = old.and_then(Value::as_object).unwrap_or(&empty);
    let keys: BTreeSet<&String> = new.keys().chain(old.keys()).collect();
    keys.into_iter()
        .all(|k| lenient_eq(k, new.get(k.as_str()), old.get(k.as_str())))
}

fn get_str<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

fn truthy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
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

    /// Whether `t` passes the `state:<check>` comparison.
    pub fn check(&self, check: &str, t: Target<'_>) -> bool {
        let old = self.previous(t.unique_id());
        match check {
            "new" => old.is_none(),
            "old" => old.is_some(),
            "modified" => self.modified(t, old),
            "unmodified" => !self.modified(t, old),
            "modified.macros" => self.macros_changed(t),
            sub => {
                let Some(old) = old else {
                    // New nodes count as modified for every comparison they support.
                    return supports(sub, t);
                };
                supports(sub, t) && !self.same(sub, t, old)
            }
        }
    }

    fn modified(&self, t: Target<'_>, old: Option<&Value>) -> bool {
        let Some(old) = old else { return true };
        let same = match t {
            Target::Node(_) => [
                "modified.body",
                "modified.configs",
                "modified.persisted_descriptions",
                "modified.relation",
                "modified.contract",
            ]
            .iter()
            .all(|c| self.same(c, t, old)),
            Target::Source(s) => {
                self.same("modified.relation", t, old)
                    && self.same("modified.configs", t, old)
                    && lenient_eq(
                        "quoting",
                        Some(&Value::Object(s.quoting.clone())),
                        old.get("quoting"),
                    )
                    && lenient_eq("freshness", s.freshness.as_ref(), old.get("freshness"))
                    && lenient_eq("external", s.external.as_ref(), old.get("external"))
                    && old.get("loaded_at_field").and_then(Value::as_str)
                        == s.loaded_at_field.as_deref()
            }
            Target::Exposure(e) => {
                let deps: BTreeSet<&str> = e.depends_on_nodes.iter().map(String::as_str).collect();
                let old_deps: BTreeSet<&str> = old
                    .pointer("/depends_on/nodes")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                self.same("modified.configs", t, old)
                    && get_str(old, &["type"]) == Some(e.kind.as_str())
                    && old.get("owner") == Some(&Value::Object(e.owner.clone()))
                    && get_str(old, &["maturity"]) == e.maturity.as_deref()
                    && get_str(old, &["url"]) == e.url.as_deref()
                    && get_str(old, &["description"]).unwrap_or_default() == e.description
                    && get_str(old, &["label"]) == e.label.as_deref()
                    && deps == old_deps
            }
        };
        !same || !self.same_fqn(t, old) || self.macros_changed(t)
    }

    fn same_fqn(&self, t: Target<'_>, old: &Value) -> bool {
        let fqn = match t {
            Target::Node(n) => &n.fqn,
            Target::Source(s) => &s.fqn,
            Target::Exposure(e) => &e.fqn,
        };
        old.get("fqn").is_none_or(|f| *f == json!(fqn))
    }

    fn same(&self, check: &str, t: Target<'_>, old: &Value) -> bool {
        match (check, t) {
            ("modified.body", Target::Node(n)) => same_body(n, old),
            ("modified.configs", Target::Node(n)) => same_config(&n.config, old.get("config")),
            ("modified.configs", Target::Source(s)) => same_config(&s.config, old.get("config")),
            ("modified.configs", Target::Exposure(e)) => same_config(&e.config, old.get("config")),
            ("modified.relation", Target::Node(n)) => {
                ["database", "schema", "alias"].iter().all(|k| {
                    let before = old.get("config").and_then(|c| c.get(*k));
                    lenient_eq(k, n.config.get(*k), before)
                })
            }
            ("modified.relation", Target::Source(s)) => {
                get_str(old, &["database"]) == Some(s.database.as_str())
                    && get_str(old, &["schema"]) == Some(s.schema.as_str())
                    && get_str(old, &["identifier"]) == Some(s.identifier.as_str())
            }
            ("modified.persisted_descriptions", Target::Node(n)) => same_persisted(n, old),
            ("modified.contract", Target::Node(n)) => same_contract(n, old),
            _ => true,
        }
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

/// Which sub-selectors apply to which kind of resource (as in dbt: sources and exposures have
/// no body, macros, contract or persisted descriptions).
fn supports(check: &str, t: Target<'_>) -> bool {
    match t {
        Target::Node(_) => true,
        Target::Source(_) => matches!(check, "modified.configs" | "modified.relation"),
        Target::Exposure(_) => check == "modified.configs",
    }
}

fn same_body(n: &Node, old: &Value) -> bool {
    let before = get_str(old, &["checksum", "checksum"]).unwrap_or_default();
    if !n.checksum.is_empty() && !before.is_empty() {
        return n.checksum == before;
    }
    get_str(old, &["raw_code"]).is_some_and(|raw| raw == n.raw_code)
}

fn same_persisted(n: &Node, old: &Value) -> bool {
    let persist = n.config.get("persist_docs");
    if truthy(persist.and_then(|p| p.get("relation")))
        && get_str(old, &["description"]).unwrap_or_default() != n.description
    {
        return false;
    }
    if truthy(persist.and_then(|p| p.get("columns"))) {
        let ours: Vec<(&str, &str)> = n
            .columns
            .values()
            .map(|c| (c.name.as_str(), c.description.as_str()))
            .filter(|(_, d)| !d.is_empty())
            .collect();
        let theirs: Vec<(&str, &str)> = old
            .get("columns")
            .and_then(Value::as_object)
            .map(|cols| {
                cols.values()
                    .filter_map(|c| {
                        Some((
                            c.get("name")?.as_str()?,
                            get_str(c, &["description"]).unwrap_or_default(),
                        ))
                    })
                    .filter(|(_, d)| !d.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let sorted = |mut v: Vec<(&'_ str, &'_ str)>| {
            v.sort_unstable();
            v.into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        if sorted(ours) != sorted(theirs) {
            return false;
        }
    }
    true
}

/// An enforced contract: sorted columns (name, data type, constraints), plus the materialization
/// and model constraints where the materialization enforces them, as dbt's contract checksum.
fn same_contract(n: &Node, old: &Value) -> bool {
    if n.resource_type != ResourceType::Model {
        return true;
    }
    let enforced_now = truthy(n.config.get("contract").and_then(|c| c.get("enforced")));
    let enforced_before = truthy(old.pointer("/config/contract/enforced"))
        || truthy(old.pointer("/contract/enforced"));
    match (enforced_before, enforced_now) {
        (false, false) => return true,
        (false, true) | (true, false) => return false,
        (true, true) => {}
    }
    let ours: Vec<Value> = {
        let mut cols: Vec<_> = n.columns.values().collect();
        cols.sort_by(|a, b| a.name.cmp(&b.name));
        cols.iter()
            .map(|c| json!([c.name, c.data_type, c.constraints]))
            .collect()
    };
    let theirs: Vec<Value> = {
        let mut cols: Vec<&Value> = old
            .get("columns")
            .and_then(Value::as_object)
            .map(|m| m.values().collect())
            .unwrap_or_default();
        cols.sort_by_key(|c| get_str(c, &["name"]).unwrap_or_default().to_string());
        cols.iter()
            .map(|c| {
                json!([
                    c.get("name").cloned().unwrap_or(Value::Null),
                    c.get("data_type").cloned().unwrap_or(Value::Null),
                    c.get("constraints").cloned().unwrap_or(json!([]))
                ])
            })
            .collect()
    };
    if ours != theirs {
        return false;
    }
    let enforces = matches!(n.materialized(), "table" | "incremental");
    !enforces
        || (get_str(old, &["config", "materialized"]) == Some(n.materialized())
            && old.get("constraints").cloned().unwrap_or(json!([])) == json!(n.constraints))
}
