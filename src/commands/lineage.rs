//! `kiln lineage -s model.column [--upstream|--downstream]`: one column's lineage in the
//! terminal, from the project's column lineage (computed as `kiln compile` computes it, and
//! written to target/lineage.json on the way).
//!
//! Upstream, each input column is followed into the model it comes from, down to seed and
//! source columns; downstream, each model column that reads it, and the models whose rows it
//! filters, joins or groups (their `dataset` inputs, not followed further). Each edge shows its
//! OpenLineage transformation types.

use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::project::ResourceType;
use crate::schemas::lineage::{LineageInput, NodeLineage, Transformation};
use crate::session::{Loaded, load_and_parse};
use std::collections::{BTreeMap, BTreeSet};

pub fn run(
    inv: &Invocation,
    column: &str,
    upstream: bool,
    downstream: bool,
) -> Result<Outcome, Error> {
    let loaded = load_and_parse(inv, "lineage")?;
    let ids: BTreeSet<String> = loaded
        .project
        .nodes
        .values()
        .filter(|n| {
            matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Snapshot
            )
        })
        .map(|n| n.unique_id.clone())
        .collect();
    let compiled = super::compile::compile_selected(&loaded, &ids)?;
    let lineage = crate::session::lineage::compile_lineage(&loaded, &compiled)?;
    let (id, col) = resolve(&loaded, &lineage.nodes, column)?;
    let (both, up, down) = (!upstream && !downstream, upstream, downstream);
    let mut out = String::new();
    let ty = lineage
        .nodes
        .get(&id)
        .and_then(|n| n.columns.iter().find(|c| c.name == col))
        .and_then(|c| c.data_type.clone());
    out.push_str(&format!(
        "{}{}\n",
        label(&loaded, &id, &col),
        ty.map(|t| format!(" ({t})")).unwrap_or_default()
    ));
    if let Some(n) = lineage.nodes.get(&id) {
        incomplete_note(&loaded, &id, n, "", &mut out);
    }
    if both || up {
        out.push_str("upstream:\n");
        let mut seen = BTreeSet::new();
        let before = out.len();
        upstream_tree(&loaded, &lineage.nodes, &id, &col, 1, &mut seen, &mut out);
        if out.len() == before {
            out.push_str("  (none)\n");
        }
        if let Some(n) = lineage.nodes.get(&id)
            && !n.dataset.is_empty()
        {
            out.push_str("rows decided by:\n");
            for i in &n.dataset {
                out.push_str(&format!(
                    "  {}  [{}]\n",
                    label(&loaded, &i.node, &i.column),
                    kinds(&i.transformations)
                ));
            }
        }
    }
    if both || down {
        out.push_str("downstream:\n");
        let readers = readers(&lineage.nodes);
        let before = out.len();
        let mut seen = BTreeSet::new();
        downstream_tree(&loaded, &readers, &id, &col, 1, &mut seen, &mut out);
        if out.len() == before {
            out.push_str("  (none)\n");
        }
    }
    inv.output.data(out.trim_end());
    crate::session::exit_without_freeing(loaded);
    Ok(Outcome::Success)
}

/// `model.column`, `seed.column`, `snapshot.column` or `source_name.table.column`: the node's
/// unique_id and the column as the lineage spells it.
fn resolve(
    loaded: &Loaded,
    nodes: &BTreeMap<String, NodeLineage>,
    text: &str,
) -> Result<(String, String), Error> {
    let usage = "name the column as model.column (or source_name.table.column)";
    let Some((node, column)) = text.rsplit_once('.') else {
        return Err(
            Diagnostic::error("lineage", format!("`{text}` names no column"))
                .with_help(usage)
                .into(),
        );
    };
    let project = &loaded.project;
    let found = project
        .nodes
        .values()
        .find(|n| {
            n.name == node
                && matches!(
                    n.resource_type,
                    ResourceType::Model | ResourceType::Snapshot | ResourceType::Seed
                )
        })
        .map(|n| n.unique_id.clone())
        .or_else(|| {
            project
                .sources
                .values()
                .find(|s| format!("{}.{}", s.source_name, s.name) == node)
                .map(|s| s.unique_id.clone())
        });
    let Some(id) = found else {
        let names = project
            .nodes
            .values()
            .filter(|n| n.resource_type != ResourceType::Test)
            .map(|n| n.name.as_str());
        let mut d = Diagnostic::error(
            "lineage",
            format!("no model, seed or snapshot is named `{node}`"),
        );
        d = match crate::error::suggest::closest(node, names, 3) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(usage),
        };
        return Err(d.into());
    };
    // The column's spelling: the node's own columns, else the columns its readers name.
    let mut columns: Vec<String> = nodes
        .get(&id)
        .map(|n| n.columns.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    if columns.is_empty() {
        let set: BTreeSet<String> = nodes
            .values()
            .flat_map(|n| {
                n.columns
                    .iter()
                    .flat_map(|c| c.inputs.iter())
                    .chain(n.dataset.iter())
            })
            .filter(|i| i.node == id)
            .map(|i| i.column.clone())
            .collect();
        columns = set.into_iter().collect();
    }
    if let Some(c) = columns.iter().find(|c| c.eq_ignore_ascii_case(column)) {
        return Ok((id, c.clone()));
    }
    let mut d = Diagnostic::error(
        "lineage",
        format!("`{node}` has no column `{column}` in the project's lineage"),
    );
    let candidates = columns.iter().map(String::as_str);
    d = match crate::error::suggest::closest(column, candidates, 3) {
        Some(s) => d.with_help(format!("did you mean `{node}.{s}`?")),
        None if columns.is_empty() => d.with_help(
            "no model reads a column of it, and its lineage lists no columns (see target/lineage.json)",
        ),
        None => d.with_help(format!("its columns are: {}", columns.join(", "))),
    };
    Err(d.into())
}

