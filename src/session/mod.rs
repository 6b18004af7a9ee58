//! One command's session with the project: the stages every command runs first (load, the
//! Jinja environment, the parse render, the graph), and what the later stages (the runner,
//! artifacts, the commands) share of it: [`Loaded`]. It sits below the runner and the commands,
//! so both can use it without importing each other.

pub mod lineage;
pub mod parse_cache;
pub mod pii;

use crate::adapter::{self, Adapter};
use crate::error::warn_error::WarnErrorOptions;
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::events::{Event, kinds};
use crate::graph::{self, Graph};
use crate::invocation::{Invocation, Output};
use crate::jinja::JinjaEnv;
use crate::jinja::parse::{InvocationInfo, parse_project_reusing};
use crate::project::{self, Project, ResourceType};
use crate::timing::StageTimer;
use std::path::Path;
use std::sync::Arc;

/// A project loaded, rendered once and wired into a graph.
pub struct Loaded {
    pub project: Arc<Project>,
    pub jenv: JinjaEnv,
    pub graph: Arc<Graph>,
    pub adapter: Arc<dyn Adapter>,
    pub info: InvocationInfo,
    /// Which warnings are errors: the command line's options, else dbt_project.yml's `flags:`.
    pub warn_error: WarnErrorOptions,
    /// Where warnings go.
    pub output: Output,
    /// The parse cache's record of this parse (`None`: off, or the parse was not cached), and
    /// whether loading and parsing showed any warning.
    pub parse_cache: Option<parse_cache::Pending>,
    pub warned: bool,
}

/// Where and how to load the project: the command line's options, with the project directory
/// found (`--project-dir`, else the current directory or the nearest parent with a
/// dbt_project.yml).
pub fn load_options(inv: &Invocation) -> Result<project::LoadOptions, Error> {
    let l = &inv.load;
    Ok(project::LoadOptions {
        project_dir: project::find_project_dir(inv.project_dir.as_deref())?,
        profiles_dir: l.profiles_dir.clone(),
        profile: l.profile.clone(),
        target: l.target.clone(),
        threads: l.threads,
        cli_vars: l.cli_vars.clone(),
        target_path: l.target_path.clone(),
    })
}

/// Loads and parses the project for `command` (dbt's `flags.WHICH`: `run`, `compile`...):
/// every stage up to the graph.
pub fn load_and_parse(inv: &Invocation, command: &str) -> Result<Loaded, Error> {
    let timer = StageTimer::new();
    let opts = load_options(inv)?;
    let loaded_at = parse_cache::now_ns();
    let loaded = project::load(&opts, &crate::adapter::ENGINES);
    // The log file lives in the project (log-path, `logs` by default), once it is found.
    let log_dir = match &loaded {
        Ok(p) => p.dir.join(p.config.log_path.as_deref().unwrap_or("logs")),
        Err(_) => opts.project_dir.join("logs"),
    };
    crate::events::attach_log_dir(&log_dir);
    let mut project = loaded?;
    // A package packages.yml asks for but that is not installed stops here: every macro, test
    // and ref of it would fail otherwise.
    let installed = project.packages.iter().map(|p| p.name.clone()).collect();
    crate::deps::check_installed(
        &project.dir,
        &installed,
        &crate::deps::spec::RenderContext {
            cli_vars: project.cli_vars.clone(),
            dbt_version: crate::DBT_COMPAT_VERSION.to_string(),
        },
    )?;
    project.warnings.extend(dbt_version_warnings(&project));
    timer.mark("load files");
    // Every stage runs even when an earlier one found errors in some files, so that one run
    // reports every problem of the project; the command fails at the end with all of them.
    let mut problems = Diagnostics::default();
    let mut warn_error = inv.warn_error.clone().or_project(&project.config.flags)?;
    let mut warnings = std::mem::take(&mut warn_error.deprecations);
    warnings.append(&mut project.warnings);
    let (shown, promoted) = warn_error.split(&warnings);
    let mut warned = !shown.is_empty();
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
    let info = InvocationInfo::new(command)
        .with_flags(inv.flags.clone())
        .with_warn_error(warn_error.clone());
    // The parse cache: the nodes whose earlier parse render still holds are not rendered.
    let cache = if !problems.has_errors() {
        parse_cache::prepare(inv, &project, command, loaded_at)
    } else {
        None
    };
    timer.mark("parse cache");
    let (mut reuse, pending) = match cache {
        Some((reuse, pending)) => (reuse, Some(pending)),
        None => (Default::default(), None),
    };
    let reused: std::collections::BTreeSet<String> = reuse.keys().cloned().collect();
    let mut pending =
        match parse_project_reusing(&mut project, &jenv, adapter.clone(), &info, &mut reuse) {
            Ok(records) => pending.map(|p| parse_cache::finish(p, &project, records, &reused)),
            Err(e) => {
                problems.extend(e.diagnostics());
                None
            }
        };
    // Warnings found while parsing (e.g. a contract's constraints on a view).
    let parse_warnings = std::mem::take(&mut project.warnings);
    let (shown, promoted) = warn_error.split(&parse_warnings);
    warned |= !shown.is_empty();
    inv.output.warnings(&shown);
    problems.extend(promoted);
    timer.mark("parse render");
    let graph = match graph::build(&project) {
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
    if let Some(g) = &graph {
        let (shown, promoted) = warn_error.split(&g.warnings);
        warned |= !shown.is_empty();
        inv.output.warnings(&shown);
        problems.extend(promoted);
    }
    if graph.is_some() {
        let unused = project::unused_config::unused_config_paths(&project);
        let (shown, promoted) = warn_error.split(&unused);
        warned |= !shown.is_empty();
        inv.output.warnings(&shown);
        problems.extend(promoted);
    }
    if problems.has_errors() {
        pending = None;
    }
    problems.checkpoint()?;
    let Some(graph) = graph else {
        return Err(problems.into_error());
    };
    Ok(Loaded {
        project: Arc::new(project),
        jenv,
        graph: Arc::new(graph),
        adapter,
        info,
        warn_error,
        output: inv.output.clone(),
        parse_cache: pending,
        warned,
    })
}

impl Loaded {
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
        let semantic = |kind: crate::project::semantic::SemanticKind| {
            self.project
                .semantic
                .values()
                .filter(|n| n.kind == kind)
                .count()
        };
        use crate::project::semantic::SemanticKind;
        let metrics = semantic(SemanticKind::Metric);
        if metrics > 0 {
            parts.push(format!(
                "{metrics} metric{}",
                if metrics == 1 { "" } else { "s" }
            ));
        }
        let m = self.project.macros.len() + self.jenv.builtin_macros.len();
        parts.push(format!("{m} macros"));
        let sm = semantic(SemanticKind::SemanticModel);
        if sm > 0 {
            parts.push(format!(
                "{sm} semantic model{}",
                if sm == 1 { "" } else { "s" }
            ));
        }
        let sq = semantic(SemanticKind::SavedQuery);
        if sq > 0 {
            parts.push(format!(
                "{sq} saved quer{}",
                if sq == 1 { "y" } else { "ies" }
            ));
        }
        let u = self
            .project
            .unit_tests
            .keys()
            .filter(|id| self.graph.parents.contains_key(*id))
            .count();
        if u > 0 {
            parts.push(format!("{u} unit test{}", if u == 1 { "" } else { "s" }));
        }
        format!("Found {}", parts.join(", "))
    }

    /// dbt's `FoundStats` event: the line above, and its counts as `stat_line`.
    pub fn found(&self) -> Event {
        found_event(self.summary())
    }
}

