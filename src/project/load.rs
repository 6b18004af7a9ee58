//! Reads every file of a project into a [`Project`]. Problems are collected across all files and
//! reported together; only a broken dbt_project.yml or profile stops loading early, because
//! everything else depends on them.

use super::config::{self, Config, merge_into, project_config_for};
use super::dbt_project::DbtProject;
use super::discover::{FileIndex, FoundFile};
use super::node::*;
use super::properties::{ColumnProps, NodeProps, PropertiesFile, SourceProps};
use super::{MacroFile, Project, generic_tests, profiles, yaml};
use crate::error::{Diagnostic, Diagnostics, Error, LineIndex, Location};
use crate::jinja::static_render::{
    render_descriptions, render_yaml_strings_except, render_yaml_strings_with,
};
use indexmap::IndexMap;
use rayon::prelude::*;
use regex::Regex;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

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

/// Removes one trailing newline from every string in `v` without Jinja in it, as rendering it
/// through Jinja would (strings with Jinja lose it when they are rendered).
fn drop_trailing_newlines(v: &mut Value) {
    match v {
        Value::String(s) if s.ends_with('\n') && !s.contains("{{") && !s.contains("{%") => {
            s.pop();
        }
        Value::Array(items) => items.iter_mut().for_each(drop_trailing_newlines),
        Value::Object(o) => o.values_mut().for_each(drop_trailing_newlines),
        _ => {}
    }
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

/// Loads the project at `opts.project_dir`, its target read by one of `engines`. Only a broken
/// dbt_project.yml or profile fails here; errors in other files are handed back in
/// [`Project::errors`] for the command to report with those of the later stages.
pub fn load(opts: &LoadOptions, engines: &dyn profiles::Engines) -> Result<Project, Error> {
    let dir = opts.project_dir.clone();
    let project_file = dir.join("dbt_project.yml");
    let text = read(&project_file)?;
    let shown = PathBuf::from("dbt_project.yml");
    // Typed parse of the text first: type errors carry their line and column.
    let _typed: DbtProject = yaml::from_str(&shown, &text)?;
    let raw = yaml::to_json(&shown, &text)?;
    let rendered = render_yaml_strings_except(
        &raw,
        &opts.cli_vars,
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
        match text.find(f.template.as_str()) {
            Some(offset) => d.at(Location::from_offset(&shown, &text, offset)),
            None => d.in_file(&shown),
        }
    })?;
    let mut cfg: DbtProject = serde_json::from_value(rendered)
        .map_err(|e| Diagnostic::error("project", e.to_string()).in_file(&shown))?;
    if let Some(tp) = &opts.target_path {
        cfg.target_path = Some(tp.display().to_string());
    }
    let name = cfg.name.clone();
    if !Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$")
        .map(|r| r.is_match(&name))
        .unwrap_or(true)
    {
        return Err(Diagnostic::error(
            "project",
            format!("project name '{name}' is not a valid identifier"),
        )
        .at(Location::find(&shown, &text, "name:"))
        .with_help("use letters, digits and underscores, starting with a letter")
        .into());
    }

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
            d.at(Location::find(&shown, &text, "profile:"))
        }
        _ => d,
    })?;

    let skip = [
        cfg.target_path(),
        cfg.packages_install_path(),
        "logs".into(),
    ];
    let mut loader = Loader {
        files: FileIndex::new(&dir, &skip),
        dir: dir.clone(),
        name: name.clone(),
        cfg: cfg.clone(),
        target_db: target.database.clone(),
        target_schema: target.schema.clone(),
        diags: Diagnostics::default(),
        nodes: BTreeMap::new(),
        sources: BTreeMap::new(),
        exposures: BTreeMap::new(),
        macros: BTreeMap::new(),
        macro_files: vec![],
        docs: BTreeMap::new(),
        names_seen: BTreeMap::new(),
        test_tree: cfg.data_test_configs(),
        vars: vars.clone(),
        target_fields: {
            let mut m = target.fields.clone();
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
    loader.load_all();
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
        nodes: loader
            .nodes
            .into_iter()
            .map(|(k, n)| (k, std::sync::Arc::new(*n)))
            .collect(),
        disabled: BTreeMap::new(),
        sources: loader.sources,
        disabled_sources: BTreeMap::new(),
        exposures: loader.exposures,
        macros: loader.macros,
        macro_files: loader.macro_files,
        docs: loader.docs,
        selectors,
        warnings,
        errors,
    })
}

/// Global vars, then the ones scoped to the root project, then `--vars`.
fn project_vars(cfg: &DbtProject, cli: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in &cfg.vars {
        if k == &cfg.name && v.is_object() {
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    if let Some(Value::Object(scoped)) = cfg.vars.get(&cfg.name) {
        for (k, v) in scoped {
            out.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in cli {
        out.insert(k.clone(), v.clone());
    }
    out
}

static MACRO_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%-?\s*(macro|test|materialization)\s+([A-Za-z_][A-Za-z0-9_]*)([^%]*?)-?%\}")
        .expect("static regex")
});
static MACRO_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%-?\s*end(macro|test|materialization)\s*-?%\}").expect("static regex")
});
static DOCS_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)\{%-?\s*docs\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}")
        .expect("static regex")
});
static SNAPSHOT_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?s)\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}",
    )
    .expect("static regex")
});
static MATERIALIZATION_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*,?\s*(?:adapter\s*=\s*['"]([A-Za-z_]+)['"])?"#).expect("static regex")
});

/// A macro defined in `source`: (kind, macro name as registered, byte range of the whole block).
pub fn scan_macros(
    source: &str,
) -> Vec<(
    String,
    String,
    std::ops::Range<usize>,
    std::ops::Range<usize>,
)> {
    // Tags inside {# comments #} are not definitions: scan a copy with comments blanked out
    // (same length, so offsets stay valid for the original).
    let masked = mask_comments(source);
    let source = masked.as_str();
    let mut out = vec![];
    let mut pos = 0;
    while let Some(start) = MACRO_START.captures_at(source, pos) {
        let Some(whole) = start.get(0) else { break };
        let kind = start[1].to_string();
        let raw_name = start[2].to_string();
        let name = match kind.as_str() {
            "test" => format!("test_{raw_name}"),
            "materialization" => {
                let adapter = MATERIALIZATION_HEAD
                    .captures(&start[3])
                    .and_then(|c| c.get(1).map(|m| m.as_str().to_string()))
                    .unwrap_or_else(|| "default".into());
                format!("materialization_{raw_name}_{adapter}")
            }
            _ => raw_name,
        };
        let end = MACRO_END.find_at(source, whole.end());
        let block_end = end.map_or(source.len(), |m| m.end());
        out.push((kind, name, whole.start()..block_end, whole.range()));
        pos = block_end.max(whole.end());
    }
    out
}

