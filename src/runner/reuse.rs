//! Skipping unchanged work: a table, incremental model, view, seed or data test whose SQL and
//! config are unchanged since its last successful build, and whose inputs are unchanged since,
//! is not built again. It shows as `REUSED` on the console, in the `Done.` line and in
//! run_results.json (status `success`, or a test's `pass`, with `REUSED` and the reason in
//! `message` and `adapter_response`, so the file stays valid against dbt's schema).
//!
//! "Unchanged" is a fingerprint (SHA-256) of:
//! - the node's compiled SQL (the macros it calls, `--vars`, `--target`'s relation names and
//!   what `run_query` read at compile are all in it), its config, its resource type and
//!   relation, kiln's version and the engine; a seed's file by its contents;
//! - each input: a node kiln builds by the id of its last build (an ephemeral model by its own
//!   inputs, its SQL being in the code already), a source table by the engine's probe of its
//!   rows ([`crate::adapter::Adapter::source_probe_sql`]), and every file the SQL names
//!   (`read_csv('data/x.csv')`, globs too, so the demo's `external_location` sources) by its
//!   name, size and modification time.
//!
//! The state is a table in the warehouse (`kiln_state.build_state`, in the target's database), not a
//! file under target/: it describes the relations beside it, so it holds for two checkouts
//! sharing one database, and for a target/ that was cleaned. A node is reused only when its
//! row's fingerprint equals this run's, its relation still stands with the kind and columns it
//! was built with (a table dropped or altered by someone else is rebuilt), and reuse is on
//! (only in `build` and `run`, and neither with `--no-reuse`, `--full-refresh` nor `--defer`).
//! A node's row is deleted before it is rebuilt, and the rows of this run's builds are written
//! when its nodes have run: a failed or killed build leaves no row for what it touched, so the
//! next run rebuilds it.
//!
//! Never reused (each still records its build, so what is downstream of it can be): snapshots
//! and microbatch models (they read the clock), models and seeds with pre- or post-hooks (side
//! effects kiln cannot see), SQL that reads the clock or random numbers (`current_timestamp`,
//! `now()`, `random()`...: an incremental filtering on the time would add rows), SQL naming
//! remote files, tests storing their failures, tests that did not pass, unit tests. What kiln
//! cannot see is not fingerprinted: a relation a model names without `ref` or `source`, and
//! rows changed by hand in a relation kiln built (its columns are checked, not its rows);
//! `--no-reuse` covers those.

use super::exec::{Exec, Failure, now};
use super::{NodeResult, RunOptions, Status, Timing};
use crate::adapter::{Adapter, BuildStateRow, Cell, RelationKind};
use crate::materialize::{self, RelationTarget};
use crate::project::{Node, ResourceType, SourceNode};
use crate::session::Loaded;
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

/// The build state's schema (in the target's database: beside the relations it describes, out
/// of the way of the project's own schemas) and table.
pub const STATE_SCHEMA: &str = "kiln_state";
pub const STATE_TABLE: &str = "build_state";

/// What to do with a node, decided before its materialization.
pub(super) enum Decision {
    /// Its relation (or a test's result) is current: nothing runs.
    Reused(BuildStateRow),
    /// Build it; its fingerprint, when it can ever be reused.
    Build(Option<String>),
}

/// A run's view of the build state.
pub struct BuildState {
    /// The state table, quoted; `None` when the engine keeps no state or it cannot be read
    /// (then every node is built and nothing is recorded).
    table: Option<String>,
    /// Whether nodes may be reused in this run.
    reuse: bool,
    /// This run's build id (its invocation id).
    run_id: String,
    /// A hash of the target's settings and `DBT_` environment variables.
    context: String,
    started: String,
    /// The rows as the run started, by key.
    stored: HashMap<String, BuildStateRow>,
    /// Build ids of the nodes this run has reused or built (`None`: it failed).
    current: Mutex<HashMap<String, Option<String>>>,
    /// Source probes, once per run.
    probes: Mutex<HashMap<String, Result<String, String>>>,
    /// Each schema's relations' columns, read once per run: (database, schema) → identifier
    /// (lower case) → `name type, ...`.
    columns: Mutex<HashMap<(String, String), HashMap<String, String>>>,
    /// Code compiled to decide, handed to the materialization.
    compiled: Mutex<HashMap<String, (String, Vec<(String, String)>)>>,
    /// Rows of this run's builds, written when the nodes have run; with the relation whose
    /// columns they record.
    done: Mutex<Vec<(BuildStateRow, Option<RelationTarget>)>>,
}

