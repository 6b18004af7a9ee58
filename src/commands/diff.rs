//! `kiln diff --state <dir>`: what changes in each modified model's compiled SQL compared with the
//! state manifest, as a unified diff, so an analyst sees what a change will do before running it.

use super::load_and_parse;
use crate::cli::SelectArgs;
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::project::ResourceType;
use std::collections::BTreeSet;

pub fn run(inv: &Invocation, select: &SelectArgs) -> Result<Outcome, Error> {
    if select.state.is_none() {
        return Err(Diagnostic::error("flags", "kiln diff needs --state <dir>")
            .with_help("point --state at the target folder of the run to compare with, e.g. --state prod-artifacts/")
            .into());
    }
    let mut loaded = load_and_parse(inv, "compile")?;
    let mut args = select.clone();
    if args.select.is_empty() && args.selector.is_none() {
        args.select = vec!["state:modified".into()];
    }
    let spec = loaded.selection_spec(&args)?;
    let Some(state) = spec.state_manifest.clone() else {
        return Err(Diagnostic::error(
            "flags",
            format!(
                "kiln diff compares with the manifest.json of a previous run, and there is none in {}",
                select.state.as_deref().unwrap_or(std::path::Path::new(".")).display()
            ),
        )
        .with_help("point --state at the target folder of the run to compare with")
        .into());
    };
    let selected: BTreeSet<String> =
        crate::graph::select::select(&loaded.project, &loaded.graph, &spec)?
            .into_iter()
            .filter(|id| {
                loaded.project.nodes.get(id).is_some_and(|n| {
                    matches!(
                        n.resource_type,
                        ResourceType::Model | ResourceType::Snapshot
                    )
                })
            })
            .collect();
    super::compile::compile_selected(&mut loaded, &selected)?;
    let mut changed = 0;
    for id in &selected {
        let Some(n) = loaded.project.nodes.get(id) else {
            continue;
        };
        let new = n.compiled_code.clone().unwrap_or_default();
        let old_node = &state["nodes"][id];
        let (old, note) = match (
            old_node["compiled_code"].as_str(),
            old_node["raw_code"].as_str(),
        ) {
            (Some(c), _) => (c.to_string(), ""),
            (None, Some(raw)) => (
                raw.to_string(),
                " (the state manifest has no compiled SQL for it; comparing with its raw code)",
            ),
            (None, None) => (String::new(), " (new)"),
        };
        if old.trim_end() == new.trim_end() {
            continue;
        }
        changed += 1;
        inv.output
            .info(&format!("{} {}{note}", n.resource_type, n.name));
        let diff = similar::TextDiff::from_lines(&old, &new);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("state/{}", n.original_file_path),
                &format!("current/{}", n.original_file_path),
            )
            .to_string();
        inv.output.data(text.trim_end());
    }
    inv.output.info(&format!(
        "{changed} of {} selected node{} change{} compiled SQL",
        selected.len(),
        if selected.len() == 1 { "" } else { "s" },
        if changed == 1 { "s its" } else { " their" }
    ));
    super::exit_without_freeing(loaded);
    Ok(Outcome::Success)
}