/// `source` with the inside of every `{# ... #}` comment replaced by spaces (newlines kept).
fn mask_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{#") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find("#}").map_or(after.len(), |e| e + 2);
        for c in after[..end].chars() {
            if c == '\n' {
                out.push('\n');
            } else {
                // keep byte offsets: one space per UTF-8 byte
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Rewrites `{% test x(...) %}` to `{% macro test_x(...) %}` and `{% materialization m, adapter='a' %}`
/// to `{% macro materialization_m_a() %}`, keeping every line where it was.
pub fn rewrite_macro_source(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 64);
    let mut last = 0;
    for (kind, name, _block, head) in scan_macros(source) {
        if kind == "macro" {
            continue;
        }
        out.push_str(&source[last..head.start]);
        let head_text = &source[head.clone()];
        let open = if head_text.starts_with("{%-") {
            "{%-"
        } else {
            "{%"
        };
        let close = if head_text.ends_with("-%}") {
            "-%}"
        } else {
            "%}"
        };
        if kind == "test" {
            let args_start = head_text.find('(').unwrap_or(head_text.len());
            let args_end = head_text.rfind(')').map_or(head_text.len(), |i| i + 1);
            let args = if args_start < args_end {
                &head_text[args_start..args_end]
            } else {
                "()"
            };
            out.push_str(&format!("{open} macro {name}{args} {close}"));
        } else {
            out.push_str(&format!("{open} macro {name}() {close}"));
        }
        // keep line numbers stable
        for _ in 0..head_text.matches('\n').count() {
            out.push('\n');
        }
        last = head.end;
    }
    out.push_str(&source[last..]);
    MACRO_END
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let whole = &c[0];
            let open = if whole.starts_with("{%-") {
                "{%-"
            } else {
                "{%"
            };
            let close = if whole.ends_with("-%}") { "-%}" } else { "%}" };
            format!("{open} endmacro {close}")
        })
        .into_owned()
}

struct Loader {
    dir: PathBuf,
    /// Each resource path walked once.
    files: FileIndex,
    name: String,
    cfg: DbtProject,
    target_db: String,
    target_schema: String,
    diags: Diagnostics,
    /// Boxed while loading: a node is about a kilobyte, and B-tree inserts in random order would
    /// move it many times.
    nodes: BTreeMap<String, Box<Node>>,
    sources: BTreeMap<String, SourceNode>,
    exposures: BTreeMap<String, ExposureNode>,
    macros: BTreeMap<String, MacroNode>,
    macro_files: Vec<MacroFile>,
    docs: BTreeMap<String, DocBlock>,
    /// unique_id → file that defined it, to report duplicates.
    names_seen: BTreeMap<String, String>,
    /// `data_tests:` merged over `tests:` from dbt_project.yml.
    test_tree: Map<String, Value>,
    /// Variables and `target` fields for Jinja in property values.
    vars: Map<String, Value>,
    target_fields: Value,
}

impl Loader {
    fn find(&self, roots: &[String], exts: &[&str]) -> Vec<FoundFile> {
        self.files.find(roots, exts)
    }

