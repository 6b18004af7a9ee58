//! The parse cache: dbt's partial parsing, kept exact. A parse records what it read and what each
//! node's render recorded, in two files under the target path:
//!
//! - [`STATE_FILE`]: the invocation's key (kiln's version and binary, the project folder,
//!   `--vars`, `--profile`, `--target` and the other load flags, the flags Jinja sees, the
//!   `DBT_ENV_CUSTOM_ENV_*` variables the manifest shows), every environment variable `env_var()`
//!   read and a digest of its value (never the value: it may be a secret), and every file the
//!   parse could have read (each resource path of the project and its packages, dbt_project.yml,
//!   packages.yml, selectors.yml, profiles.yml) with its size, modification time and a digest of
//!   its contents. After `kiln parse` writes the manifest, also the manifest's size and time.
//! - [`RENDERS_FILE`]: per node rendered at parse, what its render recorded (refs, sources,
//!   `config()`, macro calls) and the digest of its code, under a digest of everything else the
//!   render could read (the key, the environment, and every file that is not a node's own code:
//!   macros, YAML, dbt_project.yml, seeds, docs).
//!
//! Then:
//! - `kiln parse` with nothing changed (same key, same environment for what `env_var()` read, the
//!   same files with the same contents, the manifest it wrote untouched, and no warning the last
//!   time) writes nothing and says so: the manifest on disk is the one a full parse would write
//!   (but for `generated_at` and `invocation_id`).
//! - Otherwise the project is loaded; when the digest of everything but the nodes' own code is
//!   unchanged, a node whose code is unchanged is not rendered again: its record is applied as
//!   the render would have. Any change to a macro, a YAML file, dbt_project.yml, the profile,
//!   `--vars`, the target or an environment variable read re-renders every node: a macro may
//!   change what any model's render records, and YAML and dbt_project.yml configure nodes.
//!
//! A cache file that cannot be read (missing, truncated, another format) is a full parse, never
//! an error. Which nodes were rendered is logged at debug level (`logs/dbt.log`, `--debug`).
//! `--no-partial-parse` (DBT_PARTIAL_PARSE=0, `flags: {partial_parse: false}`) neither reads
//! nor writes the cache.

use crate::events::{Event, Level};
use crate::invocation::Invocation;
use crate::jinja::parse::Recorded;
use crate::project::{Node, Project};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// What the last parse read, in the target path.
pub const STATE_FILE: &str = "kiln_parse_cache.json";
/// What each node's parse render recorded, in the target path.
pub const RENDERS_FILE: &str = "kiln_parse_renders.json";

/// Bumped when the files' shape or meaning changes.
const FORMAT: u32 = 1;

/// A file modified this close to when the cache was written may have changed again within the
/// same timestamp: its contents are compared, not its time.
const RACY_NS: u64 = 2_000_000_000;

/// The digest of a file modified while (or just before) the project was read.
const UNSETTLED: &str = "unsettled";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct FileEntry {
    len: u64,
    mtime_ns: u64,
    digest: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime_ns: u64,
}

/// [`STATE_FILE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    format: u32,
    key: String,
    /// Environment variables `env_var()` read: name → digest of the value (`None`: unset).
    env: BTreeMap<String, Option<String>>,
    /// The folders and files walked, absolute.
    roots: Vec<PathBuf>,
    /// Every file found under them, by absolute path.
    files: BTreeMap<PathBuf, FileEntry>,
    saved_at_ns: u64,
    /// The folder of the log file.
    log_dir: PathBuf,
    /// Set by `kiln parse` once it wrote them: the artifacts and their stamps (`None`: absent).
    #[serde(default)]
    artifacts: Vec<(PathBuf, Option<Stamp>)>,
    /// The "Found ..." line of that parse, when it showed no warning.
    #[serde(default)]
    found: Option<String>,
}

/// [`RENDERS_FILE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Renders {
    format: u32,
    /// Digest of everything a render may read but the node's own code.
    context: String,
    /// unique_id → (digest of the node's code, its record).
    nodes: BTreeMap<String, (String, Recorded)>,
}

