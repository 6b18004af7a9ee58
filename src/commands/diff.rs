//! `kiln diff --state <dir>`: what changes in each modified model's compiled SQL compared with the
//! state manifest, as a unified diff, so an analyst sees what a change will do before running it.

use crate::cli::SelectArgs;
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use crate::project::ResourceType;
use crate::session::load_and_parse;
use std::collections::BTreeSet;

pub fn run(inv: &Invocation, select: &SelectArgs) -> Result<Outcome, Error> {
    if select.state.is_none() {
        return Err(Diagnostic::error("flags", "kiln diff needs --state <dir>")
            .with_help("point --state at the target folder of the run to compare with, e.g. --state prod-artifacts/")
            .into());
    }
    let loaded = load_and_parse(inv, "compile")?;
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
    let compiled = super::compile::compile_selected(&loaded, &selected)?;
    let mut changed = 0;
    for id in &selected {
        let Some(n) = loaded.project.nodes.get(id) else {
            continue;
        };
        let new = compiled.get(id).map(|c| c.code.clone()).unwrap_or_default();
        let old_node = state.nodes().get(id);
        let (old, note) = match (
            old_node.and_then(|o| o.compiled_code.as_deref()),
            old_node.and_then(|o| o.raw_code.as_deref()),
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
        let text = text.trim_end();
        if inv.output.color {
            inv.output.data(&colour_diff(text));
        } else {
            inv.output.data(text);
        }
    }
    inv.output.info(&format!(
        "{changed} of {} selected node{} change{} compiled SQL",
        selected.len(),
        if selected.len() == 1 { "" } else { "s" },
        if changed == 1 { "s its" } else { " their" }
    ));
    crate::session::exit_without_freeing(loaded);
    Ok(Outcome::Success)
}

/// A unified diff in colour, as `git diff` shows it: file headers bold, hunk headers cyan,
/// additions green, removals red.
pub fn colour_diff(text: &str) -> String {
    text.lines()
        .map(|l| {
            let code = if l.starts_with("+++") || l.starts_with("---") {
                "1"
            } else if l.starts_with("@@") {
                "36"
            } else if l.starts_with('+') {
                "32"
            } else if l.starts_with('-') {
                "31"
            } else {
                return l.to_string();
            };
            crate::events::paint(code, l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn additions_are_green_removals_red_headers_bold() {
        let diff = "--- state/a.sql\n+++ current/a.sql\n@@ -1 +1 @@\n-select 1\n+select 2\n same";
        let out = super::colour_diff(diff);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "\x1b[1m--- state/a.sql\x1b[0m");
        assert_eq!(lines[2], "\x1b[36m@@ -1 +1 @@\x1b[0m");
        assert_eq!(lines[3], "\x1b[31m-select 1\x1b[0m");
        assert_eq!(lines[4], "\x1b[32m+select 2\x1b[0m");
        assert_eq!(lines[5], " same");
    }
}