    fn read_found(&mut self, f: &FoundFile) -> Option<String> {
        match read(&f.abs) {
            Ok(t) => Some(t),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    fn load_all(&mut self) {
        let timer = crate::timing::StageTimer::nested();
        self.load_macros();
        self.load_docs();
        timer.mark("macros and docs");
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
                .in_file(&f.original_file_path),
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
            .filter(|f| !f.path.starts_with("generic/"))
            .collect();
        self.add_sql_nodes(ResourceType::Test, &singular);
        for f in self.find(&self.cfg.seed_paths(), &["csv"]) {
            self.add_seed(&f);
        }
        for f in self.find(&self.cfg.snapshot_paths(), &["sql"]) {
            self.add_snapshots(&f);
        }
        timer.mark("other files");
        self.apply_properties(properties, &timer);
    }

    fn project_tree(&self, rt: ResourceType) -> &Map<String, Value> {
        match rt {
            ResourceType::Seed => &self.cfg.seeds,
            ResourceType::Snapshot => &self.cfg.snapshots,
            // As in dbt, analyses take their configs from the `models:` tree.
            ResourceType::Model | ResourceType::Analysis => &self.cfg.models,
            ResourceType::Test => &self.test_tree,
            ResourceType::Source => &self.cfg.sources,
            ResourceType::Exposure => &self.cfg.exposures,
        }
    }

    fn base_config(&self, rt: ResourceType, fqn: &[String]) -> Config {
        let mut c = Config::new();
        let default_mat = match rt {
            ResourceType::Model | ResourceType::Analysis => "view",
            ResourceType::Seed => "seed",
            ResourceType::Snapshot => "snapshot",
            ResourceType::Test => "test",
            _ => "",
        };
        c.insert("enabled".into(), Value::Bool(true));
        if !default_mat.is_empty() {
            c.insert("materialized".into(), Value::from(default_mat));
        }
        if rt == ResourceType::Test {
            c.insert("severity".into(), Value::from("ERROR"));
        }
        merge_into(&mut c, &project_config_for(self.project_tree(rt), fqn));
        c
    }

    fn register(&mut self, node: Node) {
        if let Some(prev) = self.names_seen.get(&node.unique_id) {
            self.diags.push(
                Diagnostic::error(
                    "duplicate",
                    format!(
                        "two {}s are named '{}': {} and {}",
                        node.resource_type, node.name, prev, node.original_file_path
                    ),
                )
                .in_file(&node.original_file_path)
                .with_help("names must be unique within a project: rename one of the files"),
            );
            return;
        }
        self.names_seen
            .insert(node.unique_id.clone(), node.original_file_path.clone());
        self.nodes.insert(node.unique_id.clone(), Box::new(node));
    }

    fn new_node(
        &self,
        rt: ResourceType,
        f: &FoundFile,
        name: String,
        fqn: Vec<String>,
        raw: String,
        checksum: String,
    ) -> Node {
        let config = self.base_config(rt, &fqn);
        Node {
            unique_id: format!("{}.{}.{}", rt.as_str(), self.name, name),
            resource_type: rt,
            name: name.clone(),
            package_name: self.name.clone(),
            path: f.path.clone(),
            original_file_path: f.original_file_path.clone(),
            file: PathBuf::from(&f.original_file_path),
            line_offset: 0,
            fqn,
            raw_code: raw,
            checksum,
            config,
            unrendered_config: Config::new(),
            description: String::new(),
            columns: IndexMap::new(),
            patch_path: None,
            refs: vec![],
            sources: vec![],
            depends_on_macros: vec![],
            database: self.target_db.clone(),
            schema: self.target_schema.clone(),
            alias: name,
            relation_name: None,
            test: None,
            version: None,
            latest_version: None,
            deprecation_date: None,
            constraints: vec![],
            doc_blocks: vec![],
        }
    }

    fn fqn_for(&self, f: &FoundFile, name: &str) -> Vec<String> {
        let mut fqn = vec![self.name.clone()];
        fqn.extend(f.folders());
        fqn.push(name.to_string());
        fqn
    }

    /// Reads SQL files on every core, then registers their nodes in path order.
    fn add_sql_nodes(&mut self, rt: ResourceType, files: &[FoundFile]) {
        let read = self.read_sql_nodes(rt, files);
        self.register_all(read);
    }

    /// Reads SQL files into nodes, on every core.
    fn read_sql_nodes(
        &self,
        rt: ResourceType,
        files: &[FoundFile],
    ) -> Vec<Result<Node, Diagnostic>> {
        files
            .par_iter()
            .map(|f| {
                let text = read(&f.abs)?;
                let name = f.stem();
                let checksum = file_checksum(text.as_bytes());
                if rt == ResourceType::Analysis {
                    // dbt files analyses under an `analysis` folder: in their path and fqn.
                    let mut fqn = vec![self.name.clone(), "analysis".to_string()];
                    fqn.extend(f.folders());
                    fqn.push(name.clone());
                    let mut node = self.new_node(rt, f, name, fqn, text, checksum);
                    node.path = format!("analysis/{}", f.path);
                    return Ok(node);
                }
                let fqn = self.fqn_for(f, &name);
                Ok(self.new_node(rt, f, name, fqn, text, checksum))
            })
            .collect()
    }

    fn register_all(&mut self, read: Vec<Result<Node, Diagnostic>>) {
        for r in read {
            match r {
                Ok(node) => self.register(node),
                Err(d) => self.diags.push(d),
            }
        }
    }

    fn add_seed(&mut self, f: &FoundFile) {
        let bytes = match std::fs::read(&f.abs) {
            Ok(b) => b,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error("io", format!("cannot read seed: {e}"))
                        .in_file(&f.original_file_path),
                );
                return;
            }
        };
        let name = f.stem();
        let fqn = self.fqn_for(f, &name);
        let node = self.new_node(
            ResourceType::Seed,
            f,
            name,
            fqn,
            String::new(),
            file_checksum(&bytes),
        );
        self.register(node);
    }

    fn add_snapshots(&mut self, f: &FoundFile) {
        let Some(text) = self.read_found(f) else {
            return;
        };
        let mut found = false;
        for cap in SNAPSHOT_BLOCK.captures_iter(&text) {
            found = true;
            let (Some(name_m), Some(body)) = (cap.get(1), cap.get(2)) else {
                continue;
            };
            let name = name_m.as_str().to_string();
            let mut fqn = self.fqn_for(f, &f.stem());
            fqn.push(name.clone());
            let checksum = file_checksum(text.as_bytes());
            let mut node = self.new_node(
                ResourceType::Snapshot,
                f,
                name,
                fqn,
                body.as_str().to_string(),
                checksum,
            );
            node.line_offset = text[..body.start()].matches('\n').count();
            self.register(node);
        }
        if !found && !text.trim().is_empty() {
            self.diags.push(
                Diagnostic::warning(
                    "snapshot",
                    "no {% snapshot name %} ... {% endsnapshot %} block in this file",
                )
                .in_file(&f.original_file_path),
            );
        }
    }

    fn load_macros(&mut self) {
        let mut files = self.find(&self.cfg.macro_paths(), &["sql"]);
        files.extend(
            self.find(&self.cfg.test_paths(), &["sql"])
                .into_iter()
                .filter(|f| f.path.starts_with("generic/")),
        );
        for f in files {
            let Some(text) = self.read_found(&f) else {
                continue;
            };
            let rewritten = rewrite_macro_source(&text);
            for (_kind, name, block, _head) in scan_macros(&text) {
                let uid = format!("macro.{}.{}", self.name, name);
                if let Some(prev) = self.macros.get(&uid) {
                    self.diags.push(
                        Diagnostic::error(
                            "duplicate",
                            format!(
                                "macro '{name}' is defined twice: {} and {}",
                                prev.original_file_path, f.original_file_path
                            ),
                        )
                        .at(Location::from_offset(
                            &f.original_file_path,
                            &text,
                            block.start,
                        ))
                        .with_help("rename or remove one of them"),
                    );
                    continue;
                }
                self.macros.insert(
                    uid.clone(),
                    MacroNode {
                        unique_id: uid,
                        name,
                        package_name: self.name.clone(),
                        path: f.original_file_path.clone(),
                        original_file_path: f.original_file_path.clone(),
                        macro_sql: text[block].to_string(),
                        depends_on_macros: vec![],
                        description: String::new(),
                        meta: Map::new(),
                        arguments: vec![],
                        patch_path: None,
                        docs: None,
                        template: f.original_file_path.clone(),
                    },
                );
            }
            self.macro_files.push(MacroFile {
                template: f.original_file_path.clone(),
                package: self.name.clone(),
                source: rewritten,
            });
        }
    }

