//! Each subcommand strings the pipeline stages together: load → parse-render → graph → select →
//! compile → artifacts.

mod clone;
mod compile;
mod debug;
mod deps;
mod diff;
mod freshness;
mod init;
mod ls;
mod operation;
mod run;
mod show;

use crate::adapter::{self, Adapter};
use crate::artifacts::{self, ManifestMeta};
use crate::cli::{Cli, Command, CompletionShell, SelectArgs};
use crate::error::warn_error::WarnErrorOptions;
use crate::error::{Diagnostic, Diagnostics, Error, Outcome};
use crate::events::{Event, kinds};
use crate::graph::{self, Graph, select};
use crate::invocation::{Invocation, Output};
use crate::jinja::JinjaEnv;
use crate::jinja::parse::{InvocationInfo, parse_project};
use crate::project::{self, Project, ResourceType};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A project loaded, rendered once and wired into a graph.
pub struct Loaded {
    pub project: Project,
    pub jenv: JinjaEnv,
    pub graph: Graph,
    pub adapter: Arc<dyn Adapter>,
    pub info: InvocationInfo,
    /// Which warnings are errors: the command line's options, else dbt_project.yml's `flags:`.
    pub warn_error: WarnErrorOptions,
    /// Where warnings go.
    pub output: Output,
}

pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let inv = Invocation::from_cli(&cli)?;
    if let Command::Completions { shell } = &cli.command {
        return completions(*shell);
    }
    report_version();
    match &cli.command {
        Command::Parse => parse_cmd(&inv),
        Command::Compile {
            select,
            inline,
            empty,
        } => compile::run(&inv, select, inline.as_deref(), empty.empty),
        Command::Ls {
            select,
            resource_type,
            exclude_resource_type,
            output,
            output_keys,
        } => ls::run(
            &inv,
            select,
            resource_type,
            exclude_resource_type,
            *output,
            output_keys,
        ),
        Command::Run {
            select,
            flags,
            empty,
            sample,
        } => run::run(
            &inv,
            crate::runner::RunKind::Run,
            select,
            &flags.with_inputs(empty, Some(sample)),
            (&[], &[]),
        ),
        Command::Test {
            select,
            flags,
            types,
        } => run::run(
            &inv,
            crate::runner::RunKind::Test,
            select,
            flags,
            (&types.resource_type, &types.exclude_resource_type),
        ),
        Command::Seed { select, flags } => run::run(
            &inv,
            crate::runner::RunKind::Seed,
            select,
            flags,
            (&[], &[]),
        ),
        Command::Snapshot {
            select,
            flags,
            empty,
        } => run::run(
            &inv,
            crate::runner::RunKind::Snapshot,
            select,
            &flags.with_inputs(empty, None),
            (&[], &[]),
        ),
        Command::Retry => run::retry(&inv),
        Command::Build {
            select,
            flags,
            types,
            empty,
            sample,
        } => run::run(
            &inv,
            crate::runner::RunKind::Build,
            select,
            &flags.with_inputs(empty, Some(sample)),
            (&types.resource_type, &types.exclude_resource_type),
        ),
        Command::Clone {
            select,
            types,
            full_refresh,
        } => clone::run(&inv, select, types, *full_refresh),
        Command::Show {
            select,
            inline,
            limit,
            output,
        } => show::run(&inv, select, inline.as_deref(), *limit, *output),
        Command::RunOperation { macro_name, args } => {
            operation::run(&inv, macro_name, args.as_deref())
        }
        Command::Diff { select } => diff::run(&inv, select),
        Command::Source {
            command: crate::cli::SourceCommand::Freshness { select, output },
        } => freshness::run(&inv, select, output.as_ref()),
        Command::Clean => clean(&inv),
        Command::Deps { args } => deps::run(&inv, args),
        Command::Debug => debug::run(&inv),
        Command::Init {
            project_name,
            skip_profile_setup,
        } => init::run(&inv, project_name.as_deref(), *skip_profile_setup),
        Command::Completions { shell } => completions(*shell),
    }
}

