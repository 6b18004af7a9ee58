//! A node's dict (model, seed, snapshot, analysis, test, and the `operation` nodes of hooks) as
//! dbt's manifest writes it, serialised straight from the node.

use super::config::{
    FullConfig, default_contract, default_docs, merged_config_get, str_list, unrendered_config,
};
use super::contract::{constraint_json, contract_checksum};
use super::facts::ProjectFacts;
use super::python::py_config_value;
use super::{CREATED_AT, default_config_for};
use crate::project::config;
use crate::project::{ColumnInfo, Compiled, Node, Project, RefCall, ResourceType};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub fn node_json(n: &Node, facts: &ProjectFacts<'_>) -> Value {
    serde_json::to_value(NodeDict::new(n, facts)).unwrap_or(Value::Null)
}

/// One field's value, borrowed from the node where it can be: a 10,000-model manifest is written
/// straight from the nodes, without building a `Value` tree per node first.
pub(super) enum Field<'a> {
    Str(&'a str),
    Strs(&'a [String]),
    Val(Value),
    Config(&'a Node),
    Columns(&'a indexmap::IndexMap<String, ColumnInfo>),
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Str(v) => s.serialize_str(v),
            Field::Strs(v) => v.serialize(s),
            Field::Val(v) => v.serialize(s),
            Field::Config(n) => FullConfig(n).serialize(s),
            Field::Columns(columns) => ColumnsDict(columns).serialize(s),
        }
    }
}

/// A node's or source's `columns`: name → column.
pub(super) struct ColumnsDict<'a>(pub &'a indexmap::IndexMap<String, ColumnInfo>);

impl Serialize for ColumnsDict<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, c) in self.0 {
            map.serialize_entry(name, &ColumnDict(c))?;
        }
        map.end()
    }
}

/// A column as dbt writes it in the `columns` of a node or source.
struct ColumnDict<'a>(&'a ColumnInfo);

impl Serialize for ColumnDict<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut map = s.serialize_map(Some(11))?;
        map.serialize_entry("name", &c.name)?;
        map.serialize_entry("description", &c.description)?;
        map.serialize_entry("meta", &c.meta)?;
        map.serialize_entry("data_type", &c.data_type)?;
        if c.constraints.is_empty() {
            map.serialize_entry("constraints", &[] as &[Value])?;
        } else {
            let list: Vec<Value> = c
                .constraints
                .iter()
                .map(|k| constraint_json(k, false))
                .collect();
            map.serialize_entry("constraints", &list)?;
        }
        map.serialize_entry("quote", &c.quote)?;
        map.serialize_entry("config", &json!({ "meta": c.meta, "tags": c.tags }))?;
        map.serialize_entry("tags", &c.tags)?;
        map.serialize_entry("granularity", &c.granularity)?;
        map.serialize_entry("doc_blocks", &c.doc_blocks)?;
        map.end()
    }
}

/// A node's dict: its fields in dbt's order, borrowed from the node where they can be.
pub struct NodeDict<'a> {
    fields: Vec<(&'static str, Field<'a>)>,
}