    fn load_docs(&mut self) {
        for f in self.find(&self.cfg.docs_paths(), &["md"]) {
            let Some(text) = self.read_found(&f) else {
                continue;
            };
            for cap in DOCS_BLOCK.captures_iter(&text) {
                let (Some(name), Some(body)) = (cap.get(1), cap.get(2)) else {
                    continue;
                };
                let uid = format!("doc.{}.{}", self.name, name.as_str());
                if let Some(prev) = self.docs.get(&uid) {
                    self.diags.push(
                        Diagnostic::error(
                            "duplicate",
                            format!(
                                "docs block '{}' is defined twice: {} and {}",
                                name.as_str(),
                                prev.original_file_path,
                                f.original_file_path
                            ),
                        )
                        .at(Location::from_offset(
                            &f.original_file_path,
                            &text,
                            name.start(),
                        ))
                        .with_help("docs block names are global to the project: rename or remove one of them"),
                    );
                    continue;
                }
                self.docs.insert(
                    uid.clone(),
                    DocBlock {
                        unique_id: uid,
                        name: name.as_str().to_string(),
                        package_name: self.name.clone(),
                        path: f.path.clone(),
                        original_file_path: f.original_file_path.clone(),
                        block_contents: body.as_str().trim().to_string(),
                    },
                );
            }
        }
    }

