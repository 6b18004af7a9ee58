//! Reads every file of a project into a [`Project`]. Problems are collected across all files and
//! reported together; only a broken dbt_project.yml or profile stops loading early, because
//! everything else depends on them.
//!
//! One file per concern: the SQL, seed and snapshot files as nodes ([`nodes`]), macros
//! ([`macros`]), docs blocks and descriptions ([`docs`]), properties YAML applied to the nodes
//! ([`patch`]), sources ([`sources`]), exposures ([`exposures`]) and `selectors.yml`
//! ([`selectors`]). The [`Loader`] here holds what they build.
//!
//! Installed packages ([`packages`]) are dbt projects too: each is read by a [`Loader`] of its
//! own (its dbt_project.yml, paths, config trees and vars), and what it builds joins the root
//! project's. A package's files keep dbt's paths (relative to the package's folder) and are shown
//! to the user, and read again by the later stages, by their path from the root project
//! ([`FoundFile::shown`], [`Node::file`], a macro's template name).

mod docs;
mod exposures;
mod macros;
mod nodes;
mod packages;
mod patch;
mod selectors;
mod semantic;
mod sources;
mod unit_tests;

pub use macros::{rewrite_macro_source, scan_macros};

use super::dbt_project::DbtProject;
use super::discover::{FileIndex, FoundFile};
use super::node::*;
use super::yaml::{self, Part, Step};
use super::{MacroFile, Project, profiles};
use crate::error::{Diagnostic, Diagnostics, Error, Location};
use crate::project::render::render_yaml_strings_except;
use regex::Regex;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the command line says about where and how to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub project_dir: PathBuf,
    pub profiles_dir: Option<PathBuf>,
    pub profile: Option<String>,
    pub target: Option<String>,
    pub threads: Option<usize>,
    pub cli_vars: Map<String, Value>,
    pub target_path: Option<PathBuf>,
}

/// The project directory: `--project-dir`, else the current directory or the nearest parent that
/// holds a dbt_project.yml.
pub fn find_project_dir(flag: Option<&Path>) -> Result<PathBuf, Diagnostic> {
    if let Some(dir) = flag {
        if dir.join("dbt_project.yml").is_file() {
            return Ok(dir.to_path_buf());
        }
        return Err(Diagnostic::error(
            "project",
            format!("no dbt_project.yml in {}", dir.display()),
        )
        .with_help("pass --project-dir pointing at the folder that holds dbt_project.yml, or run `kiln init`"));
    }
    let cwd = std::env::current_dir().map_err(|e| {
        Diagnostic::error("project", format!("cannot read the current directory: {e}"))
    })?;
    let mut dir: Option<&Path> = Some(&cwd);
    while let Some(d) = dir {
        if d.join("dbt_project.yml").is_file() {
            return Ok(d.to_path_buf());
        }
        dir = d.parent();
    }
    Err(Diagnostic::error(
        "project",
        format!(
            "no dbt_project.yml in {} or any parent folder",
            cwd.display()
        ),
    )
    .with_help("run kiln inside a dbt project, pass --project-dir, or create one with `kiln init`"))
}

fn read(path: &Path) -> Result<String, Diagnostic> {
    std::fs::read_to_string(path).map_err(|e| {
        let d =
            Diagnostic::error("io", format!("cannot read {}: {e}", path.display())).in_file(path);
        match e.kind() {
            std::io::ErrorKind::InvalidData => d.with_help("save the file as UTF-8 text"),
            _ => d,
        }
    })
}