/// `model.column`, `seed raw_orders.column`, `source crm.accounts.column`.
fn label(loaded: &Loaded, id: &str, column: &str) -> String {
    if let Some(n) = loaded.project.nodes.get(id) {
        return match n.resource_type {
            ResourceType::Model if n.is_ephemeral() => format!("{}.{column} (ephemeral)", n.name),
            ResourceType::Model => format!("{}.{column}", n.name),
            other => format!("{} {}.{column}", other.as_str(), n.name),
        };
    }
    if let Some(s) = loaded.project.sources.get(id) {
        return format!("source {}.{}.{column}", s.source_name, s.name);
    }
    format!("{id}.{column}")
}

fn kinds(ts: &[Transformation]) -> String {
    ts.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn incomplete_note(loaded: &Loaded, id: &str, n: &NodeLineage, indent: &str, out: &mut String) {
    if n.complete {
        return;
    }
    let name = loaded.project.nodes.get(id).map_or(id, |n| n.name.as_str());
    let reasons: Vec<&str> = n.incomplete.iter().map(|i| i.reason.as_str()).collect();
    out.push_str(&format!(
        "{indent}  (the lineage of {name} is incomplete: {})\n",
        reasons.join("; ")
    ));
}

#[allow(clippy::too_many_arguments)]
fn upstream_tree(
    loaded: &Loaded,
    nodes: &BTreeMap<String, NodeLineage>,
    id: &str,
    column: &str,
    depth: usize,
    seen: &mut BTreeSet<(String, String)>,
    out: &mut String,
) {
    let Some(n) = nodes.get(id) else {
        return;
    };
    let Some(c) = n.columns.iter().find(|c| c.name == column) else {
        return;
    };
    let indent = "  ".repeat(depth);
    for i in &c.inputs {
        out.push_str(&format!(
            "{indent}<- {}  [{}]\n",
            label(loaded, &i.node, &i.column),
            kinds(&i.transformations)
        ));
        if !seen.insert((i.node.clone(), i.column.clone())) {
            if nodes.contains_key(&i.node) {
                out.push_str(&format!("{indent}   (as above)\n"));
            }
            continue;
        }
        if let Some(up) = nodes.get(&i.node) {
            incomplete_note(loaded, &i.node, up, &indent, out);
        }
        upstream_tree(loaded, nodes, &i.node, &i.column, depth + 1, seen, out);
    }
}

/// Who reads a column: (node, lower-cased column) → (reader, its column or None for a
/// dataset-level input, the transformations).
type Readers<'a> = BTreeMap<(&'a str, String), Vec<(&'a str, Option<&'a str>, &'a LineageInput)>>;

fn readers(nodes: &BTreeMap<String, NodeLineage>) -> Readers<'_> {
    let mut out: Readers<'_> = BTreeMap::new();
    for (id, n) in nodes {
        for c in &n.columns {
            for i in &c.inputs {
                out.entry((i.node.as_str(), i.column.to_lowercase()))
                    .or_default()
                    .push((id.as_str(), Some(c.name.as_str()), i));
            }
        }
        for i in &n.dataset {
            out.entry((i.node.as_str(), i.column.to_lowercase()))
                .or_default()
                .push((id.as_str(), None, i));
        }
    }
    out
}

fn downstream_tree(
    loaded: &Loaded,
    readers: &Readers<'_>,
    id: &str,
    column: &str,
    depth: usize,
    seen: &mut BTreeSet<(String, String)>,
    out: &mut String,
) {
    let Some(list) = readers.get(&(id, column.to_lowercase())) else {
        return;
    };
    let indent = "  ".repeat(depth);
    for (reader, col, input) in list {
        match col {
            Some(col) => {
                out.push_str(&format!(
                    "{indent}-> {}  [{}]\n",
                    label(loaded, reader, col),
                    kinds(&input.transformations)
                ));
                if seen.insert((reader.to_string(), col.to_string())) {
                    downstream_tree(loaded, readers, reader, col, depth + 1, seen, out);
                } else {
                    out.push_str(&format!("{indent}   (as above)\n"));
                }
            }
            None => {
                let name = loaded
                    .project
                    .nodes
                    .get(*reader)
                    .map_or(*reader, |n| n.name.as_str());
                out.push_str(&format!(
                    "{indent}-> {name} (its rows)  [{}]\n",
                    kinds(&input.transformations)
                ));
            }
        }
    }
}