    fn load_selectors(&mut self) -> Option<(PathBuf, String, Value)> {
        let path = self.dir.join("selectors.yml");
        if !path.is_file() {
            return None;
        }
        let text = match read(&path) {
            Ok(t) => t,
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        let shown = PathBuf::from("selectors.yml");
        // dbt renders selectors.yml with var(), env_var() and target.
        let parsed = yaml::to_json(&shown, &text).and_then(|mut v| {
            // dbt renders every string of selectors.yml through Jinja, which drops one trailing
            // newline (a `description: >` block's); kiln renders only those with Jinja in them.
            drop_trailing_newlines(&mut v);
            if !text.contains("{{") {
                return Ok(v);
            }
            render_yaml_strings_with(&v, &self.vars, Some(&self.target_fields), &[]).map_err(|f| {
                Diagnostic::error("yaml", f.message.clone())
                    .at(Location::find(&shown, &text, &f.template))
                    .with_help(f.hint.clone().unwrap_or_else(|| {
                        "selectors.yml may use var(), env_var() and target".into()
                    }))
            })
        });
        match parsed {
            Ok(v) => Some((shown, text, v)),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    /// The properties files under every resource path (and the macro and test paths).
    fn property_files(&self) -> Vec<FoundFile> {
        let mut roots = self.cfg.model_paths();
        roots.extend(self.cfg.seed_paths());
        roots.extend(self.cfg.snapshot_paths());
        roots.extend(self.cfg.analysis_paths());
        roots.extend(self.cfg.macro_paths());
        roots.extend(self.cfg.test_paths());
        let mut seen_roots = BTreeSet::new();
        roots.retain(|r| seen_roots.insert(r.clone()));
        self.find(&roots, &["yml", "yaml"])
    }

    /// Reads, parses and renders each properties file, on every core (each is independent).
    fn parse_properties(&self, files: Vec<FoundFile>) -> Vec<ParsedProperties> {
        files
            .into_par_iter()
            .map(|f| {
                // dbt strips a file before reading its YAML, so a block scalar that ends the file
                // (`description: >`) loses its final newline; only the end is trimmed here, which
                // gives the same values and keeps line numbers.
                let mut text = read(&f.abs)?;
                let shown = PathBuf::from(&f.original_file_path);
                let trimmed = text.trim_end().len();
                let props: PropertiesFile = match yaml::from_str(&shown, &text[..trimmed]) {
                    Ok(p) => {
                        text.truncate(trimmed);
                        p
                    }
                    // Errors are reported on the file as it is (an unclosed quote at the end of
                    // the file is pointed at where it opens).
                    Err(_) => yaml::from_str(&shown, &text)?,
                };
                // dbt renders Jinja in property values (`{{ var(...) }}`, `{{ env_var(...) }}`,
                // `{{ target.name }}`), except descriptions (doc() is rendered later) and
                // tests (rendered per test at compile time).
                let props = if text.contains("{{") {
                    self.render_properties(&shown, &text)?
                } else {
                    props
                };
                Ok((f, text, props))
            })
            .collect()
    }

    /// Applies the parsed properties files in file order, so the outcome never depends on
    /// scheduling, then builds the generic tests they declare.
    fn apply_properties(
        &mut self,
        parsed: Vec<ParsedProperties>,
        timer: &crate::timing::StageTimer,
    ) {
        let mut patched: BTreeMap<String, String> = BTreeMap::new();
        let mut pending_tests = vec![];
        for item in parsed {
            let (f, text, props) = match item {
                Ok(x) => x,
                Err(d) => {
                    self.diags.push(d);
                    continue;
                }
            };
            let ctx = FileCtx {
                f: &f,
                text: &text,
                lines: LineIndex::new(&text),
            };
            for (rt, list) in [
                (ResourceType::Model, &props.models),
                (ResourceType::Seed, &props.seeds),
                (ResourceType::Snapshot, &props.snapshots),
                (ResourceType::Analysis, &props.analyses),
                (ResourceType::Test, &props.data_tests),
            ] {
                for p in list {
                    self.apply_patch(rt, p, &ctx, &mut patched, &mut pending_tests);
                }
            }
            for s in &props.sources {
                self.add_source(s, &ctx, &mut pending_tests);
            }
            for e in &props.exposures {
                self.add_exposure(e, &ctx);
            }
            for m in &props.macros {
                let uid = format!("macro.{}.{}", self.name, m.name);
                match self.macros.get_mut(&uid) {
                    Some(mac) => {
                        mac.description = m.description.clone().unwrap_or_default();
                        mac.meta = m.meta.clone();
                        mac.arguments = m.arguments.clone();
                        mac.patch_path = Some(format!("{}://{}", self.name, f.original_file_path));
                        mac.docs = m.docs.clone();
                    }
                    None => self.diags.push(
                        Diagnostic::warning(
                            "patch-macro",
                            format!(
                                "properties describe macro '{}', which does not exist",
                                m.name
                            ),
                        )
                        .at(ctx.find(&format!("name: {}", m.name))),
                    ),
                }
            }
        }
        timer.mark("properties apply");
        let built: Vec<Result<Node, Diagnostic>> = pending_tests
            .par_iter()
            .map(|t| {
                generic_tests::build(
                    t,
                    &self.name,
                    &self.test_tree,
                    &self.target_db,
                    &self.target_schema,
                )
            })
            .collect();
        for r in built {
            match r {
                Ok(node) => self.register(node),
                Err(d) => self.diags.push(d),
            }
        }
        timer.mark("generic tests");
        self.render_descriptions();
        timer.mark("descriptions");
    }

    fn render_properties(&self, shown: &Path, text: &str) -> Result<PropertiesFile, Diagnostic> {
        let raw = yaml::to_json(shown, text)?;
        let rendered = render_yaml_strings_with(
            &raw,
            &self.vars,
            Some(&self.target_fields),
            &[
                "description",
                "data_tests",
                "tests",
                "pre-hook",
                "post-hook",
                "pre_hook",
                "post_hook",
                "sql_header",
            ],
        )
        .map_err(|f| {
            Diagnostic::error("yaml", f.message.clone())
                .at(Location::find(shown, text, &f.template))
                .with_help(f.hint.clone().unwrap_or_else(|| {
                    "property values may use var(), env_var() and target".into()
                }))
        })?;
        serde_json::from_value(rendered).map_err(|e| {
            Diagnostic::error("yaml", format!("after rendering Jinja: {e}")).in_file(shown)
        })
    }

    /// Turns the files of a versioned model (`<name>_v<N>.sql`, or `defined_in`) into its version
    /// nodes (`model.<project>.<name>.v<N>`), as dbt does.
    fn version_nodes(&mut self, p: &NodeProps, ctx: &FileCtx<'_>) -> Vec<(String, Option<String>)> {
        let versions: Vec<(String, &Value)> = p
            .versions
            .iter()
            .filter_map(|v| v.get("v").map(|n| (value_to_plain_string(n), v)))
            .collect();
        let latest = p
            .latest_version
            .as_ref()
            .map(value_to_plain_string)
            .or_else(|| {
                versions.iter().map(|(v, _)| v.clone()).max_by(|a, b| {
                    match (a.parse::<f64>(), b.parse::<f64>()) {
                        (Ok(x), Ok(y)) => x.total_cmp(&y),
                        _ => a.cmp(b),
                    }
                })
            });
        let mut out = vec![];
        for (v, spec) in versions {
            let defined_in = spec
                .get("defined_in")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{}_v{v}", p.name), ToString::to_string);
            let old_uid = format!("model.{}.{defined_in}", self.name);
            let Some(mut node) = self.nodes.remove(&old_uid) else {
                self.diags.push(
                    Diagnostic::error("version", format!("version {v} of model '{}' has no file {defined_in}.sql", p.name))
                        .at(ctx.find(&format!("name: {}", p.name)))
                        .with_help(format!("create {defined_in}.sql under the model paths, or set `defined_in:` for this version")),
                );
                continue;
            };
            self.names_seen.remove(&old_uid);
            let new_uid = format!("model.{}.{}.v{v}", self.name, p.name);
            node.name = p.name.clone();
            node.alias = p.name.clone();
            node.unique_id = new_uid.clone();
            node.fqn.pop();
            node.fqn.push(p.name.clone());
            node.fqn.push(format!("v{v}"));
            node.version = Some(v.clone());
            node.latest_version = latest.clone();
            if let Some(Value::Object(c)) = spec.get("config") {
                merge_into(&mut node.config, c);
            }
            self.names_seen
                .insert(new_uid.clone(), node.original_file_path.clone());
            self.nodes.insert(new_uid.clone(), node);
            out.push((new_uid, Some(v)));
        }
        out
    }

    fn apply_patch(
        &mut self,
        rt: ResourceType,
        p: &NodeProps,
        ctx: &FileCtx<'_>,
        patched: &mut BTreeMap<String, String>,
        pending_tests: &mut Vec<generic_tests::PendingTest>,
    ) {
        let here = || ctx.find(&format!("name: {}", p.name));
        // YAML-defined snapshots (dbt 1.9) create their node here.
        if rt == ResourceType::Snapshot
            && let Some(rel) = &p.relation
        {
            let uid = format!("snapshot.{}.{}", self.name, p.name);
            if !self.nodes.contains_key(&uid) {
                let mut fqn = vec![self.name.clone()];
                fqn.extend(ctx.f.folders());
                fqn.push(p.name.clone());
                let raw = format!("select * from {{{{ {rel} }}}}");
                let mut node = self.new_node(rt, ctx.f, p.name.clone(), fqn, raw, String::new());
                node.line_offset = here().line.saturating_sub(1);
                self.register(node);
            }
        }
        let uid = format!("{}.{}.{}", rt.as_str(), self.name, p.name);
        if let Some(prev) = patched.get(&uid) {
            self.diags.push(
                Diagnostic::error(
                    "duplicate",
                    format!(
                        "{rt} '{}' is described twice: in {prev} and {}",
                        p.name, ctx.f.original_file_path
                    ),
                )
                .at(here())
                .with_help("keep one properties entry per node"),
            );
            return;
        }
        // A versioned model (`versions:`) patches each of its version nodes.
        let targets: Vec<(String, Option<String>)> =
            if rt == ResourceType::Model && !p.versions.is_empty() {
                self.version_nodes(p, ctx)
            } else {
                vec![(uid.clone(), None)]
            };
        for (uid, version) in targets {
            let Some(node) = self.nodes.get_mut(&uid) else {
                self.diags.push(
                    Diagnostic::warning(
                        "patch",
                        format!(
                            "properties describe {rt} '{}', but no such {rt} file exists",
                            p.name
                        ),
                    )
                    .at(here()),
                );
                continue;
            };
            patched.insert(uid.clone(), ctx.f.original_file_path.clone());
            node.patch_path = Some(format!("{}://{}", self.name, ctx.f.original_file_path));
            node.description = p.description.clone().unwrap_or_default();
            let mut yaml_cfg = Config::new();
            if !p.meta.is_empty() {
                yaml_cfg.insert("meta".into(), Value::Object(p.meta.clone()));
            }
            let tags = p.tags.to_vec();
            if !tags.is_empty() {
                yaml_cfg.insert("tags".into(), Value::from(tags));
            }
            if let Some(docs) = &p.docs {
                yaml_cfg.insert("docs".into(), docs.clone());
            }
            for key in ["access", "group"] {
                let v = if key == "access" { &p.access } else { &p.group };
                if let Some(v) = v {
                    yaml_cfg.insert(key.into(), Value::from(v.clone()));
                }
            }
            merge_into(&mut yaml_cfg, &p.config);
            merge_into(&mut node.config, &yaml_cfg);
            for (k, v) in &p.config {
                node.unrendered_config
                    .insert(config::normalize_key(k), v.clone());
            }
            node.columns = columns_of(&p.columns);
            node.constraints = p.constraints.clone();
            if version.is_none() {
                node.latest_version = p.latest_version.as_ref().map(value_to_plain_string);
            }
            node.deprecation_date = p.deprecation_date.as_ref().map(value_to_plain_string);
            let node_uid = node.unique_id.clone();
            let folders = ctx.f.folders();
            let key_name = format!(
                "{}.{}",
                match rt {
                    ResourceType::Model => "models",
                    ResourceType::Seed => "seeds",
                    ResourceType::Snapshot => "snapshots",
                    _ => "analyses",
                },
                p.name
            );
            for t in p.all_tests() {
                pending_tests.push(generic_tests::PendingTest::for_node(
                    t,
                    None,
                    &node_uid,
                    &p.name,
                    version.as_deref(),
                    &key_name,
                    &folders,
                    ctx.f,
                    ctx.text,
                    &ctx.lines,
                ));
            }
            for c in &p.columns {
                for t in c.all_tests() {
                    pending_tests.push(generic_tests::PendingTest::for_node(
                        t,
                        Some(c),
                        &node_uid,
                        &p.name,
                        version.as_deref(),
                        &key_name,
                        &folders,
                        ctx.f,
                        ctx.text,
                        &ctx.lines,
                    ));
                }
            }
        }
    }

    fn add_source(
        &mut self,
        s: &SourceProps,
        ctx: &FileCtx<'_>,
        pending_tests: &mut Vec<generic_tests::PendingTest>,
    ) {
        let shown = PathBuf::from(&ctx.f.original_file_path);
        for t in &s.tables {
            let uid = format!("source.{}.{}.{}", self.name, s.name, t.name);
            if self.sources.contains_key(&uid) {
                self.diags.push(
                    Diagnostic::error(
                        "duplicate",
                        format!("source table '{}.{}' is declared twice", s.name, t.name),
                    )
                    .at(Location::find(
                        &shown,
                        ctx.text,
                        &format!("name: {}", t.name),
                    )),
                );
                continue;
            }
            let mut fqn = vec![self.name.clone()];
            fqn.extend(ctx.f.folders());
            fqn.push(s.name.clone());
            fqn.push(t.name.clone());
            let project_config = project_config_for(&self.cfg.sources, &fqn);
            let mut config = Config::new();
            config.insert("enabled".into(), Value::Bool(true));
            merge_into(&mut config, &project_config);
            merge_into(&mut config, &s.config);
            merge_into(&mut config, &t.config);
            // dbt merges `meta` from the source and the table, each top-level then `config:`,
            // the table's keys winning, over dbt_project.yml's: catalogs read the table's meta,
            // so a source's owner and SLA reach every table of it.
            let config_meta = |c: &Config| c.get("meta").and_then(Value::as_object).cloned();
            let mut own_meta = s.meta.clone();
            for layer in [
                config_meta(&s.config).unwrap_or_default(),
                t.meta.clone(),
                config_meta(&t.config).unwrap_or_default(),
            ] {
                own_meta.extend(layer);
            }
            let mut meta = config_meta(&project_config).unwrap_or_default();
            meta.extend(own_meta.clone());
            config.insert("meta".into(), Value::Object(meta.clone()));
            let mut source_meta = s.meta.clone();
            source_meta.extend(config_meta(&s.config).unwrap_or_default());
            // Tags of the source and the table (top-level and `config:`) as one sorted set, after
            // dbt_project.yml's.
            let mut own_tags: Vec<String> = s.tags.to_vec();
            own_tags.extend(config::tags_of(&s.config));
            own_tags.extend(t.tags.to_vec());
            own_tags.extend(config::tags_of(&t.config));
            own_tags.sort();
            own_tags.dedup();
            let mut tags: Vec<String> = config::tags_of(&project_config);
            for tag in &own_tags {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            // Source and table `tags:` are configs too (`config.tags:` selects by them).
            if !tags.is_empty() {
                config.insert("tags".into(), Value::from(tags.clone()));
            }
            // The nearest `freshness` wins; `freshness: null` switches an inherited one off.
            let freshness = t
                .freshness
                .clone()
                .or_else(|| s.freshness.clone())
                .or_else(|| config.get("freshness").cloned())
                .filter(|f| !f.is_null());
            let loaded_at_field = t
                .loaded_at_field
                .clone()
                .or_else(|| s.loaded_at_field.clone())
                .or_else(|| {
                    config
                        .get("loaded_at_field")
                        .and_then(Value::as_str)
                        .map(String::from)
                });
            let external = config
                .get("external_location")
                .cloned()
                .or_else(|| meta.get("external_location").cloned());
            // dbt's `unrendered_config`: dbt_project.yml's settings as written, then the source's
            // and the table's `config:`, then the values it works out for the table.
            let mut unrendered = config::unrendered_project_config_for(&self.cfg.sources, &fqn);
            for (k, v) in s.config.iter().chain(t.config.iter()) {
                unrendered.insert(config::normalize_key(k), v.clone());
            }
            let switched_off = [
                t.freshness.as_ref(),
                s.freshness.as_ref(),
                t.config.get("freshness"),
                s.config.get("freshness"),
            ]
            .contains(&Some(&Value::Null));
            match &freshness {
                Some(f) => {
                    unrendered.insert("freshness".into(), f.clone());
                }
                None if switched_off => {
                    unrendered.insert("freshness".into(), Value::Null);
                }
                None => {
                    unrendered.remove("freshness");
                }
            }
            let loaded_at_query = t
                .loaded_at_query
                .clone()
                .or_else(|| s.loaded_at_query.clone());
            let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::from);
            unrendered.insert("loaded_at_field".into(), opt(&loaded_at_field));
            unrendered.insert("loaded_at_query".into(), opt(&loaded_at_query));
            unrendered.insert("meta".into(), Value::Object(own_meta));
            unrendered.insert("tags".into(), Value::from(own_tags));
            let mut quoting = s.quoting.clone();
            for (k, v) in &t.quoting {
                quoting.insert(k.clone(), v.clone());
            }
            let database = config
                .get("database")
                .and_then(Value::as_str)
                .map(String::from)
                .or_else(|| s.database.clone())
                .unwrap_or_else(|| self.target_db.clone());
            let schema = config
                .get("schema")
                .and_then(Value::as_str)
                .map(String::from)
                .or_else(|| s.schema.clone())
                .unwrap_or_else(|| s.name.clone());
            let node = SourceNode {
                unique_id: uid.clone(),
                source_name: s.name.clone(),
                name: t.name.clone(),
                identifier: t.identifier.clone().unwrap_or_else(|| t.name.clone()),
                database,
                schema,
                package_name: self.name.clone(),
                path: ctx.f.original_file_path.clone(),
                original_file_path: ctx.f.original_file_path.clone(),
                fqn,
                description: t.description.clone().unwrap_or_default(),
                source_description: s.description.clone().unwrap_or_default(),
                loader: s.loader.clone().unwrap_or_default(),
                loaded_at_field,
                loaded_at_query,
                freshness,
                quoting,
                meta,
                source_meta,
                tags,
                config,
                unrendered_config: unrendered,
                unrendered_database: s.database.clone(),
                unrendered_schema: s.schema.clone(),
                columns: columns_of(&t.columns),
                relation_name: String::new(),
                external,
                doc_blocks: vec![],
            };
            let key_name = format!("sources.{}", s.name);
            let folders = ctx.f.folders();
            for test in t.all_tests() {
                pending_tests.push(generic_tests::PendingTest::for_source(
                    test, None, &uid, &s.name, &t.name, &key_name, &folders, ctx.f, ctx.text,
                    &ctx.lines,
                ));
            }
            for c in &t.columns {
                for test in c.all_tests() {
                    pending_tests.push(generic_tests::PendingTest::for_source(
                        test,
                        Some(c),
                        &uid,
                        &s.name,
                        &t.name,
                        &key_name,
                        &folders,
                        ctx.f,
                        ctx.text,
                        &ctx.lines,
                    ));
                }
            }
            self.sources.insert(uid, node);
        }
    }

    fn add_exposure(&mut self, e: &super::properties::ExposureProps, ctx: &FileCtx<'_>) {
        let shown = PathBuf::from(&ctx.f.original_file_path);
        let here = Location::find(&shown, ctx.text, &format!("name: {}", e.name));
        let uid = format!("exposure.{}.{}", self.name, e.name);
        let Some(kind) = e.kind.clone() else {
            self.diags.push(
                Diagnostic::error("exposure", format!("exposure '{}' has no `type`", e.name))
                    .at(here)
                    .with_help("set type to one of dashboard, notebook, analysis, ml, application"),
            );
            return;
        };
        if !["dashboard", "notebook", "analysis", "ml", "application"].contains(&kind.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    "exposure",
                    format!("exposure '{}' has type '{kind}'", e.name),
                )
                .at(Location::find(&shown, ctx.text, &format!("type: {kind}")))
                .with_help("type must be one of dashboard, notebook, analysis, ml, application"),
            );
            return;
        }
        let mut refs = vec![];
        let mut sources = vec![];
        for dep in &e.depends_on {
            match parse_ref_or_source(dep) {
                Some(RefOrSource::Ref(r)) => refs.push(r),
                Some(RefOrSource::Source(s, t)) => sources.push((s, t)),
                None => self.diags.push(
                    Diagnostic::error(
                        "exposure",
                        format!(
                            "exposure '{}' depends on '{dep}', which is not a ref() or source()",
                            e.name
                        ),
                    )
                    .at(Location::find(&shown, ctx.text, dep))
                    .with_help(
                        "write depends_on entries as ref('model') or source('src', 'table')",
                    ),
                ),
            }
        }
        let mut fqn = vec![self.name.clone()];
        fqn.extend(ctx.f.folders());
        fqn.push(e.name.clone());
        let mut config = Config::new();
        config.insert("enabled".into(), Value::Bool(true));
        merge_into(&mut config, &project_config_for(&self.cfg.exposures, &fqn));
        merge_into(&mut config, &e.config);
        let mut unrendered = config::unrendered_project_config_for(&self.cfg.exposures, &fqn);
        for (k, v) in &e.config {
            unrendered.insert(config::normalize_key(k), v.clone());
        }
        self.exposures.insert(
            uid.clone(),
            ExposureNode {
                unique_id: uid,
                name: e.name.clone(),
                label: e.label.clone(),
                kind,
                maturity: e.maturity.clone(),
                url: e.url.clone(),
                description: e.description.clone().unwrap_or_default(),
                owner: e.owner.clone(),
                refs,
                sources,
                meta: e.meta.clone(),
                tags: e.tags.to_vec(),
                config,
                unrendered_config: unrendered,
                package_name: self.name.clone(),
                path: ctx.f.path.clone(),
                original_file_path: ctx.f.original_file_path.clone(),
                fqn,
            },
        );
    }

    /// Replaces `{{ doc('name') }}` in descriptions with the docs block's text.
    fn render_descriptions(&mut self) {
        let docs: BTreeMap<String, String> = self
            .docs
            .values()
            .map(|d| (d.name.clone(), d.block_contents.clone()))
            .collect();
        let doc_ids: BTreeSet<String> = self.docs.keys().cloned().collect();
        let project = self.name.clone();
        let dir = self.dir.clone();
        let mut errors = vec![];
        // Renders `doc()` calls in place and returns the docs blocks they named, as dbt's
        // `doc_blocks`.
        let mut fix = |text: &mut String, file: &str| -> Vec<String> {
            if !text.contains("{{") {
                return vec![];
            }
            let used = doc_block_ids(text, &project, &doc_ids);
            match render_descriptions(text, &docs) {
                Ok(t) => *text = t,
                Err(f) => {
                    let d = Diagnostic::error("doc", f.message.clone()).with_help(
                        f.hint.clone().unwrap_or_else(|| {
                            "define it with {% docs name %}...{% enddocs %} in a .md file".into()
                        }),
                    );
                    // Point at the doc() call naming the missing block, else the description.
                    let missing = f.message.split('\'').nth(1).unwrap_or_default();
                    let at = std::fs::read_to_string(dir.join(file))
                        .ok()
                        .and_then(|src| {
                            let offset = [format!("'{missing}'"), format!("\"{missing}\"")]
                                .iter()
                                .filter_map(|q| src.find(&format!("doc({q}")))
                                .min()
                                .or_else(|| src.find(text.lines().next().unwrap_or_default()))?;
                            Some(Location::from_offset(file, &src, offset))
                        });
                    errors.push(match at {
                        Some(loc) => d.at(loc),
                        None => d.in_file(file),
                    });
                }
            }
            used
        };
        for n in self.nodes.values_mut() {
            let file = n
                .patch_path
                .as_deref()
                .and_then(|p| p.split("://").nth(1))
                .unwrap_or(&n.original_file_path)
                .to_string();
            n.doc_blocks = fix(&mut n.description, &file);
            for c in n.columns.values_mut() {
                c.doc_blocks = fix(&mut c.description, &file);
            }
        }
        for s in self.sources.values_mut() {
            let file = s.original_file_path.clone();
            s.doc_blocks = fix(&mut s.description, &file);
            fix(&mut s.source_description, &file);
            for c in s.columns.values_mut() {
                c.doc_blocks = fix(&mut c.description, &file);
            }
        }
        for e in self.exposures.values_mut() {
            let file = e.original_file_path.clone();
            fix(&mut e.description, &file);
        }
        self.diags.extend(errors);
    }
}

/// A properties file read and parsed: the file, its text, its contents.
type ParsedProperties = Result<(FoundFile, String, PropertiesFile), Diagnostic>;

struct FileCtx<'a> {
    f: &'a FoundFile,
    text: &'a str,
    lines: LineIndex,
}