impl BuildState {
    /// No state: every node is built (an engine without build state, and unit tests).
    pub fn off() -> Self {
        BuildState {
            table: None,
            reuse: false,
            run_id: String::new(),
            context: String::new(),
            started: String::new(),
            stored: HashMap::new(),
            current: Mutex::new(HashMap::new()),
            probes: Mutex::new(HashMap::new()),
            columns: Mutex::new(HashMap::new()),
            compiled: Mutex::new(HashMap::new()),
            done: Mutex::new(vec![]),
        }
    }

    /// Makes the state table if missing and reads it. A state that cannot be read turns the
    /// feature off for the run (a note says why): everything is built, as without it.
    pub fn load(
        loaded: &Loaded,
        pool: &crate::adapter::Pool,
        opts: &RunOptions,
        run_id: &str,
    ) -> Self {
        let adapter = loaded.adapter.as_ref();
        let mut state = BuildState::off();
        if !adapter.supports_build_state() || !adapter.can_execute() {
            return state;
        }
        let t = &loaded.project.target;
        let table = RelationTarget {
            database: t.database.clone(),
            schema: STATE_SCHEMA.into(),
            identifier: STATE_TABLE.into(),
        }
        .sql(adapter);
        let read = pool.with(|c| {
            c.create_schema(&t.database, STATE_SCHEMA)?;
            c.execute(&adapter.build_state_create_sql(&table))?;
            c.query(&adapter.build_state_read_sql(&table))
        });
        let rows = match read {
            Ok(rows) => rows,
            Err(e) => {
                crate::events::Event::note(format!(
                    "Warning: the build state ({table}) cannot be read, so every node is built: {e}"
                ))
                .at(crate::events::Level::Warn)
                .stamped()
                .emit();
                return state;
            }
        };
        let text = |c: Option<&Cell>| match c {
            None | Some(Cell::Null) => None,
            Some(c) => Some(c.to_string()),
        };
        for r in rows.rows {
            let row = BuildStateRow {
                key: text(r.first()).unwrap_or_default(),
                unique_id: text(r.get(1)).unwrap_or_default(),
                relation: text(r.get(2)),
                fingerprint: text(r.get(3)),
                build_id: text(r.get(4)).unwrap_or_default(),
                columns: text(r.get(5)),
                status: text(r.get(6)),
                failures: r.get(7).and_then(Cell::as_i64),
                built_at: text(r.get(8)).unwrap_or_default(),
            };
            state.stored.insert(row.key.clone(), row);
        }
        // What every node's build may read besides its SQL: the target's settings (a DuckDB
        // variable a macro reads, set from a secret) and the `DBT_` environment variables.
        let mut context = serde_json::to_string(&t.fields).unwrap_or_default();
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("DBT_"))
            .collect();
        env.sort();
        for (k, v) in env {
            context.push_str(&format!("\n{k}={v}"));
        }
        state.context = hex(&Sha256::digest(context.as_bytes()));
        state.table = Some(table);
        // `build` and `run` reuse; `seed`, `test` and `snapshot` do what they are asked (and
        // still record what they built).
        // `--defer` reads other relations than the ones whose builds are fingerprinted.
        state.reuse = opts.reuse
            && !opts.full_refresh
            && opts.defer.is_none()
            && matches!(opts.kind, super::RunKind::Build | super::RunKind::Run);
        state.run_id = run_id.to_string();
        state.started = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        state
    }

    fn on(&self) -> bool {
        self.table.is_some()
    }

    /// The code [`Exec::reuse_decision`] compiled for `uid`, once.
    pub(super) fn take_compiled(&self, uid: &str) -> Option<(String, Vec<(String, String)>)> {
        self.compiled.lock().ok()?.remove(uid)
    }

    /// Notes a node's successful build (with its fingerprint when it can be reused): what is
    /// downstream fingerprints it by this run's id from now on, and its row is written when
    /// the nodes have run. A test is recorded only when it passed.
    pub(super) fn built(&self, node: &Node, fingerprint: Option<String>, r: &NodeResult) {
        if !self.on() || !tracked(node) {
            return;
        }
        if let Ok(mut c) = self.current.lock() {
            c.insert(node.unique_id.clone(), Some(self.run_id.clone()));
        }
        let test = node.resource_type == ResourceType::Test;
        if test && r.status != Status::Pass {
            return;
        }
        let row = BuildStateRow {
            key: key(node),
            unique_id: node.unique_id.clone(),
            relation: node.relation_name.clone(),
            fingerprint,
            build_id: self.run_id.clone(),
            columns: None,
            status: test.then(|| r.status.as_str().to_string()),
            failures: r.failures,
            built_at: self.started.clone(),
        };
        let relation = (!test).then(|| RelationTarget::of(node));
        if let Ok(mut d) = self.done.lock() {
            d.push((row, relation));
        }
    }

    /// Notes a node that failed: what is downstream of it cannot be fingerprinted.
    pub(super) fn failed(&self, node: &Node) {
        if let Ok(mut c) = self.current.lock() {
            c.insert(node.unique_id.clone(), None);
        }
    }

    /// Writes the rows of this run's builds (their relations' columns read once per schema),
    /// in one transaction where the engine has them. Hands back a warning when it cannot: the
    /// build stands, and its nodes are built again next time.
    pub fn persist(&self, pool: &crate::adapter::Pool, adapter: &dyn Adapter) -> Option<String> {
        let table = self.table.as_ref()?;
        let mut done = std::mem::take(&mut *self.done.lock().ok()?);
        if done.is_empty() {
            return None;
        }
        // Per schema, how many relations were built.
        let mut schemas: BTreeMap<(String, String), usize> = BTreeMap::new();
        for t in done.iter().filter_map(|(_, t)| t.as_ref()) {
            *schemas
                .entry((t.database.clone(), t.schema.clone()))
                .or_default() += 1;
        }
        let written = pool.with(|c| {
            // A schema where many relations were built is listed whole (one catalog query);
            // where a few were, each is asked alone, since listing a schema costs as much as
            // its whole catalog (an incremental run of one model in a big warehouse).
            let mut columns = HashMap::new();
            for ((db, schema), built) in &schemas {
                if *built > FEW_RELATIONS {
                    columns.insert(
                        (db.to_lowercase(), schema.to_lowercase()),
                        column_signatures(c.catalog(db, schema)?),
                    );
                }
            }
            for (row, t) in &mut done {
                if let Some(t) = t {
                    let schema = (t.database.to_lowercase(), t.schema.to_lowercase());
                    row.columns = match columns.get(&schema) {
                        Some(listed) => listed.get(&t.identifier.to_lowercase()).cloned(),
                        None => {
                            let cols = c.columns(&t.database, &t.schema, &t.identifier)?;
                            (!cols.is_empty()).then(|| signature(&cols))
                        }
                    };
                }
            }
            let rows: Vec<BuildStateRow> = done.into_iter().map(|(r, _)| r).collect();
            let transaction = adapter.supports_transactions();
            if transaction {
                c.execute(adapter.begin_sql())?;
            }
            let result = (|| {
                for chunk in rows.chunks(500) {
                    let keys: Vec<&str> = chunk.iter().map(|r| r.key.as_str()).collect();
                    c.execute(&adapter.build_state_delete_sql(table, &keys))?;
                    c.execute(&adapter.build_state_insert_sql(table, chunk))?;
                }
                Ok(())
            })();
            match (&result, transaction) {
                (Ok(()), true) => c.execute(adapter.commit_sql())?,
                (Err(_), true) => {
                    let _ = c.execute(adapter.rollback_sql());
                }
                _ => {}
            }
            result
        });
        written.err().map(|e| {
            format!("the build state ({table}) could not be written, so this run's nodes will be built again next time: {e}")
        })
    }
}

