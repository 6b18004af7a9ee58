//! Which relations hold the subjects: every column derived from the subject key's columns through
//! the column lineage (DIRECT edges, IDENTITY or TRANSFORMATION: copies, trims, casts), and what
//! kiln does with each relation that holds one.
//!
//! A value that went through a masking function (a keyed hash) is another value: such columns are
//! listed as holding the key's hash, to be erased by the hash (`key:` naming the hashed column),
//! not followed. Nodes downstream of a holder whose lineage is incomplete are listed as unknown,
//! never silently skipped.

use super::config::{ColumnRef, RelationRef};
use crate::error::{Diagnostic, Error};
use crate::graph::Graph;
use crate::project::{Project, ResourceType};
use crate::schemas::lineage::{NodeLineage, Subtype, TransformationType};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// What kiln does with a relation that holds subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderKind {
    /// A seed's table: deleted from, and the CSV rows reported (the next `kiln seed` would load
    /// them again).
    Seed,
    /// A snapshot: its whole history deleted.
    Snapshot,
    /// An incremental model: deleted from (a rebuild would not forget them).
    Incremental,
    /// A table model: deleted from.
    Table,
    /// A view: nothing to delete; it shows what its upstreams hold.
    View,
    /// A source: kiln does not manage it. "outside kiln: erase upstream".
    Source,
}

impl HolderKind {
    pub fn deletes(self) -> bool {
        matches!(
            self,
            HolderKind::Seed | HolderKind::Snapshot | HolderKind::Incremental | HolderKind::Table
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            HolderKind::Seed => "seed",
            HolderKind::Snapshot => "snapshot",
            HolderKind::Incremental => "incremental",
            HolderKind::Table => "table",
            HolderKind::View => "view",
            HolderKind::Source => "source",
        }
    }
}

/// One relation that holds subjects, and its columns that hold the key.
#[derive(Debug, Clone)]
pub struct Holder {
    pub unique_id: String,
    /// `model name`, `source_name.table`.
    pub name: String,
    pub kind: HolderKind,
    /// The relation as SQL names it.
    pub relation: String,
    /// database, schema, identifier (to ask whether it is built).
    pub parts: (String, String, String),
    pub columns: Vec<String>,
    /// A seed's CSV file.
    pub csv: Option<(PathBuf, char)>,
}

/// What [`find`] found.
#[derive(Debug, Default)]
pub struct Found {
    /// In DAG order (sources first).
    pub holders: Vec<Holder>,
    /// Columns holding the key's hash: (node name, column).
    pub hashed: Vec<(String, String)>,
    /// When the key is itself a keyed hash: the columns it hashes (node name, column), which
    /// hold the subjects' raw values and are erased by the raw key, not by the hash.
    pub hashed_from: Vec<(String, String)>,
    /// Nodes downstream of a holder whose lineage cannot say whether they hold the key:
    /// (unique_id, why).
    pub unknown: Vec<(String, String)>,
    /// Tables downstream of a holder that do not hold the key but are built from its rows
    /// (counts, aggregates): rebuilt after the delete.
    pub rebuild: Vec<String>,
    /// Incremental models downstream that do not hold the key: a rebuild needs --full-refresh.
    pub full_refresh: Vec<String>,
}

/// The unique_id of a configured relation.
pub fn resolve(project: &Project, r: &RelationRef) -> Result<String, Error> {
    match r {
        RelationRef::Node(name) => {
            let found = project.nodes.values().find(|n| {
                n.name == *name
                    && matches!(
                        n.resource_type,
                        ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
                    )
            });
            found.map(|n| n.unique_id.clone()).ok_or_else(|| {
                let names = project
                    .nodes
                    .values()
                    .filter(|n| n.resource_type != ResourceType::Test)
                    .map(|n| n.name.as_str());
                let mut d = Diagnostic::error(
                    "erase-config",
                    format!("kiln erase: `{name}` (vars.kiln.erase or --key) is no model, seed or snapshot"),
                )
                .in_file(project.dir.join("dbt_project.yml"));
                if let Some(s) = crate::error::suggest::closest(name, names, 3) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                d.into()
            })
        }
        RelationRef::Source(s, t) => project
            .sources
            .values()
            .find(|x| x.source_name == *s && x.name == *t)
            .map(|x| x.unique_id.clone())
            .ok_or_else(|| {
                let names: Vec<String> = project
                    .sources
                    .values()
                    .map(|x| format!("{}.{}", x.source_name, x.name))
                    .collect();
                let mut d = Diagnostic::error(
                    "erase-config",
                    format!("kiln erase: source('{s}', '{t}') (vars.kiln.erase or --key) is not declared"),
                )
                .in_file(project.dir.join("dbt_project.yml"));
                let wanted = format!("{s}.{t}");
                if let Some(c) =
                    crate::error::suggest::closest(&wanted, names.iter().map(String::as_str), 3)
                {
                    d = d.with_help(format!("did you mean `{c}`?"));
                }
                d.into()
            }),
    }
}