/// A file's checksum as dbt computes it: sha256 of its text with leading and trailing whitespace
/// removed (dbt strips every file it reads), so `state:modified` agrees with a dbt manifest.
pub fn file_checksum(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => sha256_hex(text.trim().as_bytes()),
        Err(_) => sha256_hex(bytes.trim_ascii()),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads and renders a dbt_project.yml (`shown` as messages name it): Jinja in its values is
/// rendered with `--vars`, except in hooks. Returns the typed file and its text.
fn read_project_file(
    path: &Path,
    shown: &Path,
    cli_vars: &Map<String, Value>,
) -> Result<(DbtProject, String), Diagnostic> {
    let text = read(path)?;
    let shown = shown.to_path_buf();
    // Typed parse of the text first: type errors carry their line and column.
    let _typed: DbtProject = yaml::from_str(&shown, &text)?;
    let raw = yaml::to_json(&shown, &text)?;
    let rendered = render_yaml_strings_except(
        &raw,
        cli_vars,
        &[
            "on-run-start",
            "on-run-end",
            "pre-hook",
            "post-hook",
            "+pre-hook",
            "+post-hook",
        ],
    )
    .map_err(|f| {
        let d = Diagnostic::error("project", f.message.clone()).with_help(
            f.hint
                .clone()
                .unwrap_or_else(|| "fix the Jinja in this value".into()),
        );
        match f.location(&shown, &text) {
            Some(at) => d.at(at),
            None => d.in_file(&shown),
        }
    })?;
    let cfg: DbtProject = serde_json::from_value(rendered)
        .map_err(|e| Diagnostic::error("project", e.to_string()).in_file(&shown))?;
    let name = &cfg.name;
    if !Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$")
        .map(|r| r.is_match(name))
        .unwrap_or(true)
    {
        return Err(Diagnostic::error(
            "project",
            format!("project name '{name}' is not a valid identifier"),
        )
        .at(top_level_key(&shown, &text, "name"))
        .with_help("use letters, digits and underscores, starting with a letter"));
    }
    Ok((cfg, text))
}

/// Loads the project at `opts.project_dir`, its target read by one of `engines`, and the packages
/// installed in its packages-install-path. Only a broken dbt_project.yml (the root project's or
/// a package's) or profile fails here; errors in other files are handed back in
/// [`Project::errors`] for the command to report with those of the later stages.
pub fn load(opts: &LoadOptions, engines: &dyn profiles::Engines) -> Result<Project, Error> {
    let dir = opts.project_dir.clone();
    let shown = PathBuf::from("dbt_project.yml");
    let (mut cfg, text) = read_project_file(&dir.join(&shown), &shown, &opts.cli_vars)?;
    if let Some(tp) = &opts.target_path {
        cfg.target_path = Some(tp.display().to_string());
    }
    let name = cfg.name.clone();
    let vars = project_vars(&cfg, &opts.cli_vars);
    let profile_name = opts
        .profile
        .clone()
        .or_else(|| cfg.profile.clone())
        .ok_or_else(|| {
            Diagnostic::error("profile", "dbt_project.yml does not name a profile")
                .in_file(&shown)
                .with_help("add `profile: <name>` naming a profile in profiles.yml")
        })?;
    let profiles_path = profiles::find_profiles_file(opts.profiles_dir.as_deref(), &dir)?;
    let target_dir = dir.join(cfg.target_path());
    let target = profiles::load_target(
        &profiles_path,
        &profile_name,
        opts.target.as_deref(),
        opts.threads,
        profiles::TargetContext {
            project_dir: &dir,
            target_dir: &target_dir,
            engines,
        },
        &opts.cli_vars,
    )
    .map_err(|d| match d.code {
        // The name came from dbt_project.yml: point there, where it is usually fixed.
        "unknown-profile" if opts.profile.is_none() => {
            d.at(top_level_key(&shown, &text, "profile"))
        }
        _ => d,
    })?;

    let skip = [
        cfg.target_path(),
        cfg.packages_install_path(),
        "logs".into(),
    ];
    let mut installed = packages::discover(&dir, &cfg, &opts.cli_vars)?;
    let mut loader = Loader {
        files: FileIndex::new(&dir, &skip),
        dir: dir.clone(),
        shown_prefix: String::new(),
        name: name.clone(),
        root: None,
        cfg: cfg.clone(),
        target_db: target.database.clone(),
        quote_char: target.quote_char,
        target_schema: target.schema.clone(),
        diags: Diagnostics::default(),
        nodes: BTreeMap::new(),
        sources: BTreeMap::new(),
        exposures: BTreeMap::new(),
        unit_tests: vec![],
        expanded_unit_tests: BTreeMap::new(),
        semantic: BTreeMap::new(),
        disabled_semantic: BTreeMap::new(),
        time_spines: BTreeMap::new(),
        macros: BTreeMap::new(),
        macro_files: vec![],
        docs: BTreeMap::new(),
        all_docs: BTreeMap::new(),
        names_seen: BTreeMap::new(),
        test_tree: cfg.data_test_configs(),
        vars: vars.clone(),
        target_fields: {
            let mut m = target.public_fields();
            m.insert("name".into(), Value::from(target.name.clone()));
            m.insert("schema".into(), Value::from(target.schema.clone()));
            m.insert("database".into(), Value::from(target.database.clone()));
            m.insert("type".into(), Value::from(target.adapter_type.clone()));
            m.insert(
                "profile_name".into(),
                Value::from(target.profile_name.clone()),
            );
            Value::Object(m)
        },
    };
    let mut package_loaders: Vec<Loader> =
        installed.iter().map(|p| loader.for_package(p)).collect();
    // Macros and docs blocks of every project first: a description may use the docs block of
    // another package, as in dbt.
    let timer = crate::timing::StageTimer::nested();
    for l in std::iter::once(&mut loader).chain(package_loaders.iter_mut()) {
        l.load_macros();
        l.load_docs();
    }
    let all_docs: BTreeMap<String, DocBlock> = std::iter::once(&loader)
        .chain(package_loaders.iter())
        .flat_map(|l| l.docs.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    timer.mark("macros and docs");
    for l in std::iter::once(&mut loader).chain(package_loaders.iter_mut()) {
        l.all_docs.clone_from(&all_docs);
        l.load_nodes(&timer);
    }
    for p in package_loaders {
        loader.absorb(p);
    }
    // kiln's own package of checks, when the project uses it and has not installed it: its
    // macros only (it has no nodes), loaded after the nodes that name it.
    if let Some(kiln) = packages::builtin_kiln(&cfg, &installed)
        && uses_package(&loader, &kiln.name)
    {
        let mut l = loader.for_package(&kiln);
        l.load_macros();
        loader.absorb(l);
        installed.push(kiln);
    }
    let selectors = loader.load_selectors();
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = loader
        .diags
        .into_vec()
        .into_iter()
        .partition(Diagnostic::is_error);
    Ok(Project {
        dir,
        config: cfg,
        name,
        target,
        vars,
        cli_vars: opts.cli_vars.clone(),
        packages: installed,
        nodes: loader
            .nodes
            .into_iter()
            .map(|(k, n)| (k, std::sync::Arc::new(*n)))
            .collect(),
        disabled: BTreeMap::new(),
        sources: loader.sources,
        disabled_sources: BTreeMap::new(),
        exposures: loader.exposures,
        unit_tests: loader.expanded_unit_tests,
        semantic: loader.semantic,
        disabled_semantic: loader.disabled_semantic,
        time_spines: loader.time_spines,
        macros: loader.macros,
        macro_files: loader.macro_files,
        docs: loader.docs,
        selectors,
        warnings,
        errors,
    })
}

/// Whether the loaded project names package `name`: a generic test from it (`name.test`) or a
/// macro calling into it (`name.macro(...)`).
fn uses_package(loader: &Loader, name: &str) -> bool {
    let call = format!("{name}.");
    loader
        .nodes
        .values()
        .any(|n| n.test.as_ref().and_then(|t| t.namespace.as_deref()) == Some(name))
        || loader.macro_files.iter().any(|f| f.source.contains(&call))
}

/// Where a top-level key of dbt_project.yml is written (line 1 if it is not).
fn top_level_key(shown: &Path, text: &str, key: &'static str) -> Location {
    yaml::location(shown, text, &[Step::key(key)], Part::Key)
        .unwrap_or_else(|| Location::from_line_col(shown, text, 1, 1))
}

/// Global vars, then the ones scoped to the root project, then `--vars`.
fn project_vars(cfg: &DbtProject, cli: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    add_vars_for(&mut out, cfg, &cfg.name);
    for (k, v) in cli {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// Adds what `cfg`'s `vars:` give the nodes of project `project`: its global vars, then those
/// scoped to `project` (`vars: {<project>: {...}}`), as dbt's `vars_for` does.
fn add_vars_for(out: &mut Map<String, Value>, cfg: &DbtProject, project: &str) {
    for (k, v) in &cfg.vars {
        if (k == &cfg.name || k == project) && v.is_object() {
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    if let Some(Value::Object(scoped)) = cfg.vars.get(project) {
        for (k, v) in scoped {
            out.insert(k.clone(), v.clone());
        }
    }
}

/// What loading has built so far; the submodules add to it, one kind of file each. One per
/// project: the root project's, and one per installed package.
struct Loader {
    /// The root project's folder: the paths shown to the user ([`FoundFile::shown`]) are
    /// relative to it.
    dir: PathBuf,
    /// Each resource path walked once.
    files: FileIndex,
    /// This project's folder relative to the root project's (empty for the root project).
    shown_prefix: String,
    name: String,
    /// For a package, the root project's dbt_project.yml (its configs scoped to the package
    /// apply over the package's own); `None` for the root project.
    root: Option<Box<DbtProject>>,
    cfg: DbtProject,
    target_db: String,
    /// The target engine's identifier quote (tests on `quote: true` columns quote the name).
    quote_char: char,
    target_schema: String,
    diags: Diagnostics,
    /// Boxed while loading: a node is about a kilobyte, and B-tree inserts in random order would
    /// move it many times.
    nodes: BTreeMap<String, Box<Node>>,
    sources: BTreeMap<String, SourceNode>,
    exposures: BTreeMap<String, ExposureNode>,
    /// `unit_tests:` entries read, until [`Loader::expand_unit_tests`] makes them
    /// `expanded_unit_tests` (one per tested model version).
    unit_tests: Vec<crate::project::unit_test::UnitTest>,
    expanded_unit_tests: BTreeMap<String, crate::project::unit_test::UnitTest>,
    semantic: BTreeMap<String, crate::project::semantic::SemanticNode>,
    disabled_semantic: BTreeMap<String, crate::project::semantic::SemanticNode>,
    time_spines: BTreeMap<String, Value>,
    macros: BTreeMap<String, MacroNode>,
    macro_files: Vec<MacroFile>,
    docs: BTreeMap<String, DocBlock>,
    /// The docs blocks of every project (root and packages), which `doc()` in descriptions may
    /// name.
    all_docs: BTreeMap<String, DocBlock>,
    /// unique_id → file that defined it, to report duplicates.
    names_seen: BTreeMap<String, String>,
    /// `data_tests:` merged over `tests:` from dbt_project.yml.
    test_tree: Map<String, Value>,
    /// Variables and `target` fields for Jinja in property values.
    vars: Map<String, Value>,
    target_fields: Value,
}

impl Loader {
    pub(super) fn find(&self, roots: &[String], exts: &[&str]) -> Vec<FoundFile> {
        self.files.find(roots, exts)
    }

    pub(super) fn read_found(&mut self, f: &FoundFile) -> Option<String> {
        match read(&f.abs) {
            Ok(t) => Some(t),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    /// The root project's name.
    pub(super) fn root_name(&self) -> &str {
        self.root.as_ref().map_or(&self.name, |r| &r.name)
    }

    /// Every file of the project but its macros and docs blocks (read first, for all projects).
    pub(super) fn load_nodes(&mut self, timer: &crate::timing::StageTimer) {
        let (python, models): (Vec<FoundFile>, Vec<FoundFile>) = self
            .find(&self.cfg.model_paths(), &["sql", "py"])
            .into_iter()
            .partition(|f| f.extension() == "py");
        for f in python {
            self.diags.push(
                Diagnostic::warning(
                    "python-model",
                    "Python models are not supported by kiln; skipped",
                )
                .in_file(&f.shown),
            );
        }
        // Models are read while the properties YAML is parsed: both on every core, and neither
        // needs the other until the properties are applied.
        let property_files = self.property_files();
        let (models, properties) = rayon::join(
            || self.read_sql_nodes(ResourceType::Model, &models),
            || self.parse_properties(property_files),
        );
        self.register_all(models);
        timer.mark("models, properties");
        let analyses = self.find(&self.cfg.analysis_paths(), &["sql"]);
        self.add_sql_nodes(ResourceType::Analysis, &analyses);
        let singular: Vec<FoundFile> = self
            .find(&self.cfg.test_paths(), &["sql"])
            .into_iter()
            .filter(|f| !f.path.starts_with("generic/") && !f.path.starts_with("fixtures/"))
            .collect();
        self.add_sql_nodes(ResourceType::Test, &singular);
        for f in self.find(&self.cfg.seed_paths(), &["csv"]) {
            self.add_seed(&f);
        }
        for f in self.find(&self.cfg.snapshot_paths(), &["sql"]) {
            self.add_snapshots(&f);
        }
        timer.mark("other files");
        self.apply_properties(properties, timer);
        self.expand_unit_tests();
    }

    pub(super) fn project_tree(&self, rt: ResourceType) -> &Map<String, Value> {
        match rt {
            ResourceType::Seed => &self.cfg.seeds,
            ResourceType::Snapshot => &self.cfg.snapshots,
            // As in dbt, analyses take their configs from the `models:` tree.
            ResourceType::Model | ResourceType::Analysis => &self.cfg.models,
            ResourceType::Test => &self.test_tree,
            ResourceType::Source => &self.cfg.sources,
            ResourceType::Exposure => &self.cfg.exposures,
            // Unit tests are not nodes: the tree is never asked for them.
            ResourceType::UnitTest => &self.cfg.exposures,
            ResourceType::SemanticModel | ResourceType::Metric | ResourceType::SavedQuery => {
                static NONE: std::sync::LazyLock<Map<String, Value>> =
                    std::sync::LazyLock::new(Map::new);
                &NONE
            }
        }
    }
}