/// dbt's first events: the version (which the text console leaves out: `kiln debug` and
/// `kiln --version` say it) and, for the log file, the command line.
fn report_version() {
    let dbt = crate::DBT_COMPAT_VERSION;
    Event::new(
        kinds::MAIN_REPORT_VERSION,
        format!(
            "Running with dbt={dbt} (kiln {})",
            env!("CARGO_PKG_VERSION")
        ),
    )
    .with("log_version", 3)
    .with("version", format!("={dbt}"))
    .not_in_text()
    .emit();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    Event::new(
        kinds::MAIN_REPORT_ARGS,
        format!("running kiln with arguments {command}"),
    )
    .with("args", serde_json::json!({"invocation_command": command}))
    .emit();
}

/// `kiln completions <shell>`: the script that registers kiln's dynamic completion with the
/// shell (the same as `COMPLETE=<shell> kiln` prints).
fn completions(shell: CompletionShell) -> Result<Outcome, Error> {
    use clap_complete::env::EnvCompleter;
    let completer: &dyn EnvCompleter = match shell {
        CompletionShell::Bash => &clap_complete::env::Bash,
        CompletionShell::Zsh => &clap_complete::env::Zsh,
        CompletionShell::Fish => &clap_complete::env::Fish,
        CompletionShell::Powershell => &clap_complete::env::Powershell,
        CompletionShell::Elvish => &clap_complete::env::Elvish,
    };
    // The script calls this very binary back, so completion works without kiln on PATH.
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(String::from))
        .unwrap_or_else(|| "kiln".into());
    let mut script = vec![];
    completer
        .write_registration("COMPLETE", "kiln", "kiln", &exe, &mut script)
        .map_err(|e| {
            Error::one(Diagnostic::error(
                "completions",
                format!("cannot write the completion script: {e}"),
            ))
        })?;
    crate::events::print_raw(String::from_utf8_lossy(&script).trim_end());
    Ok(Outcome::Success)
}

pub use crate::timing::StageTimer;

/// Loads and parses the project: every stage up to the graph.
pub fn load_and_parse(inv: &Invocation, command: &str) -> Result<Loaded, Error> {
    let timer = StageTimer::new();
    let opts = inv.load_options()?;
    let loaded = project::load(&opts, &adapter::ENGINES);
    // The log file lives in the project (log-path, `logs` by default), once it is found.
    let log_dir = match &loaded {
        Ok(p) => p.dir.join(p.config.log_path.as_deref().unwrap_or("logs")),
        Err(_) => opts.project_dir.join("logs"),
    };
    crate::events::attach_log_dir(&log_dir);
    let mut project = loaded?;
    timer.mark("load files");
    // Every stage runs even when an earlier one found errors in some files, so that one run
    // reports every problem of the project; the command fails at the end with all of them.
    let mut problems = Diagnostics::default();
    let mut warn_error = inv.warn_error.clone().or_project(&project.config.flags)?;
    let mut warnings = std::mem::take(&mut warn_error.deprecations);
    warnings.append(&mut project.warnings);
    let (shown, promoted) = warn_error.split(&warnings);
    inv.output.warnings(&shown);
    problems.extend(promoted);
    let load_errors = std::mem::take(&mut project.errors);
    let broken_yaml: Vec<String> = load_errors
        .iter()
        .filter(|d| d.code == "yaml")
        .filter_map(|d| d.file.as_ref().map(|f| f.display().to_string()))
        .collect();
    problems.extend(load_errors);
    let adapter = adapter::for_project(&project);
    let jenv = match JinjaEnv::build(&project) {
        Ok(jenv) => jenv,
        Err(ds) => {
            problems.extend(ds);
            return Err(problems.into_error());
        }
    };
    timer.mark("jinja environment");
    let mut info = InvocationInfo::new(command);
    info.warn_error = (warn_error.all_errors(), warn_error.to_flags());
    if let Err(e) = parse_project(&mut project, &jenv, adapter.clone(), &info) {
        problems.extend(e.diagnostics());
    }
    // Warnings found while parsing (e.g. a contract's constraints on a view).
    let parse_warnings = std::mem::take(&mut project.warnings);
    let (shown, promoted) = warn_error.split(&parse_warnings);
    inv.output.warnings(&shown);
    problems.extend(promoted);
    timer.mark("parse render");
    let graph = match graph::build(&mut project) {
        Ok(g) => Some(g),
        Err(e) => {
            problems.extend(e.diagnostics().into_iter().map(|mut d| {
                // A source may be declared in a properties file that did not parse.
                if d.code == "unknown-source" && !broken_yaml.is_empty() {
                    let note = format!(
                        "{} could not be read (see its error), and may declare it",
                        broken_yaml.join(", ")
                    );
                    d.help = Some(match d.help.take() {
                        Some(h) => format!("{h}; note: {note}"),
                        None => note,
                    });
                }
                d
            }));
            None
        }
    };
    timer.mark("graph");
    if graph.is_some() {
        let unused = project::unused_config::unused_config_paths(&project);
        let (shown, promoted) = warn_error.split(&unused);
        inv.output.warnings(&shown);
        problems.extend(promoted);
    }
    problems.checkpoint()?;
    let Some(graph) = graph else {
        return Err(problems.into_error());
    };
    Ok(Loaded {
        project,
        jenv,
        graph,
        adapter,
        info,
        warn_error,
        output: inv.output.clone(),
    })
}