/// Whether this invocation uses the cache: the flag or DBT_PARTIAL_PARSE, else dbt_project.yml's
/// `flags: {partial_parse: ...}`, else on.
pub fn enabled(inv: &Invocation, project: Option<&Project>) -> bool {
    inv.partial_parse
        .or_else(|| {
            project.and_then(|p| {
                p.config
                    .flags
                    .get("partial_parse")
                    .and_then(serde_json::Value::as_bool)
            })
        })
        .unwrap_or(true)
}

fn digest(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn stamp(meta: &std::fs::Metadata) -> Stamp {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    Stamp {
        len: meta.len(),
        mtime_ns,
    }
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The invocation's key: what, besides files and the environment, a parse depends on.
fn invocation_key(inv: &Invocation, project_dir: &Path, command: &str) -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| stamp(&m));
    let mut custom: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("DBT_ENV_CUSTOM_ENV_"))
        .collect();
    custom.sort();
    // Jinja's `flags` (not the selection: no template sees it).
    let flags = inv.flags.jinja(command, &inv.warn_error);
    let text = format!(
        "{FORMAT}\n{}\n{exe:?}\n{}\n{:?}\n{flags}\n{:?}\n{custom:?}",
        env!("CARGO_PKG_VERSION"),
        project_dir.display(),
        inv.load,
        inv.warn_error,
    );
    digest(text.as_bytes())
}

fn env_digests(reads: &BTreeMap<String, Option<String>>) -> BTreeMap<String, Option<String>> {
    reads
        .iter()
        .map(|(k, v)| (k.clone(), v.as_ref().map(|v| digest(v.as_bytes()))))
        .collect()
}

/// Whether every variable `env` names still has the value it had.
fn env_unchanged(env: &BTreeMap<String, Option<String>>) -> bool {
    env.iter().all(|(name, want)| {
        let now = std::env::var(name).ok().map(|v| digest(v.as_bytes()));
        &now == want
    })
}

/// The folders and files a parse of `project` may read.
fn roots_of(project: &Project) -> Vec<PathBuf> {
    let mut roots = vec![project.target.profiles_path.clone()];
    let mut add = |dir: &Path, cfg: &crate::project::dbt_project::DbtProject| {
        for f in [
            "dbt_project.yml",
            "packages.yml",
            "dependencies.yml",
            "package-lock.yml",
            "selectors.yml",
        ] {
            roots.push(dir.join(f));
        }
        let mut paths = cfg.model_paths();
        paths.extend(cfg.seed_paths());
        paths.extend(cfg.test_paths());
        paths.extend(cfg.macro_paths());
        paths.extend(cfg.snapshot_paths());
        paths.extend(cfg.analysis_paths());
        paths.extend(cfg.docs_paths());
        for p in paths {
            roots.push(dir.join(p));
        }
    };
    add(&project.dir, &project.config);
    for p in &project.packages {
        add(&p.dir, &p.config);
    }
    roots.push(project.dir.join(project.config.packages_install_path()));
    let mut seen = BTreeSet::new();
    roots.retain(|r| seen.insert(r.clone()));
    roots
}

/// Every file under `roots` (hidden files and folders skipped, as discovery skips them), with
/// its stamp.
fn walk(roots: &[PathBuf]) -> BTreeMap<PathBuf, Stamp> {
    let mut out = Vec::new();
    for r in roots {
        walk_into(r, &mut out);
    }
    out.into_iter().collect()
}

/// Every file under `path` (itself, if a file) with its stamp, in no particular order; names
/// starting with a dot are left out.
fn walk_into(path: &Path, out: &mut Vec<(PathBuf, Stamp)>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        out.push((path.to_path_buf(), stamp(&meta)));
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        walk_into(&e.path(), out);
    }
}

