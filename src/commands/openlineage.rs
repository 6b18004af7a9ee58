//! OpenLineage for the commands that run nodes: the emitter attached to the runner as a
//! listener ([`crate::artifacts::openlineage`]), configured from dbt_project.yml and the
//! environment, with the project's column lineage (`target/lineage.json`) when there is one.

use crate::artifacts::openlineage::transport::Transport;
use crate::artifacts::openlineage::{Emitter, OpenLineageConfig};
use crate::error::{Diagnostic, Error};
use crate::invocation::Output;
use crate::runner::{Listeners, NodeListener, RunKind, RunSummary};
use crate::schemas::lineage::{LINEAGE_FILE, LineageArtifact};
use crate::session::Loaded;
use std::sync::Arc;

/// The emitter of this run (its invocation's START event sent), or none when OpenLineage is
/// disabled. A bad setting is a configuration error (exit 2) before anything runs.
pub fn start(loaded: &Loaded, kind: RunKind) -> Result<Option<Arc<Emitter>>, Error> {
    let project = &loaded.project;
    let config = OpenLineageConfig::read(&project.config.flags, &project.vars, |k| {
        std::env::var(k).ok()
    })
    .map_err(|e| {
        Diagnostic::error(
            "config",
            format!("OpenLineage setting {}: {}", e.setting, e.problem),
        )
        .in_file(std::path::Path::new("dbt_project.yml"))
        .with_help("see the `openlineage:` settings in README.md")
    })?;
    if config.disabled {
        return Ok(None);
    }
    let target = project.target_dir();
    let _ = std::fs::create_dir_all(&target);
    // The column lineage compiled for this project, if any; columns that no longer match what
    // is built are left out of the facet.
    let lineage = LineageArtifact::read(&target.join(LINEAGE_FILE))
        .map(|a| a.nodes)
        .unwrap_or_default();
    let transport = Transport::new(&target.join("openlineage.jsonl"), &config);
    let emitter = Emitter::new(
        project.clone(),
        loaded.graph.clone(),
        loaded.adapter.clone(),
        &config,
        &loaded.info.invocation_id,
        kind.command(),
        lineage,
        transport,
    );
    emitter.start_invocation();
    Ok(Some(Arc::new(emitter)))
}

/// The runner's listeners for `emitter`.
pub fn listeners(emitter: &Option<Arc<Emitter>>) -> Listeners {
    Listeners(
        emitter
            .iter()
            .map(|e| e.clone() as Arc<dyn NodeListener>)
            .collect(),
    )
}

/// The invocation's last event (FAIL when the run failed, was interrupted or could not start:
/// no `summary`); what could not be delivered becomes a warning.
pub fn finish(emitter: Option<Arc<Emitter>>, summary: Option<&RunSummary>, output: &Output) {
    let Some(emitter) = emitter else {
        return;
    };
    let failed = summary.is_none_or(|s| s.failed() || s.interrupted);
    for warning in emitter.finish_invocation(failed) {
        output.warnings(&[Diagnostic::warning("openlineage", warning)]);
    }
}