impl Serialize for NodeDict<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'a> NodeDict<'a> {
    pub fn new(n: &'a Node, facts: &ProjectFacts<'a>) -> Self {
        use Field::{Columns, Config, Str, Strs, Val};
        let rt = n.resource_type;
        let config_get = |k: &str| merged_config_get(n, k);
        let opt = |s: &'a Option<String>| s.as_deref().map_or(Val(Value::Null), Str);
        let mut f: Vec<(&'static str, Field<'a>)> = Vec::with_capacity(48);
        f.push(("database", Str(&n.database)));
        f.push(("schema", Str(&n.schema)));
        f.push(("name", Str(&n.name)));
        f.push(("resource_type", Str(rt.as_str())));
        f.push(("package_name", Str(&n.package_name)));
        f.push(("path", Str(&n.path)));
        f.push(("original_file_path", Str(&n.original_file_path)));
        f.push(("unique_id", Str(&n.unique_id)));
        f.push(("fqn", Strs(&n.fqn)));
        f.push(("alias", Str(&n.alias)));
        f.push(("checksum", Val(checksum_json(&n.checksum))));
        f.push(("config", Config(n)));
        f.push(("tags", Val(Value::from(n.tags()))));
        f.push(("description", Str(&n.description)));
        f.push(("columns", Columns(&n.columns)));
        f.push(("meta", Val(Value::Object(n.meta()))));
        f.push(("group", Val(config_get("group").unwrap_or(Value::Null))));
        f.push(("docs", Val(config_get("docs").unwrap_or_else(default_docs))));
        f.push(("patch_path", opt(&n.patch_path)));
        f.push((
            "build_path",
            Val(facts
                .built
                .contains(n.unique_id.as_str())
                .then(|| build_path(n, &facts.target_path()))
                .map_or(Value::Null, Value::from)),
        ));
        f.push((
            "unrendered_config",
            Val(Value::Object(unrendered_config(n, facts))),
        ));
        f.push(("created_at", Val(json!(CREATED_AT))));
        f.push(("relation_name", opt(&n.relation_name)));
        f.push(("raw_code", raw_code(n)));
        f.push(("doc_blocks", Strs(&n.doc_blocks)));

        // Seeds are not compiled: they end with where their data lives and the macros they use.
        if rt == ResourceType::Seed {
            // dbt writes the absolute path of the seed's project (a package's folder for its
            // seeds).
            let root_path = match facts.project.and_then(|p| p.package(&n.package_name)) {
                Some(pkg) => facts.root_path.as_deref().map(|root| {
                    std::path::Path::new(root)
                        .join(&pkg.shown_dir)
                        .display()
                        .to_string()
                }),
                None => facts.root_path.clone(),
            };
            f.push(("root_path", Val(opt_str(root_path.as_deref()))));
            f.push(("depends_on", Val(json!({ "macros": n.depends_on_macros }))));
            return NodeDict { fields: f };
        }

        f.push(("language", Str("sql")));
        f.push((
            "refs",
            Val(Value::Array(n.refs.iter().map(ref_json).collect())),
        ));
        f.push(("sources", Val(sources_list(&n.sources))));
        f.push(("metrics", Val(json!([]))));
        f.push(("functions", Val(json!([]))));
        f.push((
            "depends_on",
            Val(json!({ "macros": depends_on_macros(n, facts), "nodes": facts.depends_on_of(&n.unique_id) })),
        ));
        match facts.compiled_of(&n.unique_id) {
            Some(Compiled { code, ctes, .. }) => {
                // dbt writes no compiled file for a snapshot (its SQL goes straight into the
                // snapshot statements).
                let path = (rt != ResourceType::Snapshot)
                    .then(|| Value::from(compiled_path(n, &facts.target_path())));
                f.push(("compiled_path", Val(path.unwrap_or(Value::Null))));
                f.push(("compiled", Val(Value::Bool(true))));
                f.push(("compiled_code", Str(code)));
                f.push(("extra_ctes_injected", Val(Value::Bool(true))));
                let ctes: Vec<Value> = ctes
                    .iter()
                    .map(|(name, sql)| {
                        let id = facts.cte_ids.get(name).cloned().unwrap_or_else(|| {
                            let bare = name.trim_start_matches("__dbt__cte__");
                            format!("model.{}.{bare}", n.package_name)
                        });
                        json!({ "id": id, "sql": format!(" {name} as (\n{sql}\n)") })
                    })
                    .collect();
                f.push(("extra_ctes", Val(Value::Array(ctes))));
            }
            None => f.push(("compiled_path", Val(Value::Null))),
        }
        let contract = config_get("contract").unwrap_or_else(default_contract);
        let enforced = contract
            .get("enforced")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        f.push((
            "contract",
            Val(json!({
                "enforced": enforced,
                "alias_types": contract.get("alias_types").and_then(Value::as_bool).unwrap_or(true),
                "checksum": enforced.then(|| contract_checksum(n)),
            })),
        ));

        if rt == ResourceType::Model {
            f.push((
                "access",
                Val(config_get("access").unwrap_or_else(|| Value::from("protected"))),
            ));
            f.push((
                "constraints",
                Val(Value::Array(
                    n.constraints
                        .iter()
                        .map(|c| constraint_json(c, true))
                        .collect(),
                )),
            ));
            f.push(("version", Val(version_json(n.version.as_deref()))));
            f.push((
                "latest_version",
                Val(version_json(n.latest_version.as_deref())),
            ));
            f.push(("deprecation_date", opt(&n.deprecation_date)));
            f.push(("primary_key", Val(Value::from(primary_key(n, facts)))));
            let time_spine = facts
                .project
                .and_then(|p| p.time_spines.get(&n.unique_id))
                .cloned()
                .unwrap_or(Value::Null);
            f.push(("time_spine", Val(time_spine)));
        }
        if let Some(t) = &n.test {
            f.push(("column_name", opt(&t.column_name)));
            f.push(("file_key_name", Str(&t.file_key_name)));
            // dbt attaches a generic test to the model, seed or snapshot it tests; a source's
            // tests have none.
            let attached = t
                .attached_node
                .as_deref()
                .filter(|id| !id.starts_with("source."));
            f.push(("attached_node", attached.map_or(Val(Value::Null), Str)));
            f.push((
                "test_metadata",
                Val(json!({
                    "name": t.name,
                    "kwargs": t.kwargs,
                    "namespace": t.namespace,
                })),
            ));
        }
        NodeDict { fields: f }
    }
}