impl FileCtx<'_> {
    /// Where `needle` first appears in this file.
    fn find(&self, needle: &str) -> Location {
        self.lines
            .find(&self.f.original_file_path, self.text, needle)
    }
}

fn columns_of(cols: &[ColumnProps]) -> IndexMap<String, ColumnInfo> {
    cols.iter()
        .map(|c| {
            (
                c.name.clone(),
                ColumnInfo {
                    name: c.name.clone(),
                    description: c.description.clone().unwrap_or_default(),
                    meta: {
                        let mut m = c.meta.clone();
                        if let Some(Value::Object(cm)) = c.config.get("meta") {
                            for (k, v) in cm {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                        m
                    },
                    data_type: c.data_type.clone(),
                    constraints: c.constraints.clone(),
                    quote: c.quote,
                    tags: c.tags.to_vec(),
                    granularity: c.granularity.clone(),
                    doc_blocks: vec![],
                },
            )
        })
        .collect()
}

static DOC_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bdoc\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)"#)
        .expect("static regex")
});

/// The docs blocks `text` names through `doc('name')` or `doc('package', 'name')`, as unique_ids,
/// in order of use; names that resolve to no block are left out, as dbt does.
fn doc_block_ids(text: &str, project: &str, known: &BTreeSet<String>) -> Vec<String> {
    let mut out = vec![];
    for c in DOC_CALL.captures_iter(text) {
        let (package, name) = match (c.get(1), c.get(2)) {
            (Some(p), Some(n)) => (p.as_str(), n.as_str()),
            (Some(n), None) => (project, n.as_str()),
            _ => continue,
        };
        let uid = format!("doc.{package}.{name}");
        if known.contains(&uid) {
            out.push(uid);
        }
    }
    out
}