/// The nodes with a row of build state.
fn tracked(node: &Node) -> bool {
    match node.resource_type {
        ResourceType::Model => !node.is_ephemeral(),
        ResourceType::Seed | ResourceType::Snapshot | ResourceType::Test => true,
        _ => false,
    }
}

/// A node's row: its unique_id in its schema (two targets sharing a database keep a row each).
fn key(node: &Node) -> String {
    format!("{}@{}.{}", node.unique_id, node.database, node.schema)
}

/// Each relation's columns as `name type, ...`, by lower-cased identifier.
/// Up to this many relations built in a schema, [`BuildState::persist`] asks for each one's
/// columns rather than listing the schema.
const FEW_RELATIONS: usize = 32;

/// One relation's columns as [`column_signatures`] writes them.
fn signature(columns: &[crate::adapter::Column]) -> String {
    columns
        .iter()
        .map(|c| format!("{} {}", c.name.to_lowercase(), c.data_type.to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_signatures(rows: Vec<crate::adapter::CatalogColumn>) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for c in rows {
        let sig = out.entry(c.table.to_lowercase()).or_default();
        if !sig.is_empty() {
            sig.push_str(", ");
        }
        sig.push_str(&c.column.to_lowercase());
        sig.push(' ');
        sig.push_str(&c.data_type.to_lowercase());
    }
    out
}

/// Whether the SQL reads the clock or random numbers: never reused.
fn reads_clock(code: &str) -> bool {
    static CLOCK: OnceLock<Option<regex::Regex>> = OnceLock::new();
    CLOCK
        .get_or_init(|| {
            regex::Regex::new(
                r"(?i)\b(current_timestamp|current_date|current_time|localtimestamp|localtime|now\s*\(|today\s*\(|get_current_time|random\s*\(|rand\s*\(|uuid\s*\(|gen_random_uuid)",
            )
            .ok()
        })
        .as_ref()
        .is_none_or(|re| re.is_match(code))
}

/// The files the SQL names in string literals (a path, or a glob; a relative one read from
/// the project directory `dir`, as the adapter reads it), each as `path:size:modified`,
/// sorted; an error for a remote file (it cannot be probed).
fn files_read(code: &str, dir: &std::path::Path) -> Result<Vec<String>, String> {
    static LITERAL: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let Some(re) = LITERAL
        .get_or_init(|| regex::Regex::new(r"'((?:[^']|'')*)'").ok())
        .as_ref()
    else {
        return Err("string literals cannot be read".into());
    };
    let mut out = BTreeSet::new();
    for m in re.captures_iter(code) {
        let text = m[1].replace("''", "'");
        if text.is_empty() || text.len() > 1000 || text.contains('\n') {
            continue;
        }
        let lower = text.to_ascii_lowercase();
        if let Some((scheme, _)) = lower.split_once("://")
            && !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_alphanumeric())
            && scheme != "file"
        {
            return Err(format!("it reads a remote file ({text})"));
        }
        let text = text.strip_prefix("file://").unwrap_or(&text);
        let joined = dir.join(text);
        let text = if std::path::Path::new(text).is_absolute() || dir.as_os_str().is_empty() {
            text
        } else {
            joined.to_str().unwrap_or(text)
        };
        if text.contains(['*', '?', '[']) {
            for f in glob_files(text) {
                out.insert(f);
            }
        } else if let Some(f) = file_fingerprint(std::path::Path::new(text)) {
            out.insert(f);
        }
    }
    Ok(out.into_iter().collect())
}

/// `path:size:modified` of a file; `None` for anything that is not a file.
fn file_fingerprint(path: &std::path::Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Some(format!("{}:{}:{modified}", path.display(), meta.len()))
}

/// The files a glob matches (over-matching is safe: `*` may cross folders here).
fn glob_files(pattern: &str) -> Vec<String> {
    let Ok(glob) = globset::Glob::new(pattern) else {
        return vec![];
    };
    let matcher = glob.compile_matcher();
    let first = pattern.find(['*', '?', '[']).unwrap_or(0);
    let base = match pattern[..first].rfind('/') {
        Some(i) => &pattern[..=i],
        None => "",
    };
    let depth = if pattern.contains("**") {
        64
    } else {
        pattern[base.len()..].matches('/').count() + 1
    };
    let root = if base.is_empty() { "." } else { base };
    let mut out = vec![];
    for entry in walkdir::WalkDir::new(root)
        .max_depth(depth)
        .into_iter()
        .flatten()
    {
        let path = entry.path();
        let shown = if base.is_empty() {
            path.strip_prefix(".").unwrap_or(path)
        } else {
            path
        };
        if entry.file_type().is_file()
            && matcher.is_match(shown)
            && let Some(f) = file_fingerprint(path)
        {
            out.push(f);
        }
    }
    out
}

impl Exec<'_> {
    /// The one decision point before a node's materialization: reuse it, or build it (and with
    /// which fingerprint to record). A model or test is compiled here (the materialization is
    /// handed the same code); a seed is fingerprinted by its file.
    pub(super) fn reuse_decision(
        &self,
        node: &Node,
        worker: usize,
        r: &mut NodeResult,
    ) -> Result<Decision, Failure> {
        let state = self.state;
        if !state.on() || !tracked(node) {
            return Ok(Decision::Build(None));
        }
        let never = match node.resource_type {
            ResourceType::Snapshot => true,
            ResourceType::Test => test_stores_failures(node, self.opts.store_failures),
            _ => {
                !materialize::hook_sources(node, "pre-hook").is_empty()
                    || !materialize::hook_sources(node, "post-hook").is_empty()
            }
        };
        let stored = state.stored.get(&key(node));
        if never {
            self.invalidate(node, stored, worker)?;
            return Ok(Decision::Build(None));
        }
        let code = match node.resource_type {
            ResourceType::Seed => {
                let path = self.loaded.project.dir.join(&node.file);
                let bytes = std::fs::read(&path).map_err(|e| {
                    Failure::Runtime(format!("cannot read {}: {e}", path.display()))
                })?;
                hex(&Sha256::digest(&bytes))
            }
            _ => {
                let mut incremental = None;
                if node.materialized() == "incremental" {
                    use crate::materialize::incremental as inc;
                    let Ok(cfg) = inc::IncrementalConfig::of(node) else {
                        return Ok(Decision::Build(None));
                    };
                    if cfg.strategy == inc::Strategy::Microbatch {
                        self.invalidate(node, stored, worker)?;
                        return Ok(Decision::Build(None));
                    }
                    let existing = self.existing(node, worker)?;
                    let on = existing == Some(RelationKind::Table) && !self.full_refresh(node);
                    self.shared.set_incremental(&node.unique_id, on);
                    incremental = Some(on);
                }
                let (code, ctes) = self.compile_parts(node, r)?;
                if let Ok(mut kept) = state.compiled.lock() {
                    kept.insert(node.unique_id.clone(), (code.clone(), ctes));
                }
                match incremental {
                    // An incremental model is fingerprinted by both of its SQLs (its first
                    // build's and its incremental runs'): a first build is then reused by the
                    // next run when nothing changed, instead of running once more to add
                    // nothing.
                    Some(on) => {
                        let uid = &node.unique_id;
                        self.shared.set_incremental(uid, !on);
                        let other = crate::jinja::compile::compile_one(
                            self.nodes,
                            &self.loaded.jenv,
                            self.shared,
                            uid,
                            &self.cache,
                        );
                        self.shared.set_incremental(uid, on);
                        let (other, _) = other.map_err(Failure::Compile)?;
                        let (full, inc) = if on { (other, code) } else { (code, other) };
                        format!("{full}\n-- is_incremental() --\n{inc}")
                    }
                    None => code,
                }
            }
        };
        let fingerprint = if reads_clock(&code) {
            None
        } else {
            self.fingerprint(node, &code, worker).ok()
        };
        if let (true, Some(fp), Some(row)) = (state.reuse, &fingerprint, stored)
            && row.fingerprint.as_ref() == Some(fp)
            && row.relation == node.relation_name
            && self.stands(node, row, worker)?
        {
            if let Ok(mut c) = state.current.lock() {
                c.insert(node.unique_id.clone(), Some(row.build_id.clone()));
            }
            return Ok(Decision::Reused(row.clone()));
        }
        self.invalidate(node, stored, worker)?;
        Ok(Decision::Build(fingerprint))
    }

    /// Forgets a node's row before it is rebuilt (a relation it no longer describes must never
    /// be reused, even if this build is killed before its new row is written). Tests change no
    /// relation: their rows are replaced when the run ends.
    fn invalidate(
        &self,
        node: &Node,
        stored: Option<&BuildStateRow>,
        worker: usize,
    ) -> Result<(), Failure> {
        let (Some(table), Some(row)) = (&self.state.table, stored) else {
            return Ok(());
        };
        if node.resource_type == ResourceType::Test {
            return Ok(());
        }
        let sql = self
            .loaded
            .adapter
            .build_state_delete_sql(table, &[row.key.as_str()]);
        self.with_conn(worker, |c| c.execute(&sql))
            .map_err(Failure::Database)
    }

    /// Whether the node's relation stands as it was built: its kind, and its columns and their
    /// types (a test has no relation to check).
    fn stands(&self, node: &Node, row: &BuildStateRow, worker: usize) -> Result<bool, Failure> {
        let expected = match node.resource_type {
            ResourceType::Test => return Ok(row.status.as_deref() == Some("pass")),
            ResourceType::Model if node.materialized() == "view" => RelationKind::View,
            _ => RelationKind::Table,
        };
        if self.existing(node, worker)? != Some(expected) {
            return Ok(false);
        }
        let schema = (node.database.to_lowercase(), node.schema.to_lowercase());
        let mut columns = self
            .state
            .columns
            .lock()
            .map_err(|_| Failure::Runtime("the column cache is poisoned".into()))?;
        if !columns.contains_key(&schema) {
            let listed = self
                .with_conn(worker, |c| c.catalog(&node.database, &node.schema))
                .map_err(Failure::Database)?;
            columns.insert(schema.clone(), column_signatures(listed));
        }
        let now = columns
            .get(&schema)
            .and_then(|m| m.get(&node.alias.to_lowercase()));
        Ok(now.is_some() && now == row.columns.as_ref())
    }

    /// The node's fingerprint; an error names an input that cannot be fingerprinted (then the
    /// node is built, and not recorded as reusable).
    fn fingerprint(&self, node: &Node, code: &str, worker: usize) -> Result<String, String> {
        let mut h = Sha256::new();
        let mut put = |k: &str, v: &str| {
            h.update(k.len().to_le_bytes());
            h.update(k.as_bytes());
            h.update(v.len().to_le_bytes());
            h.update(v.as_bytes());
        };
        put("kiln", env!("CARGO_PKG_VERSION"));
        put("engine", self.loaded.adapter.adapter_type());
        put("context", &self.state.context);
        put("resource_type", &node.resource_type.to_string());
        put("materialized", node.materialized());
        put("relation", node.relation_name.as_deref().unwrap_or(""));
        put("code", code);
        put(
            "config",
            &serde_json::to_string(&node.config).map_err(|e| e.to_string())?,
        );
        // what a contract checks and persist_docs writes
        put("columns", &format!("{:?}", node.columns));
        put("constraints", &format!("{:?}", node.constraints));
        put("description", &node.description);
        for (id, fp) in self.inputs(node, worker)? {
            put(&id, &fp);
        }
        for f in files_read(code, &self.loaded.project.dir)? {
            put("file", &f);
        }
        Ok(hex(&h.finalize()))
    }

    /// Each input's fingerprint, by unique_id (through ephemeral models).
    fn inputs(&self, node: &Node, worker: usize) -> Result<BTreeMap<String, String>, String> {
        let graph = &self.loaded.graph;
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = graph.depends_on(&node.unique_id).to_vec();
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            if let Some(n) = self.nodes.get(&id) {
                if n.is_ephemeral() {
                    stack.extend(graph.depends_on(&id).iter().cloned());
                    continue;
                }
                out.insert(id.clone(), self.build_id_of(n, worker)?);
            } else if let Some(s) = self.loaded.project.sources.get(&id) {
                out.insert(id.clone(), self.probe(s, worker)?);
            } else {
                return Err(format!("input {id} cannot be fingerprinted"));
            }
        }
        Ok(out)
    }

    /// The id of an input's build: this run's, or its row's while its relation stands.
    fn build_id_of(&self, n: &Node, worker: usize) -> Result<String, String> {
        let missing = || format!("{} has no recorded build", n.unique_id);
        if let Some(now) = self
            .state
            .current
            .lock()
            .map_err(|_| "the build ids are poisoned".to_string())?
            .get(&n.unique_id)
        {
            return now.clone().ok_or_else(missing);
        }
        let row = self.state.stored.get(&key(n)).ok_or_else(missing)?;
        if row.relation != n.relation_name {
            return Err(missing());
        }
        match self.existing(n, worker) {
            Ok(Some(_)) => Ok(row.build_id.clone()),
            _ => Err(missing()),
        }
    }

    /// A source's probe: its files for a source read from files, the engine's probe of its
    /// rows for a table.
    fn probe(&self, s: &SourceNode, worker: usize) -> Result<String, String> {
        if let Some(p) = self
            .state
            .probes
            .lock()
            .map_err(|_| "the probes are poisoned".to_string())?
            .get(&s.unique_id)
        {
            return p.clone();
        }
        let adapter = self.loaded.adapter.as_ref();
        let probe = if let Some(sql) = adapter.external_source_sql(s) {
            files_read(&sql, &self.loaded.project.dir).map(|f| format!("files {}", f.join(", ")))
        } else if let Some(sql) = adapter.source_probe_sql(&s.relation_name) {
            self.with_conn(worker, |c| c.query(&sql))
                .map_err(|e| format!("{} cannot be probed: {e}", s.unique_id))
                .map(|rows| {
                    rows.rows
                        .first()
                        .and_then(|r| r.first())
                        .map(Cell::to_string)
                        .unwrap_or_default()
                })
        } else {
            Err(format!("{} cannot be probed", s.unique_id))
        };
        if let Ok(mut p) = self.state.probes.lock() {
            p.insert(s.unique_id.clone(), probe.clone());
        }
        probe
    }

    /// A reused node's result: nothing ran.
    pub(super) fn reused(&self, node: &Node, r: &mut NodeResult, row: &BuildStateRow) {
        let t = now();
        r.timing.push(Timing {
            name: "execute",
            started_at: t,
            completed_at: t,
        });
        let reason = format!(
            "unchanged since build {} ({}): same SQL, config and inputs",
            row.build_id, row.built_at
        );
        if node.resource_type == ResourceType::Test {
            r.status = Status::Pass;
            r.failures = Some(row.failures.unwrap_or(0));
        } else {
            r.status = Status::Success;
        }
        r.message = Some(format!("REUSED: {reason}"));
        let mut response = Map::new();
        response.insert("_message".into(), Json::from("REUSED"));
        response.insert("code".into(), Json::from("REUSED"));
        response.insert("rows_affected".into(), Json::from(-1));
        response.insert(
            "reused".into(),
            serde_json::json!({"reason": reason, "build_id": row.build_id, "built_at": row.built_at}),
        );
        r.adapter_response = response;
        r.reused = Some(reason);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn test_stores_failures(node: &Node, flag: bool) -> bool {
    crate::materialize::test::TestConfig::of(node, flag)
        .store_failures_as
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_seen() {
        assert!(reads_clock("select current_timestamp as at"));
        assert!(reads_clock(
            "select * from t where ts > now() - interval 1 day"
        ));
        assert!(reads_clock("select RANDOM () as r"));
        assert!(!reads_clock("select nowhere, randomised from t"));
    }

    #[test]
    fn files_named_in_sql_are_fingerprinted() {
        let dir = std::env::temp_dir().join(format!("kiln-reuse-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("d")).unwrap();
        std::fs::write(dir.join("d/a.csv"), "x\n1\n").unwrap();
        std::fs::write(dir.join("d/b.csv"), "x\n22\n").unwrap();
        let d = dir.display();
        let one = files_read(
            &format!("select * from read_csv('{d}/d/a.csv')"),
            std::path::Path::new(""),
        )
        .unwrap();
        assert_eq!(one.len(), 1);
        assert!(one[0].contains("a.csv:4:"), "{one:?}");
        let both = files_read(
            &format!("select * from read_csv('{d}/d/*.csv')"),
            std::path::Path::new(""),
        )
        .unwrap();
        assert_eq!(both.len(), 2, "{both:?}");
        // a string that names no file adds nothing
        assert!(
            files_read("select 'hello' as x", std::path::Path::new(""))
                .unwrap()
                .is_empty()
        );
        // a remote file cannot be probed
        assert!(
            files_read(
                "select * from read_parquet('s3://b/x.parquet')",
                std::path::Path::new("")
            )
            .is_err()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
