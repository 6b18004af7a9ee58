//! The site's inputs taken from the loaded project in memory rather than from manifest.json:
//! at 10,000 models the manifest is 87 MB, and reading it back into a JSON tree was most of
//! `kiln docs generate`'s time. The nodes, sources and exposures are the same dicts the manifest
//! writer streams ([`crate::schemas`]: `source_json`, `exposure_json`, and for nodes the part
//! of `node_json` the site reads, `node_site_json`, with the graph's `depends_on` and the SQL
//! this invocation compiled), made on every core, so the site shows what a catalog reading
//! manifest.json would. The column lineage and PII classification the same command computed
//! are taken from memory too ([`InMemory`]); the other artifacts (run_results.json,
//! catalog.json, sources.json, and with `--no-compile` lineage.json and pii.json) are read from
//! `target/`.

use super::data::{Artifacts, read_json};
use crate::error::Error;
use crate::graph::Graph;
use crate::project::{Compiled, Project, ResourceType};
use crate::schemas::lineage::NodeLineage;
use crate::schemas::pii::PiiArtifact;
use crate::schemas::{self, ProjectFacts};
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// What this invocation computed and wrote to lineage.json and pii.json, given to the site
/// instead of reading those files back.
#[derive(Clone, Copy)]
pub struct InMemory<'a> {
    pub lineage: &'a BTreeMap<String, NodeLineage>,
    pub pii: &'a PiiArtifact,
}

impl Artifacts {
    /// The artifacts of `project`: its manifest's nodes, sources and exposures from memory,
    /// compiled with `compiled`; lineage and PII from `in_memory` when given; the other
    /// artifacts read from `target`.
    pub fn of_project(
        project: &Project,
        graph: &Graph,
        compiled: &BTreeMap<String, Compiled>,
        in_memory: Option<InMemory<'_>>,
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
        let (lineage, pii) = match in_memory {
            // The values the files hold (the site reads lineage.json's `nodes` and pii.json
            // whole); serializing these types cannot fail, their map keys are strings.
            Some(m) => (
                Some(json!({ "nodes": serde_json::to_value(m.lineage).unwrap_or(Value::Null) })),
                Some(serde_json::to_value(m.pii).unwrap_or(Value::Null)),
            ),
            None => (
                read_json(&target.join("lineage.json"))?,
                read_json(&target.join("pii.json"))?,
            ),
        };
        let artifacts = Artifacts {
            manifest,
            run_results: read_json(&target.join("run_results.json"))?,
            catalog: read_json(&target.join("catalog.json"))?,
            sources: read_json(&target.join("sources.json"))?,
            lineage,
            pii,
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