/// The holder for `id` (a node or a source), or None for a node with no relation (ephemeral).
pub fn holder_of(project: &Project, id: &str, columns: Vec<String>) -> Option<Holder> {
    if let Some(n) = project.nodes.get(id) {
        let kind = match n.resource_type {
            ResourceType::Seed => HolderKind::Seed,
            ResourceType::Snapshot => HolderKind::Snapshot,
            ResourceType::Model => match n.materialized() {
                "incremental" => HolderKind::Incremental,
                "table" => HolderKind::Table,
                "view" | "materialized_view" => HolderKind::View,
                _ => return None,
            },
            _ => return None,
        };
        let csv = (kind == HolderKind::Seed).then(|| {
            let delimiter = n.settings.seed.as_ref().map_or(',', |s| s.delimiter);
            (n.file.clone(), delimiter)
        });
        return Some(Holder {
            unique_id: id.to_string(),
            name: n.name.clone(),
            kind,
            relation: n.relation_name.clone()?,
            parts: (n.database.clone(), n.schema.clone(), n.alias.clone()),
            columns,
            csv,
        });
    }
    let s = project.sources.get(id)?;
    Some(Holder {
        unique_id: id.to_string(),
        name: format!("{}.{}", s.source_name, s.name),
        kind: HolderKind::Source,
        relation: s.relation_name.clone(),
        parts: (s.database.clone(), s.schema.clone(), s.identifier.clone()),
        columns,
        csv: None,
    })
}

/// Follows the key columns through the lineage.
pub fn find(
    project: &Project,
    graph: &Graph,
    lineage: &BTreeMap<String, NodeLineage>,
    keys: &[ColumnRef],
) -> Result<Found, Error> {
    // (upstream node, lower-cased column) -> (reader, its column, masked)
    let mut readers: BTreeMap<(&str, String), Vec<(&str, &str, bool)>> = BTreeMap::new();
    for (id, n) in lineage {
        for c in &n.columns {
            for i in &c.inputs {
                let direct = i.transformations.iter().any(|t| {
                    t.kind == TransformationType::Direct
                        && matches!(t.subtype, Subtype::Identity | Subtype::Transformation)
                });
                if !direct {
                    continue;
                }
                let masked = i.transformations.iter().any(|t| t.masking);
                readers
                    .entry((i.node.as_str(), i.column.to_lowercase()))
                    .or_default()
                    .push((id.as_str(), c.name.as_str(), masked));
            }
        }
    }
    let mut holding: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut hashed = BTreeSet::new();
    let mut queue: Vec<(String, String)> = vec![];
    let mut hashed_from = BTreeSet::new();
    for k in keys {
        let id = resolve(project, &k.relation)?;
        let inputs = lineage
            .get(&id)
            .and_then(|n| {
                n.columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(&k.column))
            })
            .map(|c| c.inputs.as_slice())
            .unwrap_or_default();
        for i in inputs
            .iter()
            .filter(|i| i.transformations.iter().any(|t| t.masking))
        {
            hashed_from.insert((display_name(project, &i.node), i.column.clone()));
        }
        // The column as the lineage or the warehouse spells it: its readers' spelling when known.
        queue.push((id, k.column.clone()));
    }
    while let Some((id, col)) = queue.pop() {
        let set = holding.entry(id.clone()).or_default();
        if !set.insert(col.clone()) {
            continue;
        }
        for (reader, rcol, masked) in readers
            .get(&(id.as_str(), col.to_lowercase()))
            .into_iter()
            .flatten()
        {
            if *masked {
                hashed.insert((display_name(project, reader), rcol.to_string()));
            } else {
                queue.push((reader.to_string(), rcol.to_string()));
            }
        }
    }
    // DAG order: sources, then nodes by their depth.
    let order = dag_order(graph, holding.keys().cloned().collect());
    let mut found = Found {
        hashed: hashed.into_iter().collect(),
        hashed_from: hashed_from.into_iter().collect(),
        ..Found::default()
    };
    for id in order {
        let columns: Vec<String> = holding.get(&id).into_iter().flatten().cloned().collect();
        if let Some(h) = holder_of(project, &id, columns) {
            found.holders.push(h);
        }
    }
    // Downstream of what holds the key: unknowns, and tables built from the holders' rows.
    let mut downstream = BTreeSet::new();
    for id in holding.keys() {
        downstream.extend(graph.descendants(id, None));
    }
    for id in dag_order(graph, downstream) {
        if holding.contains_key(&id) {
            continue;
        }
        let Some(n) = project.nodes.get(&id) else {
            continue;
        };
        if !matches!(
            n.resource_type,
            ResourceType::Model | ResourceType::Snapshot
        ) || n.is_ephemeral()
        {
            continue;
        }
        match lineage.get(&id) {
            Some(l) if l.complete => {}
            Some(l) => {
                let why: Vec<&str> = l.incomplete.iter().map(|r| r.reason.as_str()).collect();
                found.unknown.push((id.clone(), why.join("; ")));
            }
            None => found
                .unknown
                .push((id.clone(), "no column lineage was computed".to_string())),
        }
        match (n.resource_type, n.materialized()) {
            (ResourceType::Model, "table") => found.rebuild.push(id),
            (ResourceType::Model, "incremental") | (ResourceType::Snapshot, _) => {
                found.full_refresh.push(id)
            }
            _ => {}
        }
    }
    Ok(found)
}

/// A node's name, or a source's `source_name.table`.
fn display_name(project: &Project, id: &str) -> String {
    if let Some(n) = project.nodes.get(id) {
        return n.name.clone();
    }
    project.sources.get(id).map_or_else(
        || id.to_string(),
        |s| format!("{}.{}", s.source_name, s.name),
    )
}

/// `ids` ordered parents first (by the longest path from a root), then by unique_id.
fn dag_order(graph: &Graph, ids: BTreeSet<String>) -> Vec<String> {
    let mut keyed: Vec<(usize, String)> = ids
        .into_iter()
        .map(|id| (graph.ancestors(&id, None).len(), id))
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id).collect()
}