impl Loaded {
    pub fn manifest_meta(&self) -> ManifestMeta {
        let now = chrono::Utc::now();
        let started = &self.info.run_started_at;
        ManifestMeta {
            invocation_id: self.info.invocation_id.clone(),
            generated_at: now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            invocation_started_at: started.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            run_started_at: started.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
            built: BTreeSet::new(),
        }
    }

    /// Writes target/manifest.json.
    pub fn write_manifest(&self) -> Result<(), Error> {
        self.write_manifest_with(&self.manifest_meta())
    }

    /// Writes target/manifest.json with `meta` (e.g. the nodes a run built).
    pub fn write_manifest_with(&self, meta: &ManifestMeta) -> Result<(), Error> {
        let path = self.project.target_dir().join("manifest.json");
        artifacts::manifest::write_manifest_file(
            &path,
            &self.project,
            &self.graph,
            &self.jenv.builtin_macros,
            meta,
        )
    }

    /// The nodes a command works on; criteria that match nothing are reported (as dbt's
    /// NoNodesForSelectionCriteria warning).
    pub fn select(&self, args: &SelectArgs) -> Result<BTreeSet<String>, Error> {
        let selection = select::selection(&self.project, &self.graph, &self.selection_spec(args)?)?;
        self.warn(&selection.warnings)?;
        Ok(selection.ids)
    }