/// `depends_on.macros`. dbt's parser does not render the arguments of its own `unique` and
/// `not_null` tests (a shortcut for the two most common tests), so until such a test is compiled
/// it lists only its test macro, not `get_where_subquery`.
fn depends_on_macros<'n>(n: &'n Node, facts: &ProjectFacts<'_>) -> &'n [String] {
    let shortcut = n
        .test
        .as_ref()
        .is_some_and(|t| t.namespace.is_none() && matches!(t.name.as_str(), "unique" | "not_null"))
        && n.depends_on_macros
            .first()
            .is_some_and(|m| m.starts_with("macro.dbt.test_"));
    match facts.compiled_of(&n.unique_id) {
        None if shortcut => &n.depends_on_macros[..1],
        _ => &n.depends_on_macros,
    }
}

/// `raw_code` as dbt writes it: a file's text stripped of surrounding whitespace (dbt strips
/// every file it reads); a snapshot's block as it stands; a generic test's macro call followed
/// by a `config()` call with the test's own configs.
pub(super) fn raw_code(n: &Node) -> Field<'_> {
    if n.resource_type == ResourceType::Snapshot {
        return Field::Str(&n.raw_code);
    }
    if n.test.is_none() || n.unrendered_config.is_empty() {
        return Field::Str(n.raw_code.trim());
    }
    // dbt's order: the config keys a test may set at its top level, in dbt's list's order, then
    // the others; a hashed `alias` (the only config kiln adds itself) last.
    let generated_alias = n.name != n.alias
        && n.unrendered_config.get("alias").and_then(Value::as_str) == Some(n.alias.as_str());
    let args = crate::project::generic_tests::CONFIG_ARGS;
    let from_macro = n
        .test
        .as_ref()
        .map_or(&[][..], |t| t.macro_config.as_slice());
    let mut keys: Vec<&String> = n
        .unrendered_config
        .keys()
        .filter(|k| !(generated_alias && k.as_str() == "alias"))
        .filter(|k| !from_macro.contains(k))
        .collect();
    keys.sort_by_key(|k| args.iter().position(|a| a == k).unwrap_or(args.len()));
    if generated_alias {
        keys.extend(n.unrendered_config.get_key_value("alias").map(|(k, _)| k));
    }
    let configs: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let v = n.unrendered_config.get(*k)?;
            (!v.is_null()).then(|| format!("{k}={}", py_config_value(v)))
        })
        .collect();
    if configs.is_empty() {
        return Field::Str(n.raw_code.trim());
    }
    Field::Val(Value::from(format!(
        "{}{{{{ config({}) }}}}",
        n.raw_code.trim(),
        configs.join(",")
    )))
}

/// `target/compiled/<package>/<file>`; a generic test is written under its YAML file's path.
fn compiled_path(n: &Node, target_path: &str) -> String {
    artifact_path(n, target_path, "compiled")
}

/// `target/run/<package>/<file>`, where a run writes the statements it executed for the node.
fn build_path(n: &Node, target_path: &str) -> String {
    artifact_path(n, target_path, "run")
}

fn artifact_path(n: &Node, target_path: &str, kind: &str) -> String {
    let base = format!(
        "{}/{kind}/{}/{}",
        target_path.trim_end_matches('/'),
        n.package_name,
        n.original_file_path
    );
    if n.test.is_some() {
        format!("{base}/{}", n.path)
    } else {
        base
    }
}

pub fn checksum_json(sha256: &str) -> Value {
    if sha256.is_empty() {
        json!({ "name": "none", "checksum": "" })
    } else {
        json!({ "name": "sha256", "checksum": sha256 })
    }
}

