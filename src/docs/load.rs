//! The site's inputs: the loaded project in memory rather than manifest.json (at 10,000 models
//! the manifest is 87 MB), with the SQL, column lineage and PII classification this command
//! computed ([`InMemory`]), or with `--no-compile` what the last compile left in `target/`
//! (the compiled SQL, lineage.json, pii.json); run_results.json, catalog.json and sources.json
//! are read from `target/` ([`super::artifacts`]).

use super::artifacts::Artifacts;
use super::data::{Inputs, ShardSink, SiteData};
use crate::error::Error;
use crate::graph::Graph;
use crate::project::{Compiled, Project, ResourceType};
use crate::schemas::lineage::NodeLineage;
use crate::schemas::pii::PiiArtifact;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// What this invocation computed and wrote to lineage.json and pii.json, given to the site
/// instead of reading those files back.
#[derive(Clone, Copy)]
pub struct InMemory<'a> {
    pub lineage: &'a BTreeMap<String, NodeLineage>,
    pub pii: &'a PiiArtifact,
}

/// The site's data for `project`: compiled with `compiled`, lineage and PII from `in_memory`
/// when given (else lineage.json and pii.json), the other artifacts read from `target`; each
/// detail shard handed to `shards` as it is made.
pub fn site_data(
    project: &Project,
    graph: &Graph,
    compiled: &BTreeMap<String, Compiled>,
    in_memory: Option<InMemory<'_>>,
    target: &Path,
    shards: &dyn ShardSink,
) -> Result<SiteData, Error> {
    let timer = crate::timing::StageTimer::nested();
    let artifacts = Artifacts::read(target, in_memory.is_none())?;
    timer.mark("other artifacts");
    let (lineage, pii) = match in_memory {
        Some(m) => (Some(m.lineage), Some(&m.pii.nodes)),
        None => (
            artifacts.lineage.as_ref().and_then(|l| l.nodes.as_ref()),
            artifacts.pii.as_ref().map(|p| &p.nodes),
        ),
    };
    let generated_at = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let data = super::data::build(
        &Inputs {
            project,
            graph,
            compiled,
            lineage,
            pii,
            artifacts: &artifacts,
            generated_at: &generated_at,
        },
        shards,
    )?;
    timer.mark("site data, shards written");
    Ok(data)
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