    /// Shows warnings; those --warn-error(-options) make errors fail the command (exit code 2).
    pub fn warn(&self, diags: &[Diagnostic]) -> Result<(), Error> {
        let (shown, promoted) = self.warn_error.split(diags);
        self.output.warnings(&shown);
        if promoted.is_empty() {
            Ok(())
        } else {
            Err(Error::Diagnostics(promoted))
        }
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
            indirect: args.indirect_selection,
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

    /// "Found 12 models, 3 seeds, ..." as dbt says it.
    pub fn summary(&self) -> String {
        let count = |rt: ResourceType| {
            self.project
                .nodes
                .values()
                .filter(|n| n.resource_type == rt)
                .count()
        };
        let mut parts = vec![];
        for (rt, one, many) in [
            (ResourceType::Model, "model", "models"),
            (ResourceType::Snapshot, "snapshot", "snapshots"),
            (ResourceType::Analysis, "analysis", "analyses"),
            (ResourceType::Seed, "seed", "seeds"),
            (ResourceType::Test, "data test", "data tests"),
        ] {
            let c = count(rt);
            if c > 0 {
                parts.push(format!("{c} {}", if c == 1 { one } else { many }));
            }
        }
        let s = self.project.sources.len();
        if s > 0 {
            parts.push(format!("{s} source{}", if s == 1 { "" } else { "s" }));
        }
        let e = self.project.exposures.len();
        if e > 0 {
            parts.push(format!("{e} exposure{}", if e == 1 { "" } else { "s" }));
        }
        let m = self.project.macros.len() + self.jenv.builtin_macros.len();
        parts.push(format!("{m} macros"));
        format!("Found {}", parts.join(", "))
    }

    /// dbt's `FoundStats` event: the line above, and its counts as `stat_line`.
    pub fn found(&self) -> Event {
        let line = self.summary();
        let stat_line = line.trim_start_matches("Found ").to_string();
        Event::new(kinds::FOUND_STATS, line).with("stat_line", stat_line)
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

fn parse_cmd(inv: &Invocation) -> Result<Outcome, Error> {
    let started = std::time::Instant::now();
    let loaded = load_and_parse(inv, "parse")?;
    let timer = StageTimer::new();
    loaded.write_manifest()?;
    timer.mark("write manifest");
    loaded.found().emit();
    inv.output.info(&format!(
        "Wrote {} in {:.2}s",
        loaded
            .project
            .target_dir()
            .join("manifest.json")
            .strip_prefix(&loaded.project.dir)
            .map_or_else(|_| "manifest.json".into(), |p| p.display().to_string()),
        started.elapsed().as_secs_f64()
    ));
    exit_without_freeing(loaded);
    Ok(Outcome::Success)
}

/// `graph` for Jinja: every node's full manifest dict, built only if a template reads it, from
/// the project as parsed (a large project pays seconds and hundreds of MB for it otherwise).
/// Most projects never mention `graph`; then there is nothing to keep.
pub fn graph_fn(loaded: &Loaded) -> Option<Arc<dyn Fn() -> serde_json::Value + Send + Sync>> {
    let mentions_graph = loaded
        .project
        .nodes
        .values()
        .any(|n| n.raw_code.contains("graph"))
        || loaded
            .project
            .macro_files
            .iter()
            .any(|m| m.source.contains("graph"));
    mentions_graph.then(|| {
        let parsed = Arc::new(loaded.project.clone());
        Arc::new(move || crate::artifacts::manifest::graph_context_json(&parsed))
            as Arc<dyn Fn() -> serde_json::Value + Send + Sync>
    })
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

/// Hands a loaded project back to the operating system instead of freeing it piece by piece: the
/// command is done and the process exits next, and freeing a 10,000-model project object by
/// object takes ~50 ms (5% of a parse). Like rustc, we let the process exit reclaim it.
pub fn exit_without_freeing(loaded: Loaded) {
    std::mem::forget(loaded);
}

/// Deletes the clean-targets; refuses anything outside the project directory.
fn clean(inv: &Invocation) -> Result<Outcome, Error> {
    let opts = inv.load_options()?;
    let path = opts.project_dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let cfg: project::dbt_project::DbtProject =
        project::yaml::from_str(std::path::Path::new("dbt_project.yml"), &text)?;
    let root =
        std::fs::canonicalize(&opts.project_dir).map_err(|e| Error::io(&opts.project_dir, e))?;
    // Check every target before deleting any, so a bad entry deletes nothing.
    let mut doomed = vec![];
    for t in cfg.clean_targets() {
        let p = opts.project_dir.join(&t);
        if !p.exists() {
            continue;
        }
        let abs = std::fs::canonicalize(&p).map_err(|e| Error::io(&p, e))?;
        if !abs.starts_with(&root) || abs == root {
            let quoted = [format!("\"{t}\""), format!("'{t}'"), format!("- {t}")];
            let offset = quoted
                .iter()
                .filter_map(|q| Some(text.find(q.as_str())? + q.find(t.as_str())?))
                .min();
            let d = Diagnostic::error(
                "clean",
                format!(
                    "clean-target '{t}' is outside the project directory; not deleting anything"
                ),
            )
            .with_help(
                "clean-targets must be folders inside the project, such as target and dbt_packages",
            );
            let shown = std::path::Path::new("dbt_project.yml");
            return Err(match offset {
                Some(o) => d.at(crate::error::Location::from_offset(shown, &text, o)),
                None => d.in_file(shown),
            }
            .into());
        }
        doomed.push((t, abs));
    }
    for (t, abs) in doomed {
        std::fs::remove_dir_all(&abs).map_err(|e| Error::io(&abs, e))?;
        inv.output.info(&format!("Cleaned {t}/"));
    }
    inv.output.info("Finished cleaning all paths.");
    Ok(Outcome::Success)
}
