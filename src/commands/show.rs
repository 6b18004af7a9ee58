//! `kiln show`: compile a node (or `--inline` SQL) with the database connected, run it with a
//! row limit, and print the rows as dbt's `show` does: a table (`crate::adapter::print_table`,
//! every value exact) or, with `--output json`, `{"node": ..., "show": [...]}`.

use crate::adapter::{print_table, show_json};
use crate::cli::{SelectArgs, ShowOutput};
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::jinja::compile::EphemeralCache;
use crate::project::{Node, ResourceType};
use crate::session::load_and_parse;
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
    // (what, node name for JSON output, SQL); an inline query has no node name
    let mut previews: Vec<(String, Option<String>, String)> = vec![];
    if let Some(sql) = inline {
        let compiled = crate::jinja::compile::compile_inline(
            &loaded.project.nodes,
            &loaded.jenv,
            &shared,
            sql,
            &EphemeralCache::default(),
        )?;
        previews.push(("inline node".into(), None, compiled));
    } else {
        let nodes: &BTreeMap<String, Arc<Node>> = &loaded.project.nodes;
        let cache = EphemeralCache::default();
        // Only what was named: tests are not pulled in by the nodes they test.
        let mut named = select.clone();
        named.indirect_selection = crate::cli::IndirectSelection::Empty;
        for id in loaded.select(&named)? {
            let Some(n) = nodes.get(&id) else { continue };
            let sql = match n.resource_type {
                ResourceType::Seed => format!(
                    "select * from {}",
                    crate::materialize::RelationTarget::of(n).sql(loaded.adapter.as_ref())
                ),
                ResourceType::Model
                | ResourceType::Analysis
                | ResourceType::Snapshot
                | ResourceType::Test => {
                    crate::jinja::compile::compile_one(nodes, &loaded.jenv, &shared, &id, &cache)?.0
                }
                _ => continue,
            };
            previews.push((format!("node '{}'", n.name), Some(n.name.clone()), sql));
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
    for (what, node, sql) in previews {
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
                    inv.output.data(&format!("{}\n", print_table(&rows)));
                }
                ShowOutput::Json => inv.output.data(&show_json(node.as_deref(), &rows)),
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
