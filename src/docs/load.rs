//! The site's inputs taken from the loaded project in memory rather than from manifest.json:
//! at 10,000 models the manifest is 87 MB, and reading it back into a JSON tree was most of
//! `kiln docs generate`'s time. The nodes, sources and exposures are the same dicts the manifest
//! writer streams ([`crate::schemas`]: `source_json`, `exposure_json`, and for nodes the part
//! of `node_json` the site reads, `node_site_json`, with the graph's `depends_on` and the SQL
//! this invocation compiled), made on every core, so the site shows what a catalog reading
//! manifest.json would. The other artifacts (run_results.json,
//! catalog.json, sources.json, lineage.json) are small beside it and are read from `target/`.

use super::data::{Artifacts, read_json};
use crate::error::Error;
use crate::graph::Graph;
use crate::project::{Compiled, Project, ResourceType};
use crate::schemas::{self, ProjectFacts};
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;

impl Artifacts {
    /// The artifacts of `project`: its manifest's nodes, sources and exposures from memory,
    /// compiled with `compiled`; the optional artifacts read from `target`.
    pub fn of_project(
        project: &Project,
        graph: &Graph,
        compiled: &BTreeMap<String, Compiled>,
        target: &Path,
    ) -> Result<Self, Error> {
        let timer = crate::timing::StageTimer::nested();
        let facts = ProjectFacts::of(project)
            .with_compiled(compiled)
            .with_depends_on(&graph.depends_on);
        let nodes: Vec<(&String, &crate::project::Node)> =
            project.nodes.iter().map(|(k, n)| (k, n.as_ref())).collect();
        let nodes: Map<String, Value> = nodes
            .par_iter()
            .map(|(id, n)| ((*id).clone(), schemas::node_site_json(n, &facts)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        let sources: Map<String, Value> = project
            .sources
            .iter()
            .map(|(id, s)| (id.clone(), schemas::source_json(s)))
            .collect();
        let exposures: Map<String, Value> = project
            .exposures
            .iter()
            .map(|(id, e)| (id.clone(), schemas::exposure_json(e, graph.depends_on(id))))
            .collect();
        let generated_at = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let manifest = json!({
            "metadata": {"project_name": project.name, "generated_at": generated_at},
            "nodes": nodes,
            "sources": sources,
            "exposures": exposures,
        });
        timer.mark("the project's dicts");
        let artifacts = Artifacts {
            manifest,
            run_results: read_json(&target.join("run_results.json"))?,
            catalog: read_json(&target.join("catalog.json"))?,
            sources: read_json(&target.join("sources.json"))?,
            lineage: read_json(&target.join("lineage.json"))?,
            pii: read_json(&target.join("pii.json"))?,
        };
        timer.mark("other artifacts");
        Ok(artifacts)
    }
}

/// The SQL the last compile wrote under `target/compiled/<package>/<file>` for the nodes the
/// site has pages for (models, snapshots, analyses): what `--no-compile` shows, as the manifest
/// of that compile did.
pub fn compiled_on_disk(project: &Project, target: &Path) -> BTreeMap<String, Compiled> {
    let pages: Vec<&crate::project::Node> = project
        .nodes
        .values()
        .map(AsRef::as_ref)
        .filter(|n| {
            matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Snapshot | ResourceType::Analysis
            )
        })
        .collect();
    pages
        .par_iter()
        .filter_map(|n| {
            let path = target
                .join("compiled")
                .join(&n.package_name)
                .join(&n.original_file_path);
            let code = std::fs::read_to_string(path).ok()?;
            Some((
                n.unique_id.clone(),
                Compiled {
                    code,
                    ctes: vec![],
                    masked: vec![],
                },
            ))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}