pub(crate) fn value_to_plain_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) enum RefOrSource {
    Ref(RefCall),
    Source(String, String),
}

static REF_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(ref|source)\s*\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?(?:,\s*(?:v|version)\s*=\s*['"]?([^'")\s]+)['"]?\s*)?\)\s*$"#)
        .expect("static regex")
});

/// Parses `ref('x')`, `ref('pkg', 'x')`, `ref('x', v=2)` and `source('s', 't')` written in YAML.
pub(crate) fn parse_ref_or_source(s: &str) -> Option<RefOrSource> {
    let c = REF_CALL.captures(s)?;
    let a = c.get(2)?.as_str().to_string();
    let b = c.get(3).map(|m| m.as_str().to_string());
    let version = c.get(4).map(|m| m.as_str().to_string());
    if &c[1] == "source" {
        return Some(RefOrSource::Source(a, b?));
    }
    Some(RefOrSource::Ref(match b {
        Some(name) => RefCall {
            name,
            package: Some(a),
            version,
        },
        None => RefCall {
            name: a,
            package: None,
            version,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_in_comments_are_not_definitions() {
        let src = "{# {% macro old() %}{% endmacro %} é #}\n{% macro a(x) %}{{ x }}{% endmacro %}\n{% test t(model) %}select 1{% endtest %}";
        let names: Vec<String> = scan_macros(src).into_iter().map(|m| m.1).collect();
        assert_eq!(names, vec!["a", "test_t"]);
        let found = scan_macros(src);
        assert_eq!(
            &src[found[0].2.clone()],
            "{% macro a(x) %}{{ x }}{% endmacro %}"
        );
        assert!(
            rewrite_macro_source(src).contains("{% macro test_t(model) %}select 1{% endmacro %}")
        );
    }
}
