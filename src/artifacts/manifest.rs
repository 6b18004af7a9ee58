//! manifest.json in dbt's v12 shape (stub: filled in by the manifest work).

use crate::graph::Graph;
use crate::project::{MacroNode, Node, Project};
use serde_json::{Value, json};

/// Invocation facts the manifest's metadata records.
#[derive(Debug, Clone)]
pub struct ManifestMeta {
    pub invocation_id: String,
    pub generated_at: String,
    pub invocation_started_at: String,
}

/// The node as Jinja's `model` variable and graph.nodes entries see it.
pub fn node_context_json(n: &Node) -> Value {
    json!({
        "unique_id": n.unique_id,
        "name": n.name,
        "resource_type": n.resource_type.as_str(),
        "package_name": n.package_name,
        "path": n.path,
        "original_file_path": n.original_file_path,
        "fqn": n.fqn,
        "alias": n.alias,
        "schema": n.schema,
        "database": n.database,
        "config": n.config,
        "tags": n.tags(),
        "meta": n.meta(),
        "description": n.description,
        "raw_code": n.raw_code,
        "version": n.version,
    })
}

pub fn manifest_json(
    project: &Project,
    graph: &Graph,
    builtin_macros: &[MacroNode],
    meta: &ManifestMeta,
) -> Value {
    let _ = (project, graph, builtin_macros, meta);
    json!({})
}

/// Jinja's `graph` variable: nodes, sources and exposures keyed by unique_id.
pub fn graph_context_json(project: &Project) -> Value {
    let nodes: serde_json::Map<String, Value> = project
        .nodes
        .iter()
        .map(|(k, n)| (k.clone(), node_context_json(n)))
        .collect();
    let sources: serde_json::Map<String, Value> = project
        .sources
        .iter()
        .map(|(k, s)| {
            (k.clone(), json!({
                "unique_id": s.unique_id, "name": s.name, "source_name": s.source_name,
                "identifier": s.identifier, "schema": s.schema, "database": s.database,
                "resource_type": "source", "package_name": s.package_name, "fqn": s.fqn,
                "meta": s.meta, "tags": s.tags, "config": s.config, "relation_name": s.relation_name,
            }))
        })
        .collect();
    json!({"nodes": nodes, "sources": sources, "exposures": {}, "metrics": {}, "groups": {}, "semantic_models": {}, "saved_queries": {}})
}
