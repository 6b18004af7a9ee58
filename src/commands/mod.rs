//! Each subcommand strings the pipeline stages together: load → parse-render → graph → select →
//! compile → artifacts.

mod compile;
mod debug;
mod diff;
mod freshness;
mod init;
mod ls;
mod operation;
mod run;
mod show;

use crate::adapter::{self, Adapter};
use crate::artifacts::{self, ManifestMeta};
use crate::cli::{Cli, Command, SelectArgs};
use crate::error::{Diagnostic, Diagnostics, Error, Outcome};
use crate::graph::{self, Graph, select};
use crate::invocation::Invocation;
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
}

pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let inv = Invocation::from_cli(&cli)?;
    match &cli.command {
        Command::Parse => parse_cmd(&inv),
        Command::Compile { select, inline } => compile::run(&inv, select, inline.as_deref()),
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
        Command::Run { select, flags } => {
            run::run(&inv, crate::runner::RunKind::Run, select, flags, (&[], &[]))
        }
        Command::Test { select, flags } => run::run(
            &inv,
            crate::runner::RunKind::Test,
            select,
            flags,
            (&[], &[]),
        ),
        Command::Seed { select, flags } => run::run(
            &inv,
            crate::runner::RunKind::Seed,
            select,
            flags,
            (&[], &[]),
        ),
        Command::Snapshot { select, flags } => run::run(
            &inv,
            crate::runner::RunKind::Snapshot,
            select,
            flags,
            (&[], &[]),
        ),
        Command::Retry => run::retry(&inv),
        Command::Build {
            select,
            flags,
            resource_type,
            exclude_resource_type,
        } => run::run(
            &inv,
            crate::runner::RunKind::Build,
            select,
            flags,
            (resource_type, exclude_resource_type),
        ),
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
        Command::Debug => debug::run(&inv),
        Command::Init {
            project_name,
            skip_profile_setup,
        } => init::run(&inv, project_name.as_deref(), *skip_profile_setup),
    }
}

pub use crate::timing::StageTimer;

/// Loads and parses the project: every stage up to the graph.
pub fn load_and_parse(inv: &Invocation, command: &str) -> Result<Loaded, Error> {
    let timer = StageTimer::new();
    let opts = inv.load_options()?;
    let mut project = project::load(&opts)?;
    timer.mark("load files");
    inv.output.warnings(&project.warnings);
    // Every stage runs even when an earlier one found errors in some files, so that one run
    // reports every problem of the project; the command fails at the end with all of them.
    let mut problems = Diagnostics::default();
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
    let info = InvocationInfo::new(command);
    if let Err(e) = parse_project(&mut project, &jenv, adapter.clone(), &info) {
        problems.extend(e.diagnostics());
    }
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

    /// The nodes a command works on.
    pub fn select(&self, args: &SelectArgs) -> Result<BTreeSet<String>, Error> {
        select::select(&self.project, &self.graph, &self.selection_spec(args)?)
    }

    /// The selection flags resolved: `--state`'s manifest read and parsed.
    pub fn selection_spec(&self, args: &SelectArgs) -> Result<select::SelectionSpec, Error> {
        let state_manifest = match &args.state {
            Some(dir) => {
                let path = dir.join("manifest.json");
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::one(
                        Diagnostic::error(
                            "flags",
                            format!("--state: cannot read {}: {e}", path.display()),
                        )
                        .with_help("point --state at the target folder of an earlier run"),
                    )
                })?;
                let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    Error::one(Diagnostic::error(
                        "flags",
                        format!("--state: {} is not valid JSON: {e}", path.display()),
                    ))
                })?;
                check_state_adapter(&manifest, &path, &self.project)?;
                Some(manifest)
            }
            None => None,
        };
        Ok(select::SelectionSpec {
            select: args.select.clone(),
            exclude: args.exclude.clone(),
            selector: args.selector.clone(),
            indirect: args.indirect_selection,
            state_manifest,
        })
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
    inv.output.info(&loaded.summary());
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