/// `on-run-start` / `on-run-end` hooks from dbt_project.yml, as dbt's `operation` nodes
/// (`operation.<project>.<project>-on-run-start-0`).
pub fn hook_nodes(project: &Project) -> Vec<(String, Value)> {
    let mut out = vec![];
    for (kind, hooks) in [
        ("on-run-start", project.run_hooks(true)),
        ("on-run-end", project.run_hooks(false)),
    ] {
        for hook in &hooks {
            let (package, i, sql) = (&hook.package, hook.index, &hook.sql);
            let name = format!("{package}-{kind}-{i}");
            let id = format!("operation.{package}.{name}");
            let config = default_config_for(ResourceType::Model);
            let hook = json!({
                "database": project.target.database,
                "schema": project.target.schema,
                "name": name,
                "resource_type": "operation",
                "package_name": package,
                "path": format!("hooks/{name}.sql"),
                "original_file_path": "./dbt_project.yml",
                "unique_id": id,
                "fqn": [package.clone(), "hooks".to_string(), name.clone()],
                "alias": name,
                "checksum": checksum_json(&crate::project::sha256_hex(sql.as_bytes())),
                "config": config,
                "tags": [kind],
                "description": "",
                "columns": {},
                "meta": {},
                "group": null,
                "docs": default_docs(),
                "patch_path": null,
                "build_path": null,
                "unrendered_config": {},
                "created_at": CREATED_AT,
                "relation_name": null,
                "raw_code": sql,
                "doc_blocks": [],
                "language": "sql",
                "refs": [],
                "sources": [],
                "metrics": [],
                "depends_on": {"macros": [], "nodes": []},
                "compiled_path": null,
                "contract": {"enforced": false, "alias_types": true, "checksum": null},
                "index": i,
            });
            out.push((id, hook));
        }
    }
    out
}

pub(super) fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

/// dbt's node versions are numbers when written as numbers (`v: 2`), strings otherwise.
pub(super) fn version_json(v: Option<&str>) -> Value {
    let Some(v) = v else { return Value::Null };
    if let Ok(i) = v.parse::<i64>() {
        return Value::from(i);
    }
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() => Value::from(f),
        _ => Value::from(v),
    }
}

pub(super) fn ref_json(r: &RefCall) -> Value {
    json!({
        "name": r.name,
        "package": r.package,
        "version": version_json(r.version.as_deref()),
    })
}

pub(super) fn sources_list(sources: &[(String, String)]) -> Value {
    Value::Array(
        sources
            .iter()
            .map(|(s, t)| json!([s, t]))
            .collect::<Vec<_>>(),
    )
}

/// dbt's inferred primary key: a `primary_key` constraint (model, then column level); else the
/// columns with both `unique` and `not_null` tests; else the columns with `unique` tests
/// (enabled before disabled). `unique_combination_of_columns` counts as `unique`.
fn primary_key(n: &Node, facts: &ProjectFacts<'_>) -> Vec<String> {
    let is_pk = |c: &Value| c.get("type").and_then(Value::as_str) == Some("primary_key");
    if let Some(c) = n.constraints.iter().find(|c| is_pk(c)) {
        return c.get("columns").map(str_list).unwrap_or_default();
    }
    if let Some((name, _)) = n
        .columns
        .iter()
        .find(|(_, c)| c.constraints.iter().any(is_pk))
    {
        return vec![name.clone()];
    }
    let mut unique_enabled = BTreeSet::new();
    let mut unique_disabled = BTreeSet::new();
    let mut not_null = BTreeSet::new();
    for test in facts
        .tests_of
        .get(n.unique_id.as_str())
        .into_iter()
        .flatten()
    {
        let Some(t) = &test.test else { continue };
        let columns = match (
            t.kwargs.get("column_name"),
            t.kwargs.get("combination_of_columns"),
        ) {
            (Some(Value::String(c)), _) => vec![c.clone()],
            (_, Some(cols @ Value::Array(_))) => str_list(cols),
            _ => continue,
        };
        for column in columns {
            match t.name.as_str() {
                "unique" | "unique_combination_of_columns" => {
                    if config::is_enabled(&test.config) {
                        unique_enabled.insert(column);
                    } else {
                        unique_disabled.insert(column);
                    }
                }
                "not_null" => {
                    not_null.insert(column);
                }
                _ => {}
            }
        }
    }
    let both: Vec<String> = not_null
        .into_iter()
        .filter(|c| unique_enabled.contains(c) || unique_disabled.contains(c))
        .collect();
    if !both.is_empty() {
        return both;
    }
    if !unique_enabled.is_empty() {
        return unique_enabled.into_iter().collect();
    }
    unique_disabled.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbers_when_numeric() {
        assert_eq!(version_json(Some("2")), json!(2));
        assert_eq!(version_json(Some("1.5")), json!(1.5));
        assert_eq!(version_json(Some("beta")), json!("beta"));
        assert_eq!(version_json(None), Value::Null);
    }
}
