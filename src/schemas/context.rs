//! Jinja's `model` and `graph` variables: the manifest's dicts.

use super::{ProjectFacts, exposure_json, node_json, source_json};
use crate::project::{Node, Project};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The node as Jinja's `model` variable sees it: the manifest's node dict, minus what only the
/// whole project can tell (see [`ProjectFacts`]), with the graph's `depends_on` once it is built.
pub fn node_context_json(n: &Node, depends_on: Option<&BTreeMap<String, Vec<String>>>) -> Value {
    let facts = ProjectFacts {
        depends_on,
        ..ProjectFacts::default()
    };
    node_json(n, &facts)
}

/// Jinja's `graph` variable: nodes, sources and exposures keyed by unique_id, each the same dict
/// as in the manifest, with the dependencies the graph resolved.
pub fn graph_context_json(project: &Project, depends_on: &BTreeMap<String, Vec<String>>) -> Value {
    let facts = ProjectFacts::of(project).with_depends_on(depends_on);
    let nodes: Map<String, Value> = project
        .nodes
        .iter()
        .map(|(id, n)| (id.clone(), node_json(n, &facts)))
        .collect();
    let sources: Map<String, Value> = project
        .sources
        .iter()
        .map(|(id, s)| (id.clone(), source_json(s)))
        .collect();
    let exposures: Map<String, Value> = project
        .exposures
        .iter()
        .map(|(id, e)| (id.clone(), exposure_json(e, facts.depends_on_of(id))))
        .collect();
    json!({
        "nodes": nodes,
        "sources": sources,
        "exposures": exposures,
        "metrics": {},
        "groups": {},
        "semantic_models": {},
        "saved_queries": {},
    })
}
