//! catalog.json (dbt's schema v1): what the warehouse says about each model, seed, snapshot and
//! source relation: its kind, comment and owner, and its columns with their types, positions
//! and comments. Made from the adapter's catalog rows ([`CatalogColumn`], one per column) matched
//! to the project's relations as dbt matches them: by database, schema and identifier, lower
//! case. A relation the warehouse does not have yet is left out (and reported by the caller).

use crate::adapter::CatalogColumn;
use crate::project::{Node, Project, ResourceType, SourceNode};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

pub const CATALOG_SCHEMA: &str = "https://schemas.getdbt.com/dbt/catalog/v1.json";

/// The invocation writing the file.
#[derive(Debug, Clone)]
pub struct CatalogMeta {
    pub invocation_id: String,
    pub invocation_started_at: chrono::DateTime<chrono::Utc>,
}

/// A relation catalog.json can describe: (database, schema, identifier), lower case.
type Key = (String, String, String);

fn key(database: &str, schema: &str, identifier: &str) -> Key {
    (
        database.to_lowercase(),
        schema.to_lowercase(),
        identifier.to_lowercase(),
    )
}

/// Whether a node has a relation of its own in the warehouse: models (not ephemeral), seeds and
/// snapshots (dbt's `is_relational and not is_ephemeral_model`).
pub fn catalogable(n: &Node) -> bool {
    matches!(
        n.resource_type,
        ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
    ) && !n.is_ephemeral()
}

/// What catalog.json is made from: the nodes and sources to describe (all of them, or those
/// `--select` chose) and the warehouse's rows for their schemas.
pub struct CatalogInput<'a> {
    pub nodes: Vec<&'a Node>,
    pub sources: Vec<&'a SourceNode>,
}