/// [`State`] as [`unchanged_parse`] reads it, which must be fast at 10,000 files: strings
/// borrowed from the file's bytes where they can be, and the files in a hash map by their path
/// as text (a `BTreeMap<PathBuf, _>` compares paths component by component on every insert).
#[derive(Deserialize)]
struct QuickState<'a> {
    format: u32,
    #[serde(borrow)]
    key: std::borrow::Cow<'a, str>,
    env: BTreeMap<String, Option<String>>,
    roots: Vec<PathBuf>,
    #[serde(borrow)]
    files: std::collections::HashMap<std::borrow::Cow<'a, str>, QuickEntry<'a>>,
    saved_at_ns: u64,
    #[serde(default)]
    artifacts: Vec<(PathBuf, Option<Stamp>)>,
    #[serde(default)]
    found: Option<String>,
    log_dir: PathBuf,
}

#[derive(Deserialize)]
struct QuickEntry<'a> {
    len: u64,
    mtime_ns: u64,
    #[serde(borrow)]
    digest: std::borrow::Cow<'a, str>,
}

/// Whether the file at `path` with `now` is the one `old` describes: the same size and time
/// (and not modified so close to when the cache was written that a later change could share the
/// time), else the same contents.
fn same_file(path: &Path, now: Stamp, old: (u64, u64, &str), saved_at_ns: u64) -> bool {
    let (len, mtime_ns, old_digest) = old;
    if now.len != len {
        return false;
    }
    if now.mtime_ns == mtime_ns && now.mtime_ns.saturating_add(RACY_NS) < saved_at_ns {
        return true;
    }
    old_digest != UNSETTLED && std::fs::read(path).is_ok_and(|b| digest(&b) == old_digest)
}

