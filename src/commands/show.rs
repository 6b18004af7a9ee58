//! `kiln show`: compile a node (or `--inline` SQL) with the database connected, run it with a
//! row limit, and print the rows as a table (or JSON).

use super::load_and_parse;
use crate::adapter::{Cell, Rows};
use crate::cli::{SelectArgs, ShowOutput};
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::jinja::compile::{EphemeralCache, render_snippet};
use crate::project::{Node, ResourceType};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn run(
    inv: &Invocation,
    select: &SelectArgs,
    inline: Option<&str>,
    limit: i64,
    output: ShowOutput,
) -> Result<Outcome, Error> {
    let loaded = load_and_parse(inv, "show")?;
    if inline.is_none() && select.select.is_empty() && select.selector.is_none() {
        return Err(
            Diagnostic::error("flags", "kiln show needs --select or --inline")
                .with_help("e.g. kiln show --select orders, or kiln show --inline 'select 1 as x'")
                .into(),
        );
    }
    let pool = crate::runner::connect(&loaded)?;
    let mut shared = crate::runner::live_shared(&loaded, &pool);
    if let Some((state, favor_state)) = loaded.defer_manifest(select)? {
        crate::runner::defer(&mut shared, &loaded, &[], &state, favor_state, &pool);
    }
    let shared = Arc::new(shared);
    let mut previews: Vec<(String, String)> = vec![];
    if let Some(sql) = inline {
        let compiled = render_snippet(
            &loaded.jenv,
            &shared,
            None,
            "--inline",
            sql,
            BTreeMap::new(),
        )?;
        previews.push(("inline node".into(), compiled));
    } else {
        let nodes: BTreeMap<String, Arc<Node>> = loaded
            .project
            .nodes
            .iter()
            .map(|(k, n)| (k.clone(), Arc::new(n.clone())))
            .collect();
        let cache = EphemeralCache::default();
        // Only what was named: tests are not pulled in by the nodes they test.
        let mut named = select.clone();
        named.indirect_selection = crate::cli::IndirectSelection::Empty;
        for id in loaded.select(&named)? {
            let Some(n) = nodes.get(&id) else { continue };
            let sql = match n.resource_type {
                ResourceType::Seed => format!(
                    "select * from {}",
                    crate::materialize::Target::of(n).sql(loaded.adapter.as_ref())
                ),
                ResourceType::Model
                | ResourceType::Analysis
                | ResourceType::Snapshot
                | ResourceType::Test => {
                    crate::jinja::compile::compile_one(&nodes, &loaded.jenv, &shared, &id, &cache)?
                        .0
                }
                _ => continue,
            };
            previews.push((format!("node '{}'", n.name), sql));
        }
    }
    if previews.is_empty() {
        return Err(
            Diagnostic::error("flags", "the selection matches no node to show")
                .with_help("select a model, seed, snapshot, analysis or test by name")
                .into(),
        );
    }
    let mut failed = false;
    for (what, sql) in previews {
        let body = sql.trim().trim_end_matches(';');
        let query = if limit < 0 {
            format!("select * from (\n{body}\n) kiln_show")
        } else {
            format!("select * from (\n{body}\n) kiln_show limit {limit}")
        };
        match pool.with(|c| c.query(&query)) {
            Ok(rows) => match output {
                ShowOutput::Text => {
                    inv.output.info(&format!("Previewing {what}:"));
                    inv.output.data(&table_text(&rows));
                }
                ShowOutput::Json => inv.output.data(&json_text(&what, &rows)),
            },
            Err(e) => {
                failed = true;
                inv.output.warnings(&[Diagnostic::error(
                    "database",
                    format!("cannot preview {what}: {}", e.message),
                )]);
            }
        }
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// Rows as a Markdown-style table, numbers right-aligned, as dbt shows them.
pub fn table_text(rows: &Rows) -> String {
    let headers: Vec<String> = rows.columns.iter().map(|c| c.name.clone()).collect();
    let cells: Vec<Vec<String>> = rows
        .rows
        .iter()
        .map(|r| r.iter().map(cell_text).collect())
        .collect();
    let numeric: Vec<bool> = (0..headers.len())
        .map(|i| {
            rows.rows.iter().all(|r| {
                matches!(
                    r.get(i),
                    Some(Cell::Int(_) | Cell::Float(_) | Cell::Decimal(_) | Cell::Null)
                )
            })
        })
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([headers[i].chars().count(), 1])
                .max()
                .unwrap_or(1)
        })
        .collect();
    let line = |values: &[String], align_right: &dyn Fn(usize) -> bool| -> String {
        let parts: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let w = widths[i];
                if align_right(i) {
                    format!("{v:>w$}")
                } else {
                    format!("{v:<w$}")
                }
            })
            .collect();
        format!("| {} |", parts.join(" | "))
    };
    let mut out = vec![line(&headers, &|_| false)];
    out.push(format!(
        "| {} |",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    for r in &cells {
        out.push(line(r, &|i| numeric[i]));
    }
    out.join("\n")
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Null => String::new(),
        other => other.to_string(),
    }
}

fn json_text(what: &str, rows: &Rows) -> String {
    let list: Vec<serde_json::Value> = rows
        .rows
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            for (c, v) in rows.columns.iter().zip(r) {
                let value = match v {
                    Cell::Null => serde_json::Value::Null,
                    Cell::Bool(b) => serde_json::Value::Bool(*b),
                    Cell::Int(i) => serde_json::Value::from(*i),
                    Cell::Float(f) => serde_json::Value::from(*f),
                    Cell::Decimal(s) | Cell::Text(s) => serde_json::Value::String(s.clone()),
                };
                m.insert(c.name.clone(), value);
            }
            serde_json::Value::Object(m)
        })
        .collect();
    serde_json::json!({"show": list, "node": what}).to_string()
}
