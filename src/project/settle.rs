//! The parse phase's check of every node's config: each model's materialization, then the typed
//! config ([`super::settings`]) of every model, seed and snapshot. Every problem of every node is
//! reported in one run, at the file, line and column where the value was written
//! ([`super::origin`]), with a hint; a value set once for a folder in dbt_project.yml is reported
//! once, naming every node it affects. Nothing reaches the database before this passes.

use super::Project;
use super::node::{Node, ResourceType};
use super::origin::{Files, ProjectTrees, config_location};
use super::settings::{ConfigProblem, Phrasing, Settings, check_model_materialization};
use crate::error::{Diagnostic, Location};
use std::collections::{BTreeMap, BTreeSet};

/// Settles the typed config of every node of `project`; the problems, as diagnostics. Nodes in
/// `unrendered` (whose render failed, so whose `config()` calls never ran) are left out: their
/// render error is what to fix first.
pub fn settle(project: &mut Project, unrendered: &BTreeSet<String>) -> Vec<Diagnostic> {
    let custom = custom_materializations(project);
    let mut problems: Vec<(String, ConfigProblem)> = vec![];
    for (uid, node) in project.nodes.iter_mut() {
        if unrendered.contains(uid) {
            continue;
        }
        if !matches!(
            node.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) {
            continue;
        }
        if node.resource_type == ResourceType::Model
            && let Err(p) = check_model_materialization(&node.config, &custom)
        {
            // What the rest of the config means depends on the materialization.
            problems.push((uid.clone(), p));
            continue;
        }
        match Settings::parse(node.resource_type, node.materialized(), &node.config) {
            Ok(s) => std::sync::Arc::make_mut(node).settings = s,
            Err(ps) => problems.extend(ps.into_iter().map(|p| (uid.clone(), p))),
        }
    }
    if problems.is_empty() {
        return vec![];
    }
    report(project, problems)
}

/// The materializations the project defines with `{% materialization name, adapter %}`, with the
/// file of each.
fn custom_materializations(project: &Project) -> Vec<(String, String)> {
    project
        .macros
        .values()
        .filter_map(|m| {
            let rest = m.name.strip_prefix("materialization_")?;
            let (name, _adapter) = rest.rsplit_once('_')?;
            Some((name.to_string(), m.original_file_path.clone()))
        })
        .collect()
}

/// Locates each problem and merges those written in one place: one diagnostic per place and
/// problem, naming every node it affects.
fn report(project: &Project, problems: Vec<(String, ConfigProblem)>) -> Vec<Diagnostic> {
    let trees = ProjectTrees {
        models: &project.config.models,
        seeds: &project.config.seeds,
        snapshots: &project.config.snapshots,
    };
    let mut files = Files::new(&project.dir);
    // (file, line, column, resource type, message, help) → (location, phrasing, node names)
    type Place = (String, usize, usize, ResourceType, String, String);
    let mut by_place: BTreeMap<Place, (Location, Phrasing, Vec<String>)> = BTreeMap::new();
    for (uid, problem) in problems {
        let Some(node) = project.nodes.get(&uid) else {
            continue;
        };
        let at = config_location(&mut files, &trees, node, &problem.key);
        let place = (
            at.path.display().to_string(),
            at.line,
            at.column,
            node.resource_type,
            problem.message,
            problem.help,
        );
        by_place
            .entry(place)
            .or_insert_with(|| (at, problem.phrasing, vec![]))
            .2
            .push(format!("'{}'", node.name));
    }
    by_place
        .into_iter()
        .map(|((_, _, _, rt, message, help), (at, phrasing, names))| {
            Diagnostic::error("config", sentence(rt, &names, phrasing, &message))
                .at(at)
                .with_help(help)
        })
        .collect()
}

/// `model 'orders' has ...`, `models 'a', 'b' have ...`, `seed 'people': ...`.
fn sentence(rt: ResourceType, names: &[String], phrasing: Phrasing, message: &str) -> String {
    let plural = names.len() > 1;
    let subject = if plural {
        format!("{}s {}", rt.as_str(), names.join(", "))
    } else {
        format!("{rt} {}", names.join(", "))
    };
    match phrasing {
        Phrasing::Colon => format!("{subject}: {message}"),
        Phrasing::Verb if !plural => format!("{subject} {message}"),
        Phrasing::Verb => {
            let (verb, rest) = message.split_once(' ').unwrap_or((message, ""));
            let verb = match verb {
                "has" => "have",
                v => v.strip_suffix('s').unwrap_or(v),
            };
            format!("{subject} {verb} {rest}")
        }
    }
}

/// Where a node is defined, for problems that name no config key.
pub fn node_location(project: &Project, node: &Node) -> Location {
    super::origin::node_location(&mut Files::new(&project.dir), node)
}