impl<'a> CatalogInput<'a> {
    /// The catalogable nodes and the sources of `project`, limited to `selected` when given.
    pub fn of(project: &'a Project, selected: Option<&BTreeSet<String>>) -> CatalogInput<'a> {
        let keep = |id: &str| selected.is_none_or(|s| s.contains(id));
        CatalogInput {
            nodes: project
                .nodes
                .values()
                .filter(|n| catalogable(n) && keep(&n.unique_id))
                .map(|n| n.as_ref())
                .collect(),
            sources: project
                .sources
                .values()
                .filter(|s| keep(&s.unique_id))
                .collect(),
        }
    }

    /// The (database, schema) pairs to ask the warehouse about, as the project spells them.
    pub fn schemas(&self) -> Vec<(String, String)> {
        let mut seen = BTreeMap::new();
        let pairs = self
            .nodes
            .iter()
            .map(|n| (&n.database, &n.schema))
            .chain(self.sources.iter().map(|s| (&s.database, &s.schema)));
        for (d, s) in pairs {
            seen.entry((d.to_lowercase(), s.to_lowercase()))
                .or_insert_with(|| (d.clone(), s.clone()));
        }
        seen.into_values().collect()
    }
}

/// The catalog document, and the unique_ids of the selected relations the warehouse does not
/// have (in unique_id order).
pub struct Catalog {
    pub json: Value,
    pub missing: Vec<String>,
}

/// One relation's entry, without its unique_id.
fn table_json(columns: &[&CatalogColumn]) -> Map<String, Value> {
    let first = columns[0];
    let mut cols = Map::new();
    for c in columns {
        cols.insert(
            c.column.clone(),
            json!({"type": c.data_type, "index": c.index, "name": c.column, "comment": c.comment}),
        );
    }
    let mut table = Map::new();
    table.insert(
        "metadata".into(),
        json!({
            "type": first.table_type,
            "schema": first.schema,
            "name": first.table,
            "database": first.database,
            "comment": first.table_comment,
            "owner": first.table_owner,
        }),
    );
    table.insert("columns".into(), Value::Object(cols));
    // dbt keeps the stats an adapter reports with `include: true` and always adds `has_stats`;
    // DuckDB's catalog query reports none, Glue's tables some (`CatalogColumn::table_stats`).
    let mut stats = Map::new();
    for st in &first.table_stats {
        stats.insert(
            st.id.clone(),
            json!({
                "id": st.id,
                "label": st.label,
                "value": st.value,
                "include": true,
                "description": st.description,
            }),
        );
    }
    stats.insert(
        "has_stats".into(),
        json!({
            "id": "has_stats",
            "label": "Has Stats?",
            "value": !first.table_stats.is_empty(),
            "include": false,
            "description": "Indicates whether there are statistics for this table",
        }),
    );
    table.insert("stats".into(), Value::Object(stats));
    table
}

/// Adds kiln's PII classification (`target/pii.json`) to catalog.json as a stat of each table
/// holding PII: `{"id": "pii", "label": "PII", "value": "email (email), full_name (name)", ...}`
/// (catalog v1 allows any stat; columns have no place for it). `has_stats` becomes true, as dbt
/// sets it when a table has stats. Pseudonymised columns are not PII and are not listed.
pub fn add_pii_stats(catalog: &mut Value, pii: &crate::schemas::pii::PiiArtifact) {
    use crate::schemas::pii::PiiStatus;
    for group in ["nodes", "sources"] {
        let Some(tables) = catalog.get_mut(group).and_then(Value::as_object_mut) else {
            continue;
        };
        for (id, table) in tables.iter_mut() {
            let Some(node) = pii.nodes.get(id) else {
                continue;
            };
            let held: Vec<String> = node
                .columns
                .iter()
                .filter(|(_, c)| c.status == PiiStatus::Pii)
                .map(|(name, c)| format!("{name} ({})", c.kinds.join(", ")))
                .collect();
            if held.is_empty() {
                continue;
            }
            let Some(stats) = table.get_mut("stats").and_then(Value::as_object_mut) else {
                continue;
            };
            stats.insert(
                "pii".into(),
                json!({
                    "id": "pii",
                    "label": "PII",
                    "value": held.join(", "),
                    "include": true,
                    "description": "Columns holding personal data, from kiln's PII classification (target/pii.json)",
                }),
            );
            if let Some(has) = stats.get_mut("has_stats") {
                has["value"] = Value::Bool(true);
            }
        }
    }
}

/// Builds catalog.json from the warehouse's `rows` (in the warehouse's order: schema, relation,
/// column). `skip_missing` names sources that are never relations (read from files), so they
/// are not reported missing.
pub fn catalog_json(
    input: &CatalogInput<'_>,
    rows: &[CatalogColumn],
    meta: &CatalogMeta,
    errors: Option<Vec<String>>,
    is_relation: impl Fn(&SourceNode) -> bool,
) -> Catalog {
    // Rows grouped by relation, in the order they came.
    let mut order: Vec<Key> = vec![];
    let mut tables: BTreeMap<Key, Vec<&CatalogColumn>> = BTreeMap::new();
    for r in rows {
        let k = key(&r.database, &r.schema, &r.table);
        let entry = tables.entry(k.clone()).or_default();
        if entry.is_empty() {
            order.push(k);
        }
        entry.push(r);
    }
    let mut node_of: BTreeMap<Key, &str> = BTreeMap::new();
    for n in &input.nodes {
        node_of.insert(key(&n.database, &n.schema, &n.alias), &n.unique_id);
    }
    let mut sources_of: BTreeMap<Key, Vec<&str>> = BTreeMap::new();
    for s in &input.sources {
        sources_of
            .entry(key(&s.database, &s.schema, &s.identifier))
            .or_default()
            .push(&s.unique_id);
    }
    let mut nodes = Map::new();
    let mut sources = Map::new();
    for k in &order {
        let columns = &tables[k];
        if let Some(id) = node_of.get(k) {
            let mut t = table_json(columns);
            t.insert("unique_id".into(), json!(id));
            nodes.insert(id.to_string(), Value::Object(t));
        }
        for id in sources_of.get(k).into_iter().flatten() {
            let mut t = table_json(columns);
            t.insert("unique_id".into(), json!(id));
            sources.insert(id.to_string(), Value::Object(t));
        }
    }
    let mut missing: Vec<String> = input
        .nodes
        .iter()
        .filter(|n| !nodes.contains_key(&n.unique_id))
        .map(|n| n.unique_id.clone())
        .chain(
            input
                .sources
                .iter()
                .filter(|s| is_relation(s) && !sources.contains_key(&s.unique_id))
                .map(|s| s.unique_id.clone()),
        )
        .collect();
    missing.sort();
    let stamp = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let json = json!({
        "metadata": {
            "dbt_schema_version": CATALOG_SCHEMA,
            "dbt_version": crate::DBT_COMPAT_VERSION,
            "generated_at": stamp(&chrono::Utc::now()),
            "invocation_id": meta.invocation_id,
            "invocation_started_at": stamp(&meta.invocation_started_at),
            "env": {},
        },
        "nodes": nodes,
        "sources": sources,
        "errors": errors,
    });
    Catalog { json, missing }
}

/// The document's text as dbt writes it (Python's `json.dumps`, one line).
pub fn to_text(catalog: &Value) -> String {
    let mut out = String::new();
    crate::events::pyjson::write(catalog, &mut out);
    out
}
