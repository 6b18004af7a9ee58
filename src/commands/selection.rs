//! How commands resolve the selection flags against a loaded project: `--select`/`--exclude`/
//! `--selector`, and the artifacts of a previous run that `--state` and `--defer` point at.

use crate::artifacts;
use crate::cli::SelectArgs;
use crate::error::{Diagnostic, Error};
use crate::graph::select;
use crate::project::Project;
use crate::session::Loaded;
use std::collections::BTreeSet;

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
            state_manifest = read_json(&dir.join("manifest.json"))?;
            if let Some(manifest) = &state_manifest {
                // Named as the user gave it (relative to the project, as dbt reads it).
                let shown = args.state.as_deref().unwrap_or(&dir).join("manifest.json");
                check_state_adapter(manifest, &shown, &self.project)?;
            }
            previous.run_results = read_json(&dir.join("run_results.json"))?;
            previous.sources = read_json(&dir.join("sources.json"))?;
            previous.dir = Some(args.state.clone().unwrap_or(dir));
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
    ) -> Result<Option<(serde_json::Value, bool)>, Error> {
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
        let path = self.project.dir.join(dir).join("manifest.json");
        match read_json(&path)? {
            Some(m) => {
                check_state_adapter(&m, &dir.join("manifest.json"), &self.project)?;
                Ok(Some((m, args.favor_state)))
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
    manifest: &serde_json::Value,
    path: &std::path::Path,
    project: &Project,
) -> Result<(), Error> {
    let written = artifacts::WrittenBy::of_manifest(manifest);
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

/// A JSON artifact, or None when the file does not exist; a file that is not JSON is an error.
fn read_json(path: &std::path::Path) -> Result<Option<serde_json::Value>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Diagnostic::error(
            "flags",
            format!("{} is not valid JSON: {e}", path.display()),
        )
        .with_help(
            "point --state at the target folder of an earlier run, left as kiln or dbt wrote it",
        )
        .into()
    })
}

/// Whether two paths are the same folder.
fn same_folder(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
