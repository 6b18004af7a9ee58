//! Jinja's `model` and `graph` variables: the manifest's dicts.

use super::{ProjectFacts, exposure_json, node_json, source_json};
use crate::project::{Node, Project};
use serde_json::{Map, Value, json};

/// The node as Jinja's `model` variable sees it: the manifest's node dict, minus what only the
/// whole project can tell (see [`ProjectFacts`]).
pub fn node_context_json(n: &Node) -> Value {
    node_json(n, &ProjectFacts::default())
}

/// Jinja's `graph` variable: nodes, sources and exposures keyed by unique_id, each the same dict
/// as in the manifest.
pub fn graph_context_json(project: &Project) -> Value {
    let facts = ProjectFacts::of(project);
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
        .map(|(id, e)| (id.clone(), exposure_json(e)))
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