/// dbt's `FoundStats` event for the line "Found ...".
pub fn found_event(line: String) -> Event {
    let stat_line = line.trim_start_matches("Found ").to_string();
    Event::new(kinds::FOUND_STATS, line).with("stat_line", stat_line)
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
        let parsed = loaded.project.clone();
        let dag = loaded.graph.clone();
        Arc::new(move || crate::schemas::graph_context_json(&parsed, &dag.depends_on))
            as Arc<dyn Fn() -> serde_json::Value + Send + Sync>
    })
}

/// Hands a loaded project back to the operating system instead of freeing it piece by piece: the
/// command is done and the process exits next, and freeing a 10,000-model project object by
/// object takes ~50 ms (5% of a parse). Like rustc, we let the process exit reclaim it.
pub fn exit_without_freeing(loaded: Loaded) {
    std::mem::forget(loaded);
}

/// Writes `bytes` to `path` unless the file already holds exactly them: the writer of the
/// `target/compiled` and `target/run` files. Creating and rewriting files is what costs when
/// thousands of compiled SQL files are written (on some disks far more than the SQL took to
/// render); reading one to compare is cheap. Secrets are scrubbed ([`crate::events::secrets`]).
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let bytes = crate::events::secrets::scrub_bytes(bytes);
    let bytes = bytes.as_ref();
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes)
}

/// [`write_if_changed`] for a file known not to exist yet (its folder was just created): written
/// without first trying to read it back. Secrets are scrubbed as there.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, crate::events::secrets::scrub_bytes(bytes).as_ref())
}

/// `require-dbt-version` of the root project and of each installed package, checked against the
/// dbt version kiln follows: outside the range, a warning that names it (dbt stops there unless
/// `--no-version-check`; kiln runs the project and says so).
fn dbt_version_warnings(project: &Project) -> Vec<Diagnostic> {
    let version = crate::DBT_COMPAT_VERSION;
    let root = (
        "your project".to_string(),
        "dbt_project.yml".to_string(),
        &project.config,
    );
    let packages = project.packages.iter().map(|p| {
        let file = format!("{}/dbt_project.yml", p.shown_dir);
        (format!("package '{}'", p.name), file, &p.config)
    });
    std::iter::once(root)
        .chain(packages)
        .filter_map(|(who, file, cfg)| {
            let require = cfg.require_dbt_version.to_vec();
            if crate::deps::hub::compatible(&require, version) {
                return None;
            }
            let d = Diagnostic::warning(
                "version-check",
                format!(
                    "{who} requires dbt {}, and kiln follows dbt {version}",
                    require.join(", ")
                ),
            )
            .with_help("it may use what this dbt version does not have: look for a version of it made for this dbt version");
            use crate::project::yaml::{self, Part, Step};
            let at = std::fs::read_to_string(project.dir.join(&file))
                .ok()
                .and_then(|text| {
                    let key = [Step::key("require-dbt-version")];
                    yaml::location(Path::new(&file), &text, &key, Part::Value)
                });
            Some(match at {
                Some(at) => d.at(at),
                None => d.in_file(file),
            })
        })
        .collect()
}