/// Every file under `roots` with its digest, reusing `old`'s digest where the file is unchanged.
/// A file modified since shortly before `loaded_at_ns` (when the project's files were read) may
/// hold other contents than the parse read: it gets no digest, so it never matches.
fn fingerprint(
    roots: &[PathBuf],
    old: Option<&State>,
    loaded_at_ns: u64,
) -> BTreeMap<PathBuf, FileEntry> {
    use rayon::prelude::*;
    let found: Vec<(PathBuf, Stamp)> = walk(roots).into_iter().collect();
    found
        .into_par_iter()
        .filter_map(|(path, s)| {
            if let Some(o) = old.and_then(|o| o.files.get(&path).map(|f| (f, o.saved_at_ns)))
                && o.0.digest != UNSETTLED
                && s.len == o.0.len
                && s.mtime_ns == o.0.mtime_ns
                && s.mtime_ns.saturating_add(RACY_NS) < o.1
            {
                return Some((path, o.0.clone()));
            }
            let digest = if s.mtime_ns.saturating_add(RACY_NS) >= loaded_at_ns {
                UNSETTLED.to_string()
            } else {
                digest(&std::fs::read(&path).ok()?)
            };
            let entry = FileEntry {
                len: s.len,
                mtime_ns: s.mtime_ns,
                digest,
            };
            Some((path, entry))
        })
        .collect()
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    // Written aside and renamed: a reader never sees half a file.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Where the target path is before the project is loaded: `--target-path`, else dbt_project.yml's
/// `target-path` when it is plain text (no Jinja), else `target`.
fn target_dir_before_load(inv: &Invocation, project_dir: &Path) -> Option<PathBuf> {
    if let Some(tp) = &inv.load.target_path {
        return Some(project_dir.join(tp));
    }
    let text = std::fs::read_to_string(project_dir.join("dbt_project.yml")).ok()?;
    let yaml: serde_json::Value = yaml_serde::from_str(&text).ok()?;
    match yaml.get("target-path") {
        None => Some(project_dir.join("target")),
        Some(serde_json::Value::String(s)) if !s.contains("{{") && !s.contains("{%") => {
            Some(project_dir.join(s))
        }
        Some(_) => None,
    }
}

fn debug(msg: String) {
    Event::note(msg).at(Level::Debug).emit();
}

/// `kiln parse` with nothing changed since the last one: the "Found ..." line to show, after
/// checking the key, the environment, every file, and that the artifacts are the ones that parse
/// wrote. `None`: parse.
pub fn unchanged_parse(inv: &Invocation) -> Option<String> {
    if inv.partial_parse == Some(false) {
        return None;
    }
    let project_dir = crate::project::find_project_dir(inv.project_dir.as_deref()).ok()?;
    let target = target_dir_before_load(inv, &project_dir)?;
    let bytes = std::fs::read(target.join(STATE_FILE)).ok()?;
    let state: QuickState = serde_json::from_slice(&bytes).ok()?;
    if state.format != FORMAT {
        return None;
    }
    let found = state.found.clone()?;
    if state.key != invocation_key(inv, &project_dir, "parse") || !env_unchanged(&state.env) {
        return None;
    }
    for (path, want) in &state.artifacts {
        let now = std::fs::metadata(path).ok().map(|m| stamp(&m));
        if &now != want {
            return None;
        }
    }
    let mut files = Vec::with_capacity(state.files.len());
    for root in &state.roots {
        walk_into(root, &mut files);
    }
    if files.len() != state.files.len() {
        return None;
    }
    for (path, now) in &files {
        let old = state.files.get(path.to_str()?)?;
        if !same_file(
            path,
            *now,
            (old.len, old.mtime_ns, &old.digest),
            state.saved_at_ns,
        ) {
            return None;
        }
    }
    crate::events::attach_log_dir(&state.log_dir);
    debug("Partial parse: nothing changed since the last parse; the manifest is up to date".into());
    Some(found)
}

/// What a parse keeps for the cache while it runs.
pub struct Pending {
    target: PathBuf,
    state: State,
    renders: Renders,
    /// Whether the renders file must be written (something was rendered).
    renders_changed: bool,
}

/// The digest of a node's own code: what, with the context, its parse render reads.
fn node_digest(n: &Node) -> String {
    let text = format!(
        "{}\0{}\0{}\0{}",
        n.unique_id,
        n.file.display(),
        n.line_offset,
        n.raw_code
    );
    digest(text.as_bytes())
}

/// Before the parse render: which nodes' earlier records still hold (by unique_id), and the
/// cache's state for this parse. `None`: the cache is off.
pub fn prepare(
    inv: &Invocation,
    project: &Project,
    command: &str,
    loaded_at_ns: u64,
) -> Option<(BTreeMap<String, Recorded>, Pending)> {
    if !enabled(inv, Some(project)) {
        return None;
    }
    let target = project.target_dir();
    let old: Option<State> =
        read_json::<State>(&target.join(STATE_FILE)).filter(|s| s.format == FORMAT);
    let roots = roots_of(project);
    let files = fingerprint(&roots, old.as_ref(), loaded_at_ns);
    let key = invocation_key(inv, &project.dir, command);
    // What env_var() read loading the project, and what earlier renders read: the renders
    // reused below do not read them again.
    let mut env = env_digests(&crate::project::render::env_reads());
    let old_env_holds = old
        .as_ref()
        .is_some_and(|o| o.key == key && env_unchanged(&o.env));
    if old_env_holds && let Some(o) = &old {
        for (k, v) in &o.env {
            env.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    // Everything but the nodes' own code.
    let own: BTreeSet<PathBuf> = project
        .nodes
        .values()
        .filter(|n| n.resource_type != crate::project::ResourceType::Seed && n.test.is_none())
        .map(|n| project.dir.join(&n.file))
        .collect();
    let mut context = Sha256::new();
    context.update(key.as_bytes());
    for (path, f) in &files {
        if !own.contains(path) {
            context.update(path.to_string_lossy().as_bytes());
            context.update(b"\0");
            context.update(f.digest.as_bytes());
            if f.digest == UNSETTLED {
                // Its contents are not known: this context matches no other.
                context.update(uuid::Uuid::new_v4().as_bytes());
            }
        }
    }
    let context: String = context
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let old_renders: Option<Renders> = if old_env_holds {
        read_json::<Renders>(&target.join(RENDERS_FILE))
            .filter(|r| r.format == FORMAT && r.context == context)
    } else {
        None
    };
    let mut reuse = BTreeMap::new();
    let mut why = "";
    match &old_renders {
        Some(r) => {
            for n in project.nodes.values() {
                if let Some((d, rec)) = r.nodes.get(&n.unique_id)
                    && *d == node_digest(n)
                {
                    reuse.insert(n.unique_id.clone(), rec.clone());
                }
            }
        }
        None if old.is_none() => why = "no earlier parse in the target path",
        None if !old_env_holds => {
            why = "the flags, vars, profile, target, kiln or an environment variable read by env_var() changed"
        }
        None => {
            why = "a macro, YAML file, dbt_project.yml, profiles.yml or other project file changed"
        }
    }
    if !why.is_empty() {
        debug(format!("Partial parse: every node is rendered: {why}"));
    }
    let state = State {
        format: FORMAT,
        key,
        env,
        roots,
        files,
        saved_at_ns: now_ns(),
        log_dir: project
            .dir
            .join(project.config.log_path.as_deref().unwrap_or("logs")),
        artifacts: vec![],
        found: None,
    };
    let renders = Renders {
        format: FORMAT,
        context,
        nodes: BTreeMap::new(),
    };
    Some((
        reuse,
        Pending {
            target,
            state,
            renders,
            renders_changed: old_renders.is_none(),
        },
    ))
}

/// After a parse that succeeded: `records` are every node's, `reused` the ids not rendered.
/// Logs which nodes were rendered and writes the cache (a failure to write it is only logged).
pub fn finish(
    mut pending: Pending,
    project: &Project,
    records: BTreeMap<String, Recorded>,
    reused: &BTreeSet<String>,
) -> Pending {
    let rendered: Vec<&str> = records
        .keys()
        .filter(|id| !reused.contains(*id))
        .map(String::as_str)
        .collect();
    if !rendered.is_empty() {
        pending.renders_changed = true;
    }
    debug(format!(
        "Partial parse: {} node(s) rendered, {} reused{}{}",
        rendered.len(),
        reused.len(),
        if rendered.is_empty() || rendered.len() > 50 {
            ""
        } else {
            ": "
        },
        if rendered.len() > 50 {
            String::new()
        } else {
            rendered.join(", ")
        }
    ));
    // Environment variables read by this parse's renders too.
    for (k, v) in env_digests(&crate::project::render::env_reads()) {
        pending.state.env.insert(k, v);
    }
    let all = project
        .nodes
        .values()
        .map(AsRef::as_ref)
        .chain(project.disabled.values());
    pending.renders.nodes = all
        .filter_map(|n| {
            let r = records.get(&n.unique_id)?;
            Some((n.unique_id.clone(), (node_digest(n), r.clone())))
        })
        .collect();
    let _ = std::fs::create_dir_all(&pending.target);
    if pending.renders_changed
        && let Err(e) = write_json(&pending.target.join(RENDERS_FILE), &pending.renders)
    {
        debug(format!("Partial parse: cannot write {RENDERS_FILE}: {e}"));
    }
    if let Err(e) = write_json(&pending.target.join(STATE_FILE), &pending.state) {
        debug(format!("Partial parse: cannot write {STATE_FILE}: {e}"));
    }
    pending
}

/// After `kiln parse` wrote the manifest: the stamps of what it wrote and the "Found ..." line,
/// so that the next parse with nothing changed can stop early. `clean`: the parse showed no
/// warning (a parse with warnings is always run again, so that it shows them).
pub fn record_artifacts(pending: Option<Pending>, project: &Project, found: String, clean: bool) {
    let Some(mut pending) = pending else {
        return;
    };
    if !clean {
        return;
    }
    let target = project.target_dir();
    pending.state.artifacts = ["manifest.json", "semantic_manifest.json"]
        .into_iter()
        .map(|f| {
            let path = target.join(f);
            let s = std::fs::metadata(&path).ok().map(|m| stamp(&m));
            (path, s)
        })
        .collect();
    pending.state.found = Some(found);
    if let Err(e) = write_json(&pending.target.join(STATE_FILE), &pending.state) {
        debug(format!("Partial parse: cannot write {STATE_FILE}: {e}"));
    }
}
