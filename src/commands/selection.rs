//! How commands resolve the selection flags against a loaded project: `--select`/`--exclude`/
//! `--selector`, and the artifacts of a previous run that `--state` and `--defer` point at.

use crate::cli::SelectArgs;
use crate::error::{Diagnostic, Error};
use crate::graph::select;
use crate::project::Project;
use crate::schemas::read::{ArtifactError, RunResults, SourceFreshness, StateManifest};
use crate::session::Loaded;
use std::collections::BTreeSet;
use std::sync::Arc;

impl Loaded {
    /// The nodes a command works on; criteria that match nothing are reported (as dbt's
    /// NoNodesForSelectionCriteria warning).
    pub fn select(&self, args: &SelectArgs) -> Result<BTreeSet<String>, Error> {
        let selection = select::selection(&self.project, &self.graph, &self.selection_spec(args)?)?;
        self.warn(&selection.warnings)?;
        Ok(selection.ids)
    }

    /// The selection flags resolved: the `--state` folder's manifest.json, run_results.json and
    /// sources.json read (each if present), and this project's current sources.json.
    pub fn selection_spec(&self, args: &SelectArgs) -> Result<select::SelectionSpec, Error> {
        let mut previous = select::previous::PreviousRun {
            sources_current: Some(self.project.target_dir().join("sources.json")),
            ..Default::default()
        };
        let mut state_manifest = None;
        if let Some(dir) = &args.state {
            let dir = self.project.dir.join(dir);
            if !dir.is_dir() {
                return Err(Diagnostic::error(
                    "flags",
                    format!("--state: {} is not a folder", dir.display()),
                )
                .with_help("point --state at the target folder of an earlier run")
                .into());
            }
            if same_folder(&dir, &self.project.target_dir()) {
                self.warn(&[Diagnostic::warning(
                    "state-target-equal",
                    format!(
                        "The state and target directories are the same: '{}'. This could lead to missing changes due to overwritten state including non-idempotent retries.",
                        args.state.as_deref().unwrap_or(dir.as_path()).display()
                    ),
                )
                .with_help("copy the earlier run's target folder elsewhere (e.g. prod-state/) and point --state there")])?;
            }
            // Named as the user gave it (relative to the project, as dbt reads it).
            let shown = args.state.clone().unwrap_or_else(|| dir.clone());
            let manifest = StateManifest::read(&dir, &shown).map_err(state_file_error)?;
            if let Some(manifest) = &manifest {
                check_state_adapter(manifest, &shown.join("manifest.json"), &self.project)?;
            }
            state_manifest = manifest.map(Arc::new);
            previous.run_results = RunResults::read(
                &dir.join("run_results.json"),
                &shown.join("run_results.json"),
            )
            .map_err(state_file_error)?;
            previous.sources =
                SourceFreshness::read(&dir.join("sources.json"), &shown.join("sources.json"))
                    .map_err(state_file_error)?;
            previous.dir = Some(shown);
        }
        Ok(select::SelectionSpec {
            select: args.select.clone(),
            exclude: args.exclude.clone(),
            selector: args.selector.clone(),
            indirect: indirect(args.indirect_selection),
            state_manifest,
            previous,
        })
    }

    /// `--defer`: the manifest of `--defer-state`, else of `--state`, and `--favor-state`; None
    /// without `--defer`.
    pub fn defer_manifest(
        &self,
        args: &SelectArgs,
    ) -> Result<Option<(Arc<StateManifest>, bool)>, Error> {
        if !args.defer {
            return Ok(None);
        }
        let (dir, flag) = match (&args.defer_state, &args.state) {
            (Some(d), _) => (d, "--defer-state"),
            (None, Some(d)) => (d, "--state"),
            (None, None) => {
                return Err(Diagnostic::error(
                    "flags",
                    "--defer needs the manifest of a previous run, and neither --state nor --defer-state was given",
                )
                .with_help("add --state <dir> (or --defer-state <dir>) pointing at the target folder of the run to defer to")
                .into());
            }
        };
        match StateManifest::read(&self.project.dir.join(dir), dir).map_err(state_file_error)? {
            Some(m) => {
                check_state_adapter(&m, &dir.join("manifest.json"), &self.project)?;
                Ok(Some((Arc::new(m), args.favor_state)))
            }
            None => Err(Diagnostic::error(
                "flags",
                format!("{flag}: there is no manifest.json in {}", dir.display()),
            )
            .with_help("point it at the target folder of an earlier run (it holds manifest.json)")
            .into()),
        }
    }
}

/// Refuses a state manifest written for another adapter: its compiled SQL, relation names and
/// configs are another dialect's, so comparing (`state:`, `diff`) or deferring to it would mix
/// two warehouses. Another target of the same adapter is fine: comparing a dev run with
/// production's artifacts is what `--state` is for. A manifest that does not say its adapter
/// (an old or hand-made one) is taken as it is.
pub(crate) fn check_state_adapter(
    manifest: &StateManifest,
    path: &std::path::Path,
    project: &Project,
) -> Result<(), Error> {
    let written = manifest.written_by();
    let current = &project.target;
    let Some(adapter) = &written.adapter_type else {
        return Ok(());
    };
    if adapter.eq_ignore_ascii_case(&current.adapter_type) {
        return Ok(());
    }
    let rerun = match &written.target {
        Some(t) => format!(", or run this command with --target {t}"),
        None => String::new(),
    };
    Err(Diagnostic::error(
        "state",
        format!(
            "--state {} was written by {}, and this run uses target '{}' ({}): comparing with it or deferring to it would mix two adapters' SQL and relations",
            path.display(),
            written.describe(),
            current.name,
            current.adapter_type,
        ),
    )
    .with_help(format!(
        "point --state at artifacts written by a {} target (`kiln compile --target {} --target-path <dir>` writes them to <dir>){rerun}",
        current.adapter_type, current.name
    ))
    .into())
}

/// `--indirect-selection` as the selector evaluates it.
fn indirect(flag: crate::cli::IndirectSelection) -> select::IndirectSelection {
    use crate::cli::IndirectSelection as Flag;
    match flag {
        Flag::Eager => select::IndirectSelection::Eager,
        Flag::Cautious => select::IndirectSelection::Cautious,
        Flag::Buildable => select::IndirectSelection::Buildable,
        Flag::Empty => select::IndirectSelection::Empty,
    }
}

/// A file of the `--state` folder that kiln cannot read (it names the file and what is wrong).
fn state_file_error(e: ArtifactError) -> Error {
    e.diagnostic(
        "state",
        "point --state at the target folder of an earlier run, left as kiln or dbt wrote it",
    )
    .into()
}

/// Whether two paths are the same folder.
fn same_folder(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
