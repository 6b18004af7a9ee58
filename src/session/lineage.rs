//! The project's column lineage, computed once per compile from the compiled SQL: the schemas of
//! every relation in DAG order, each model's lineage against its upstreams' columns, the
//! compile-time checks, and `target/lineage.json` ([`crate::schemas::lineage`]).
//!
//! Schemas come from the engine, never from a guess:
//! - seeds and sources: the warehouse's catalog when the relation is built there; else a seed's
//!   CSV read by the engine as `kiln seed` reads it, a source read from a file
//!   (`external_location`) described by the binder, or the columns its YAML declares;
//! - models and snapshots: the engine's binder describes each compiled query (DuckDB:
//!   `DESCRIBE`) in a scratch database of the engine ([`crate::adapter::Adapter::binder`])
//!   where every upstream is an empty table with its columns. Models are described level by
//!   level of the DAG, the models of a level in parallel, so a model's upstreams always have
//!   their current columns (the SQL about to run, not what an older build left in the
//!   warehouse).
//!
//! Then each model is read by the lineage engine ([`crate::sql::lineage`]), reconciled with the
//! binder's column names, and its inputs named by the unique_ids of the nodes whose relations
//! they are. A column the SQL names that its upstreams do not have is an error only when the
//! binder rejects the query too and every relation searched has columns the engine reported (not
//! YAML's, which may list only some of them): then the error is certain, and it points at the
//! model's own file with a did-you-mean from the upstream's columns.

use super::Loaded;
use crate::adapter::{Adapter, Column as DbColumn, Connection};
use crate::error::{Diagnostic, Location};
use crate::jinja::lines::{SourceLine, source_line};
use crate::project::{Compiled, Node, ResourceType};
use crate::schemas::lineage::{
    ColumnLineage, IncompleteReason, LineageArtifact, LineageInput, LineageMetadata, NodeLineage,
};
use crate::sql::lineage::{
    self as engine, Column, InputField, Options, RelationName, Schema, UnknownColumn, UnknownKind,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

/// What [`project_lineage`] found.
#[derive(Debug, Default)]
pub struct ProjectLineage {
    /// Per model and snapshot, by unique_id.
    pub nodes: BTreeMap<String, NodeLineage>,
    /// Columns and relations a model names that its upstreams do not have: `kiln compile` and
    /// `build` stop on them (exit 2).
    pub errors: Vec<Diagnostic>,
    /// Enforced contracts the SQL does not keep (names and types, as the binder types the
    /// query): `kiln compile` stops on them; `build` checks them again as it builds each model.
    pub contract_errors: Vec<Diagnostic>,
    /// Columns declared in YAML that the model does not produce.
    pub warnings: Vec<Diagnostic>,
    /// The PII classification propagated over this lineage (`target/pii.json`, [`super::pii`]).
    pub pii: crate::schemas::pii::PiiArtifact,
    /// PII where the project's policy forbids it: `kiln compile`, `run` and `build` stop (exit 2).
    pub pii_errors: Vec<Diagnostic>,
    /// The lineage cache to write beside lineage.json.
    cache: Option<cache::Cache>,
}

impl ProjectLineage {
    /// The artifact, with this invocation's metadata.
    pub fn artifact(&self, invocation_id: &str) -> LineageArtifact {
        LineageArtifact {
            metadata: metadata(invocation_id),
            nodes: self.nodes.clone(),
        }
    }
}

/// lineage.json's metadata for this invocation.
fn metadata(invocation_id: &str) -> LineageMetadata {
    LineageMetadata {
        kiln_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        invocation_id: invocation_id.to_string(),
    }
}

/// Computes the lineage of the models and snapshots in `compiled` (and the schemas of everything
/// they read), writes `target/lineage.json`, and returns it with the compile-time errors and
/// warnings. What `kiln compile`, `build`, `run` and `docs generate` call.
pub fn compile_lineage(
    loaded: &Loaded,
    compiled: &BTreeMap<String, Compiled>,
) -> Result<ProjectLineage, crate::error::Error> {
    let timer = crate::timing::StageTimer::new();
    let mut lineage = project_lineage(loaded, compiled);
    timer.mark("lineage");
    write_lineage_nodes(
        loaded,
        &metadata(&loaded.info.invocation_id),
        &lineage.nodes,
    )?;
    // After lineage.json, which holds the cached lineage: the keys name its stamp.
    if let Some(c) = lineage.cache.take() {
        c.save(&loaded.project.target_dir());
    }
    timer.mark("write lineage.json");
    let pii = super::pii::classify(loaded, &lineage, &loaded.info.invocation_id);
    super::pii::write_pii(loaded, &pii.artifact)?;
    lineage.pii = pii.artifact;
    lineage.pii_errors = pii.errors;
    timer.mark("pii");
    Ok(lineage)
}

/// Writes `artifact` to `<target-path>/lineage.json`.
pub fn write_lineage(
    loaded: &Loaded,
    artifact: &LineageArtifact,
) -> Result<(), crate::error::Error> {
    let dir = loaded.project.target_dir();
    std::fs::create_dir_all(&dir).map_err(|e| crate::error::Error::io(&dir, e))?;
    let path = dir.join(crate::schemas::lineage::LINEAGE_FILE);
    super::write_if_changed(&path, artifact.to_json().as_bytes())
        .map_err(|e| crate::error::Error::io(&path, e))
}

/// Writes `<target-path>/lineage.json` from the lineage in memory, streamed (tens of MB at
/// 10,000 models: neither copied into an artifact first nor compared with the previous file,
/// whose metadata always differs), secrets scrubbed, through a temporary file renamed over it
/// so a reader never sees half a file.
fn write_lineage_nodes(
    loaded: &Loaded,
    metadata: &LineageMetadata,
    nodes: &BTreeMap<String, NodeLineage>,
) -> Result<(), crate::error::Error> {
    use std::io::Write;
    let dir = loaded.project.target_dir();
    std::fs::create_dir_all(&dir).map_err(|e| crate::error::Error::io(&dir, e))?;
    let path = dir.join(crate::schemas::lineage::LINEAGE_FILE);
    let tmp = dir.join(format!("{}.tmp", crate::schemas::lineage::LINEAGE_FILE));
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut out = std::io::BufWriter::with_capacity(
            1 << 20,
            crate::events::secrets::Redacting::new(file),
        );
        LineageArtifact::write_json(&mut out, metadata, nodes)?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.flush()
    });
    written
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            crate::error::Error::io(&path, e)
        })
}

/// Where a relation's columns came from: only the engine's answers are complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The warehouse's catalog, the binder, a seed's CSV: every column.
    Engine,
    /// YAML's `columns:`, or the lineage engine's reading of SQL the binder rejected: maybe not
    /// every column.
    Declared,
    /// The lineage engine's complete reading of a model the binder was not asked about because
    /// an upstream's columns are YAML's (its types would be built on YAML's guesses): its names
    /// count as the binder's where the binder accepts the model's SQL, which is asked only when a
    /// downstream error depends on it ([`Confirm`]).
    Unbound,
}

/// The relations known so far.
struct Known {
    schema: Schema,
    /// Relation → the unique_id of its node.
    owners: HashMap<RelationName, String>,
    origins: HashMap<RelationName, Origin>,
    /// The nodes whose column types may be guesses: columns YAML declares (VARCHAR where it
    /// gives no type), and the models that read them, directly or not.
    declared: HashSet<String>,
    /// File sources described once: the text compiled SQL reads them by (`read_csv(...)`) and
    /// the empty table with their columns in the binder's database that stands for them, so
    /// the binder does not read (sniff) the file again for every model that selects from it.
    file_tables: Vec<(String, String)>,
    /// unique_id → its relation's name, columns and where they came from, as text.
    described: HashMap<String, String>,
}

impl Known {
    /// What a node's relation is known as, for the lineage cache's keys.
    fn remember(&mut self, name: &RelationName, id: &str, columns: &[DbColumn], origin: Origin) {
        let cols: Vec<String> = columns
            .iter()
            .map(|c| format!("{}\u{1f}{}", c.name, c.data_type))
            .collect();
        self.described.insert(
            id.to_string(),
            format!(
                "{:?}\u{1e}{origin:?}\u{1e}{}",
                name.parts(),
                cols.join("\u{1d}")
            ),
        );
    }

    /// `sql` with each file source read through its stand-in table, if it reads one.
    fn bindable<'a>(&self, sql: &'a str) -> std::borrow::Cow<'a, str> {
        let mut out = std::borrow::Cow::Borrowed(sql);
        for (text, table) in &self.file_tables {
            if out.contains(text.as_str()) {
                out = std::borrow::Cow::Owned(out.replace(text.as_str(), table));
            }
        }
        out
    }

    /// A binder message about [`Known::bindable`]'s SQL, naming the files again.
    fn unbind_message(&self, message: String) -> String {
        let mut out = message;
        for (text, table) in &self.file_tables {
            if out.contains(table.as_str()) {
                out = out.replace(table.as_str(), text);
            }
        }
        out
    }
}

impl Known {
    fn add(&mut self, name: RelationName, id: &str, columns: Vec<DbColumn>, origin: Origin) {
        self.remember(&name, id, &columns, origin);
        let cols = columns
            .into_iter()
            .map(|c| Column::new(c.name, c.data_type))
            .collect();
        self.schema.add_relation(name.clone(), cols);
        self.owners.insert(name.clone(), id.to_string());
        self.origins.insert(name, origin);
        if origin == Origin::Declared {
            self.declared.insert(id.to_string());
        }
    }
}

/// One model's outcome.
struct ModelOut {
    id: String,
    node: NodeLineage,
    /// The columns its relation has for the models downstream.
    relation_columns: Option<(Vec<DbColumn>, Origin)>,
    errors: Vec<Diagnostic>,
    contract_errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

/// The lineage of the models and snapshots in `compiled`; see the module docs.
pub fn project_lineage(loaded: &Loaded, compiled: &BTreeMap<String, Compiled>) -> ProjectLineage {
    let timer = crate::timing::StageTimer::new();
    let project = &loaded.project;
    let adapter = loaded.adapter.as_ref();
    let binder = adapter.binder();
    // The binder's database is opened when something needs describing: a build whose every
    // model hits the lineage cache never opens it.
    let mut setup = Lazy::default();
    let warehouse = WarehouseSchemas::new(adapter);
    let dialect = adapter.sql_dialect();
    let mut known = Known {
        schema: Schema::new(),
        owners: HashMap::new(),
        origins: HashMap::new(),
        declared: HashSet::new(),
        file_tables: Vec::new(),
        described: HashMap::new(),
    };
    // Relations to create in the binder's database, in one transaction per batch.
    let mut creates: Vec<(RelationName, Vec<DbColumn>)> = Vec::new();

    let cache_env = cache::env(loaded);
    let old_cache = cache::Cache::load(&project.target_dir(), &cache_env);
    let mut new_cache = cache::Cache::default();

    // Only what the compiled models and snapshots read (through ephemeral models): a selected
    // run looks up the columns of its nodes' upstreams, not of every seed and source.
    let needed = needed_upstreams(loaded, compiled);
    let mut lookups = Lookups::default();
    // Sources: the warehouse, a file the binder reads, or YAML. A file source's stand-in table
    // is numbered by its place among all the project's sources, so its name (and the lineage
    // cache's keys) do not depend on the selection.
    for (index, s) in project.sources.values().enumerate() {
        if !needed.contains(&s.unique_id) {
            continue;
        }
        let name = relation_name(&s.database, &s.schema, &s.identifier);
        // Read from files where the engine reads them (DuckDB's `read_csv(...)`); an engine
        // that reads no files (Athena) reads the source's relation.
        if s.external.is_some() && adapter.external_source_sql(s).is_some() {
            // Compiled SQL reads the file itself (`read_csv(...)`, `'data/x.csv'`). Reading a
            // file's columns makes the engine sniff it: kept while the files are unchanged.
            let key = cache::file_source_key(&cache_env, &project.dir, &s.relation_name);
            let cached = key
                .as_ref()
                .and_then(|k| old_cache.file_source(&s.unique_id, k));
            let described = cached.or_else(|| {
                lookups.sources += 1;
                let sql = adapter.select_no_rows_sql(&s.relation_name);
                // The warehouse's connection, open already, binds the file as the binder's
                // scratch database would: the binder is opened only when a model must be
                // described (new files of an unchanged source change no model's lineage).
                warehouse.bound_columns(&sql).or_else(|| {
                    setup
                        .get(binder.as_deref())
                        .and_then(|c| c.bound_columns(&sql).ok())
                })
            });
            if let (Some(k), Some(cols)) = (key, &described) {
                new_cache.keep_file_source(&s.unique_id, k, cols);
            }
            let (columns, origin) = match described {
                Some(cols) => (cols, Origin::Engine),
                None => (declared_columns(&s.columns), Origin::Declared),
            };
            if origin == Origin::Engine
                && !columns.is_empty()
                && let Some(b) = binder.as_deref()
            {
                let ident = format!("file_source_{index}");
                let stand_in = RelationName::new([FILE_SCHEMA.to_string(), ident.clone()]);
                creates.push((stand_in, columns.clone()));
                let table = format!("{}.{}", b.quote(FILE_SCHEMA), b.quote(&ident));
                known.file_tables.push((s.relation_name.clone(), table));
            }
            let cols: Vec<Column> = columns
                .iter()
                .map(|c| Column::new(c.name.clone(), c.data_type.clone()))
                .collect();
            if known
                .schema
                .add_table_function(&s.relation_name, dialect.as_ref(), name.clone(), cols)
                .is_ok()
            {
                known.remember(&name, &s.unique_id, &columns, origin);
                known.owners.insert(name.clone(), s.unique_id.clone());
                known.origins.insert(name, origin);
                if origin == Origin::Declared {
                    known.declared.insert(s.unique_id.clone());
                }
            }
            continue;
        }
        lookups.sources += 1;
        let (columns, origin) = match warehouse.columns(&name) {
            Some(cols) => (cols, Origin::Engine),
            None => (declared_columns(&s.columns), Origin::Declared),
        };
        if columns.is_empty() {
            continue;
        }
        creates.push((name.clone(), columns.clone()));
        known.add(name, &s.unique_id, columns, origin);
    }

    timer.mark("  lineage: sources");
    // Seeds, and the models and snapshots this compile did not render: what is built, else
    // what is declared.
    for n in project.nodes.values() {
        let leaf = match n.resource_type {
            ResourceType::Seed => true,
            ResourceType::Model | ResourceType::Snapshot => {
                !compiled.contains_key(&n.unique_id) && !n.is_ephemeral()
            }
            _ => false,
        };
        if !leaf || !needed.contains(&n.unique_id) {
            continue;
        }
        if n.resource_type == ResourceType::Seed {
            lookups.seeds += 1;
        } else {
            lookups.models += 1;
        }
        let name = relation_name(&n.database, &n.schema, &n.alias);
        let mut found = warehouse.columns(&name).map(|c| (c, Origin::Engine));
        if found.is_none()
            && n.resource_type == ResourceType::Seed
            && let Some(b) = binder.as_deref()
            && let Some(conn) = setup.get(Some(b))
            && let Ok(load) = {
                // The CSV by its path from the root project, as `kiln seed` reads it (node.file
                // is relative to it: never to the working directory).
                let mut located = (**n).clone();
                located.file = project.dir.join(&n.file);
                crate::materialize::seed::load(conn.as_mut(), b, &located, None)
            }
        {
            let cols = load
                .columns
                .into_iter()
                .map(|c| DbColumn {
                    name: c.name,
                    data_type: c.data_type,
                    comment: None,
                })
                .collect();
            found = Some((cols, Origin::Engine));
        }
        if found.is_none()
            && n.resource_type == ResourceType::Seed
            && binder.is_none()
            && let Ok(cols) = crate::materialize::seed::columns(
                &mut NoConnection,
                adapter,
                n,
                &project.dir.join(&n.file),
            )
        {
            // No binder (Athena): the CSV's header, typed as the engine's seed load will type
            // it (dbt's inference in Rust, or `column_types`). Every column, as built.
            let cols = cols
                .into_iter()
                .map(|(name, data_type)| DbColumn {
                    name,
                    data_type,
                    comment: None,
                })
                .collect();
            found = Some((cols, Origin::Engine));
        }
        let (columns, origin) =
            found.unwrap_or_else(|| (declared_columns(&n.columns), Origin::Declared));
        if columns.is_empty() {
            continue;
        }
        creates.push((name.clone(), columns.clone()));
        known.add(name, &n.unique_id, columns, origin);
    }
    // Created in the binder's database only when a model is described (below).
    let mut pending = creates;
    timer.mark("  lineage: seeds, unrendered nodes");
    crate::events::Event::note(format!(
        "Lineage lookups: the columns of {} sources, {} seeds and {} models not compiled",
        lookups.sources, lookups.seeds, lookups.models
    ))
    .at(crate::events::Level::Debug)
    .emit();

    // The compiled models and snapshots, level by level of the DAG.
    let ids: Vec<&String> = compiled
        .keys()
        .filter(|id| {
            project.nodes.get(*id).is_some_and(|n| {
                matches!(
                    n.resource_type,
                    ResourceType::Model | ResourceType::Snapshot
                )
            })
        })
        .collect();
    let levels = levels(loaded, &ids);
    let options = masking_options(loaded);
    let mut out = ProjectLineage::default();
    // Models the binder described, and models read without it (an upstream's columns are
    // YAML's: its answer would be built on guessed types).
    let described = std::sync::atomic::AtomicUsize::new(0);
    let unbound = std::sync::atomic::AtomicUsize::new(0);
    let typed = std::sync::atomic::AtomicUsize::new(0);
    // Whether an unbound model's SQL binds (its names then count as the binder's), asked only
    // when a downstream error depends on it.
    let confirm = Confirm::new(compiled);
    // Stand-in tables created in the binder's database.
    let mut stand_ins = 0usize;
    // Connections to the binder's database, reused across models and levels (opening one
    // applies the target's settings).
    let pool: std::sync::Mutex<Vec<Box<dyn Connection>>> = std::sync::Mutex::new(Vec::new());
    let take = || -> Option<Box<dyn Connection>> {
        let reused = pool.lock().ok().and_then(|mut p| p.pop());
        reused.or_else(|| binder.as_ref().and_then(|b| b.connect().ok()))
    };
    let give = |conn: Option<Box<dyn Connection>>| {
        if let (Some(c), Ok(mut p)) = (conn, pool.lock()) {
            p.push(c);
        }
    };
    for level in levels {
        // The cache first, then the lineage engine's reading, which decides whether the binder
        // is asked.
        let keyed: Vec<(&String, Option<String>, Step)> = level
            .par_iter()
            .filter_map(|id| {
                let node = project.nodes.get(id.as_str())?;
                let code = compiled.get(id.as_str())?;
                let key = cache_key(loaded, node, code, &known, &cache_env);
                if let Some(hit) = key.as_ref().and_then(|k| old_cache.lookup(id, k)) {
                    return Some((id, key, Step::Cached(Box::new(hit))));
                }
                let prepared =
                    prepare_model(loaded, node, code, &known, &options, binder.is_some());
                Some((id, key, Step::Read(Box::new(prepared))))
            })
            .collect();
        // The binder's database gets only the relations this level's described models read
        // (and the models whose binding an error waits on), each once.
        if !pending.is_empty() {
            let mut texts: Vec<&str> = Vec::new();
            for (id, _, step) in &keyed {
                if let Step::Read(p) = step
                    && p.bind
                {
                    if let Some(code) = compiled.get(id.as_str()) {
                        texts.push(&code.code);
                    }
                    for r in &p.confirm {
                        if let Some(code) = known.owners.get(r).and_then(|o| compiled.get(o)) {
                            texts.push(&code.code);
                        }
                    }
                }
            }
            if !texts.is_empty() {
                let bindable: Vec<String> = texts
                    .iter()
                    .map(|t| known.bindable(t).into_owned())
                    .collect();
                let read = ReadNames::new(&bindable);
                let (now, later): (Vec<_>, Vec<_>) =
                    pending.into_iter().partition(|(name, _)| read.names(name));
                pending = later;
                if !now.is_empty() {
                    stand_ins += now.len();
                    if setup.conn.is_none() {
                        setup.conn = take();
                    }
                    create_in_binder(binder.as_deref(), &mut setup.conn, &now);
                }
            }
        }
        let results: Vec<(ModelOut, String)> = keyed
            .into_par_iter()
            .filter_map(|(id, key, step)| {
                let prepared = match step {
                    Step::Cached(hit) => return Some((*hit, key.unwrap_or_default())),
                    Step::Read(p) => *p,
                };
                let node = project.nodes.get(id.as_str())?;
                let code = compiled.get(id.as_str())?;
                let mut conn = if prepared.bind { take() } else { None };
                // Columns not from the binder are kept only when a binder was there to reject
                // the query or chose not to be asked (never when its database could not be
                // opened).
                let asked = conn.is_some() || prepared.skipped;
                if conn.is_some() {
                    described.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if prepared.skipped {
                    unbound.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if prepared.typed.is_some() {
                    typed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let out = read_model(
                    loaded, node, code, &known, prepared, &mut conn, &warehouse, &confirm,
                );
                give(conn);
                let keep = key
                    .filter(|_| {
                        cacheable(loaded, node, &out)
                            && (asked
                                || !matches!(out.relation_columns, Some((_, Origin::Declared))))
                    })
                    .unwrap_or_default();
                Some((out, keep))
            })
            .collect();
        let results: Vec<ModelOut> = results
            .into_iter()
            .map(|(out, key)| {
                if !key.is_empty() {
                    new_cache.keep(&out, key);
                }
                out
            })
            .collect();
        for r in results {
            let node = &project.nodes[&r.id];
            if let Some((columns, origin)) = r.relation_columns {
                let name = relation_name(&node.database, &node.schema, &node.alias);
                pending.push((name.clone(), columns.clone()));
                known.add(name, &r.id, columns, origin);
            }
            if loaded
                .graph
                .depends_on(&r.id)
                .iter()
                .any(|id| known.declared.contains(id))
            {
                known.declared.insert(r.id.clone());
            }
            out.errors.extend(r.errors);
            out.contract_errors.extend(r.contract_errors);
            out.warnings.extend(r.warnings);
            out.nodes.insert(r.id, r.node);
        }
    }
    drop(setup);
    timer.mark("  lineage: models");
    let described = described.into_inner();
    let unbound = unbound.into_inner();
    let typed = typed.into_inner();
    let mut without = String::new();
    if typed > 0 {
        without.push_str(&format!(" {typed} typed by kiln,"));
    }
    if unbound > 0 {
        without.push_str(&format!(
            " {unbound} read without it (an upstream's columns are YAML's),"
        ));
    }
    crate::events::Event::note(format!(
        "Lineage: {described} of {} models described by the binder,{without} the rest from {}",
        ids.len(),
        cache::KEYS_FILE
    ))
    .at(crate::events::Level::Debug)
    .emit();
    crate::events::Event::note(format!(
        "Lineage: {stand_ins} of {} relations created as stand-in tables in the binder's database",
        known.owners.len()
    ))
    .at(crate::events::Level::Debug)
    .emit();
    new_cache.env = cache_env;
    out.cache = Some(new_cache);
    out
}

/// The upstream relations whose columns [`project_lineage`] looks up: what each compiled model
/// and snapshot reads ([`upstreams`], through ephemeral models), less what is compiled itself.
fn needed_upstreams(loaded: &Loaded, compiled: &BTreeMap<String, Compiled>) -> HashSet<String> {
    let mut needed = HashSet::new();
    for id in compiled.keys() {
        let reads = loaded.project.nodes.get(id).is_some_and(|n| {
            matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Snapshot
            )
        });
        if reads {
            needed.extend(upstreams(loaded, id));
        }
    }
    // A relation the SQL names without `ref`/`source` (a macro's hard-coded name, e.g. the
    // demo's PII key read by `athena__hash_pii`) is read too: every source, seed and model whose
    // identifier is a word of some compiled model's or snapshot's SQL is looked up.
    let mut words: HashSet<String> = HashSet::new();
    for (id, code) in compiled {
        if loaded.project.nodes.get(id).is_some_and(|n| {
            matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Snapshot
            )
        }) {
            words.extend(
                code.code
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase),
            );
        }
    }
    let named = |identifier: &str| words.contains(&identifier.to_lowercase());
    for s in loaded.project.sources.values() {
        if named(&s.identifier) {
            needed.insert(s.unique_id.clone());
        }
    }
    for n in loaded.project.nodes.values() {
        if matches!(n.resource_type, ResourceType::Seed | ResourceType::Model) && named(&n.alias) {
            needed.insert(n.unique_id.clone());
        }
    }
    needed.retain(|id| !compiled.contains_key(id));
    needed
}

/// How many relations' columns [`project_lineage`] looked up before describing models (a debug
/// line: a selected run asks only about its nodes' upstreams).
#[derive(Default)]
struct Lookups {
    sources: usize,
    seeds: usize,
    models: usize,
}

/// A connection to the binder's database, opened on first use.
#[derive(Default)]
struct Lazy {
    conn: Option<Box<dyn Connection>>,
    tried: bool,
}

impl Lazy {
    fn get(&mut self, binder: Option<&dyn Adapter>) -> Option<&mut Box<dyn Connection>> {
        if self.conn.is_none() && !self.tried {
            self.tried = true;
            self.conn = binder.and_then(|b| b.connect().ok());
        }
        self.conn.as_mut()
    }
}

/// The levels of the DAG among `ids`: each id after every one of its ancestors among them.
fn levels(loaded: &Loaded, ids: &[&String]) -> Vec<Vec<String>> {
    let mut level: HashMap<String, usize> = HashMap::new();
    for id in loaded.graph.topo_order() {
        // Through nodes outside `ids` too, so that a model two hops down waits for both.
        let l = loaded
            .graph
            .parents
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|p| level.get(p).map(|l| l + 1))
            .max()
            .unwrap_or(0);
        level.insert(id, l);
    }
    let mut out: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for id in ids {
        out.entry(level.get(id.as_str()).copied().unwrap_or(0))
            .or_default()
            .push(id.to_string());
    }
    out.into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect()
}

/// What masks a value: without `vars: kiln: pii:`, the built-in hashes; with it, exactly its
/// `masking_functions` and what its `masking_macros` rendered ([`super::pii`]).
fn masking_options(loaded: &Loaded) -> Options {
    let configured = loaded
        .project
        .vars
        .get("kiln")
        .and_then(|k| k.get("pii"))
        .is_some();
    let settings =
        crate::schemas::pii::PiiSettings::from_vars(&loaded.project.vars).unwrap_or_default();
    Options {
        masking_functions: settings.masking_functions,
        declared_masking_only: configured,
        masked_ranges: Vec::new(),
    }
}

/// Where in `code` the texts its masking macros rendered are (every occurrence).
fn masked_ranges(code: &Compiled) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for text in &code.masked {
        let mut from = 0;
        while let Some(i) = code.code[from..].find(text.as_str()) {
            out.push(from + i..from + i + text.len());
            from += i + text.len().max(1);
        }
    }
    out
}

fn relation_name(database: &str, schema: &str, identifier: &str) -> RelationName {
    RelationName::new(
        [database, schema, identifier]
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(String::from),
    )
}

/// The columns of built relations, from the warehouse: relation by relation
/// ([`Connection::columns`]), or, where the adapter reads them from its catalog
/// ([`Adapter::lineage_reads_catalog`]: Glue), one listing per schema kept for this compile.
/// Shared by the models described in parallel (snapshots ask for their built columns).
struct WarehouseSchemas {
    by_catalog: bool,
    state: std::sync::Mutex<WarehouseState>,
}

struct WarehouseState {
    conn: Option<Box<dyn Connection>>,
    /// (database, schema), lower case → relation (lower case) → columns.
    listed: HashMap<(String, String), HashMap<String, Vec<DbColumn>>>,
    /// A listing failed (no network, no credentials): nothing more is asked.
    down: bool,
}

impl WarehouseSchemas {
    fn new(adapter: &dyn Adapter) -> WarehouseSchemas {
        let conn = if adapter.can_execute() && adapter.warehouse_exists() {
            adapter.connect().ok()
        } else {
            None
        };
        WarehouseSchemas {
            by_catalog: adapter.lineage_reads_catalog(),
            state: std::sync::Mutex::new(WarehouseState {
                conn,
                listed: HashMap::new(),
                down: false,
            }),
        }
    }

    /// The columns `sql` gives, bound (never run) on the warehouse's connection; None where the
    /// lineage reads the catalog instead (an engine without a binder) or the warehouse is not
    /// open.
    fn bound_columns(&self, sql: &str) -> Option<Vec<DbColumn>> {
        if self.by_catalog {
            return None;
        }
        let mut guard = self.state.lock().ok()?;
        guard.conn.as_mut()?.bound_columns(sql).ok()
    }

    /// The columns of a built relation, if the warehouse has it.
    fn columns(&self, name: &RelationName) -> Option<Vec<DbColumn>> {
        let mut guard = self.state.lock().ok()?;
        let state = &mut *guard;
        let conn = state.conn.as_mut()?;
        let (db, schema, ident) = match name.parts() {
            [db, schema, ident] => (db.as_str(), schema.as_str(), ident.as_str()),
            [schema, ident] => ("", schema.as_str(), ident.as_str()),
            _ => return None,
        };
        if !self.by_catalog {
            return conn
                .columns(db, schema, ident)
                .ok()
                .filter(|c| !c.is_empty());
        }
        if state.down {
            return None;
        }
        let key = (db.to_lowercase(), schema.to_lowercase());
        if !state.listed.contains_key(&key) {
            match conn.catalog(db, schema) {
                Ok(rows) => {
                    let mut tables: HashMap<String, Vec<DbColumn>> = HashMap::new();
                    for r in rows {
                        tables
                            .entry(r.table.to_lowercase())
                            .or_default()
                            .push(DbColumn {
                                name: r.column,
                                data_type: r.data_type.to_uppercase(),
                                comment: r.comment,
                            });
                    }
                    state.listed.insert(key.clone(), tables);
                }
                Err(e) => {
                    state.down = true;
                    crate::events::Event::note(format!(
                        "Lineage: the warehouse's catalog could not be read ({}); columns come from YAML and seeds' CSV files instead",
                        e.message.split_whitespace().collect::<Vec<_>>().join(" ")
                    ))
                    .at(crate::events::Level::Warn)
                    .emit();
                    return None;
                }
            }
        }
        state
            .listed
            .get(&key)
            .and_then(|t| t.get(&ident.to_lowercase()))
            .filter(|c| !c.is_empty())
            .cloned()
    }
}

/// A connection that runs nothing: for the engine's CSV typing where it reads the file in Rust
/// (Athena's `load_csv` never queries).
struct NoConnection;

impl Connection for NoConnection {
    fn execute(&mut self, _sql: &str) -> Result<(), crate::adapter::DbError> {
        Err(crate::adapter::DbError::query(
            "no connection: the column lineage only reads files here",
        ))
    }

    fn query(&mut self, _sql: &str) -> Result<crate::adapter::Rows, crate::adapter::DbError> {
        Err(crate::adapter::DbError::query(
            "no connection: the column lineage only reads files here",
        ))
    }
}

/// The upstream's type of a column passed through unchanged (one DIRECT IDENTITY input).
fn passed_through_type(known: &Known, c: &engine::OutputColumn) -> Option<String> {
    let [input] = c.inputs.as_slice() else {
        return None;
    };
    let identity = input.transformations.iter().all(|t| {
        t.kind == engine::TransformationType::Direct && t.subtype == engine::Subtype::Identity
    });
    if !identity || input.transformations.is_empty() {
        return None;
    }
    let parts: Vec<&str> = input.relation.parts().iter().map(String::as_str).collect();
    match engine::SchemaProvider::relation(&known.schema, &parts) {
        engine::Lookup::Found(_, cols) => cols
            .iter()
            .find(|x| x.name.eq_ignore_ascii_case(&input.column))
            .map(|x| x.data_type.clone())
            .filter(|t| !t.is_empty()),
        _ => None,
    }
}

/// YAML's columns, typed where YAML types them (empty otherwise: not known; the binder's
/// stand-in tables make it VARCHAR, [`GUESSED_TYPE`]).
fn declared_columns(
    columns: &indexmap::IndexMap<String, crate::project::ColumnInfo>,
) -> Vec<DbColumn> {
    columns
        .values()
        .map(|c| DbColumn {
            name: c.name.clone(),
            data_type: c.data_type.clone().unwrap_or_default(),
            comment: None,
        })
        .collect()
}

/// The type a stand-in table's column gets where its type is not known (the binder needs one).
const GUESSED_TYPE: &str = "VARCHAR";

/// The binder database's schema of the file sources' stand-in tables.
const FILE_SCHEMA: &str = "__kiln_file_sources";

/// Creates each relation with its columns in the binder's database; a relation it cannot create
/// is left out (queries reading it are then not bound). One transaction for all of them (each
/// statement on its own costs DuckDB a commit); when it fails, one relation at a time.
fn create_in_binder(
    binder: Option<&dyn Adapter>,
    conn: &mut Option<Box<dyn Connection>>,
    relations: &[(RelationName, Vec<DbColumn>)],
) {
    let (Some(binder), Some(conn)) = (binder, conn.as_mut()) else {
        return;
    };
    let statements: Vec<Vec<String>> = relations
        .iter()
        .filter_map(|(name, columns)| {
            let (db, schema, ident) = match name.parts() {
                [db, schema, ident] => (db.as_str(), schema.as_str(), ident.as_str()),
                [schema, ident] => ("", schema.as_str(), ident.as_str()),
                _ => return None,
            };
            let typed: Vec<DbColumn> = columns
                .iter()
                .map(|c| DbColumn {
                    name: c.name.clone(),
                    data_type: if c.data_type.is_empty() {
                        GUESSED_TYPE.to_string()
                    } else {
                        c.data_type.clone()
                    },
                    comment: c.comment.clone(),
                })
                .collect();
            Some(binder.binder_table_sql(db, schema, ident, &typed))
        })
        .collect();
    if statements.is_empty() {
        return;
    }
    // Attaching a database cannot be part of a transaction: those first, once each. The same
    // `create schema if not exists` before each of a schema's tables is sent once: each
    // statement costs DuckDB a round of planning and execution.
    let mut attached = HashSet::new();
    let mut schemas = HashSet::new();
    let mut batch = String::from("begin;\n");
    for sql in statements.iter().flatten() {
        let lower = sql.trim_start().to_ascii_lowercase();
        if lower.starts_with("attach") {
            if attached.insert(sql.clone()) {
                let _ = conn.execute(sql);
            }
        } else if !lower.starts_with("create schema if not exists") || schemas.insert(sql.as_str())
        {
            batch.push_str(sql);
            batch.push_str(";\n");
        }
    }
    batch.push_str("commit");
    if conn.execute(&batch).is_ok() {
        return;
    }
    let _ = conn.execute("rollback");
    for one in &statements {
        for sql in one {
            if conn.execute(sql).is_err() {
                break;
            }
        }
    }
}

/// A model of a level: its lineage from the cache, or to read.
enum Step {
    Cached(Box<ModelOut>),
    Read(Box<Prepared>),
}

/// A model read by the lineage engine, before the binder is asked (or not).
struct Prepared {
    lineage: engine::Lineage,
    /// An upstream's columns are YAML's (typed VARCHAR where YAML gives no type), directly or
    /// through the models that read them: the binder's types would be built on guesses.
    guessed: bool,
    /// Ask the binder.
    bind: bool,
    /// A binder is there, but not asked: its answer would be built on guesses and nothing the
    /// user sees depends on it ([`needs_binder`]).
    skipped: bool,
    /// Unbound upstreams an error of this model depends on ([`Confirm`]).
    confirm: Vec<RelationName>,
    /// Its output columns with DuckDB's types, worked out by kiln ([`engine::types`]): the
    /// binder is not asked.
    typed: Option<Vec<engine::types::TypedColumn>>,
}

/// Reads `node`'s compiled SQL with the lineage engine and decides whether the binder is asked:
/// always where every upstream's columns are the engine's; where one is YAML's, only when what
/// the user sees depends on its answer ([`needs_binder`]).
fn prepare_model(
    loaded: &Loaded,
    node: &Node,
    code: &Compiled,
    known: &Known,
    options: &Options,
    has_binder: bool,
) -> Prepared {
    let dialect = loaded.adapter.sql_dialect();
    let with_masked;
    let options = if code.masked.is_empty() {
        options
    } else {
        with_masked = Options {
            masked_ranges: masked_ranges(code),
            ..options.clone()
        };
        &with_masked
    };
    // Parsed once, for the lineage engine and kiln's typer.
    let parsed = crate::sql::parse(&code.code, dialect.as_ref())
        .ok()
        .filter(|s| s.len() == 1);
    let lineage = match parsed.as_deref() {
        Some([statement]) => {
            engine::analyze_statement(statement, &code.code, &known.schema, options)
        }
        _ => engine::analyze(&code.code, dialect.as_ref(), &known.schema, options),
    };
    let guessed = loaded
        .graph
        .depends_on(&node.unique_id)
        .iter()
        .any(|id| known.declared.contains(id));
    let mut confirm = Vec::new();
    let at_stake = needs_binder(loaded.adapter.as_ref(), node, &lineage, known, &mut confirm);
    // A model whose upstreams the engine typed, whose every expression lies in kiln's verified
    // domain ([`engine::types`]): its types are the binder's without asking it.
    let typed = match parsed.as_deref() {
        Some([statement])
            if has_binder
                && !guessed
                && !at_stake
                && lineage.is_complete()
                && lineage.unknown_columns.is_empty()
                && node.resource_type == ResourceType::Model
                && !binder_only() =>
        {
            engine::types::infer(statement, &EngineTyped(known)).filter(|cols| {
                cols.len() == lineage.columns.len()
                    && cols
                        .iter()
                        .zip(&lineage.columns)
                        .all(|(t, c)| t.name == c.name)
            })
        }
        _ => None,
    };
    let bind = has_binder && typed.is_none() && (!guessed || at_stake);
    Prepared {
        lineage,
        guessed,
        bind,
        skipped: has_binder && !bind && typed.is_none(),
        confirm,
        typed,
    }
}

/// `KILN_LINEAGE_BINDER_ONLY=1`: every model the binder can describe is described by it, none
/// typed by kiln (to compare both, in tests, or to check a type kiln reports).
fn binder_only() -> bool {
    std::env::var_os("KILN_LINEAGE_BINDER_ONLY").is_some_and(|v| v == "1")
}

/// The relations whose column types are all the engine's (for kiln's typer): any other is
/// unknown to it.
struct EngineTyped<'a>(&'a Known);

impl engine::SchemaProvider for EngineTyped<'_> {
    fn relation(&self, parts: &[&str]) -> engine::Lookup<'_> {
        match self.0.schema.relation(parts) {
            engine::Lookup::Found(name, cols)
                if self.0.origins.get(name) == Some(&Origin::Engine) =>
            {
                engine::Lookup::Found(name, cols)
            }
            _ => engine::Lookup::Missing,
        }
    }
}

/// Whether the binder's answer about a model over guessed upstreams can change what the user
/// sees: an enforced contract (checked as at build), SQL the lineage engine cannot read whole
/// (the binder's column names then stand), a column named after its expression (the engine
/// prints it its own way), or a name the upstreams lack where an error may be certain (every
/// relation searched has the engine's columns, or an unbound model's, collected into
/// `confirm`). Its types are never used: they would be derived from YAML's guesses.
fn needs_binder(
    adapter: &dyn Adapter,
    node: &Node,
    lineage: &engine::Lineage,
    known: &Known,
    confirm: &mut Vec<RelationName>,
) -> bool {
    let mut at_stake = crate::materialize::contract::Contract::of(adapter, node).is_some()
        || lineage.columns.is_empty()
        || lineage.columns.iter().any(|c| c.named_by_expression)
        || lineage.incomplete.len() > lineage.unknown_columns.len();
    for u in &lineage.unknown_columns {
        if u.searched.is_empty() {
            continue;
        }
        let relations: Vec<&RelationName> = u
            .searched
            .iter()
            .filter_map(|s| s.relation.as_ref())
            .collect();
        let possible = relations.iter().all(|r| {
            matches!(
                known.origins.get(*r),
                Some(Origin::Engine | Origin::Unbound)
            )
        });
        if possible {
            at_stake = true;
            for r in relations {
                if known.origins.get(r) == Some(&Origin::Unbound) && !confirm.contains(r) {
                    confirm.push(r.clone());
                }
            }
        }
    }
    at_stake
}

/// Whether an unbound model's SQL binds in the binder's database (then its names count as the
/// binder's, as when it was described): asked once per model, only when a downstream error
/// depends on it.
struct Confirm<'a> {
    compiled: &'a BTreeMap<String, Compiled>,
    answers: std::sync::Mutex<HashMap<RelationName, bool>>,
}

impl<'a> Confirm<'a> {
    fn new(compiled: &'a BTreeMap<String, Compiled>) -> Confirm<'a> {
        Confirm {
            compiled,
            answers: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn binds(
        &self,
        relation: &RelationName,
        known: &Known,
        conn: &mut Box<dyn Connection>,
    ) -> bool {
        if let Some(answer) = self
            .answers
            .lock()
            .ok()
            .and_then(|a| a.get(relation).copied())
        {
            return answer;
        }
        let Some(code) = known
            .owners
            .get(relation)
            .and_then(|id| self.compiled.get(id))
        else {
            return false;
        };
        let bindable = known.bindable(&code.code);
        let answer = conn.bound_columns(&bindable).is_ok()
            || (bindable.as_ref() != code.code && conn.bound_columns(&code.code).is_ok());
        if let Ok(mut a) = self.answers.lock() {
            a.insert(relation.clone(), answer);
        }
        answer
    }
}

/// The relation names some SQL texts may read: each identifier's last part as a word of the
/// texts (case-insensitive), or, for one that is not a plain word, anywhere in them. A superset:
/// a stand-in table too many costs a little, one too few fails a binding.
struct ReadNames {
    words: HashSet<String>,
    lower: Vec<String>,
}

impl ReadNames {
    fn new(texts: &[String]) -> ReadNames {
        let mut words = HashSet::new();
        for t in texts {
            words.extend(
                t.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase),
            );
        }
        ReadNames {
            words,
            lower: texts.iter().map(|t| t.to_lowercase()).collect(),
        }
    }

    fn names(&self, relation: &RelationName) -> bool {
        let Some(ident) = relation.parts().last() else {
            return true;
        };
        let ident = ident.to_lowercase();
        if ident.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return self.words.contains(&ident);
        }
        self.lower.iter().any(|t| t.contains(&ident))
    }
}

/// One model's (or snapshot's) lineage, checks and output columns.
#[allow(clippy::too_many_arguments)]
fn read_model(
    loaded: &Loaded,
    node: &Node,
    code: &Compiled,
    known: &Known,
    prepared: Prepared,
    binder: &mut Option<Box<dyn Connection>>,
    warehouse: &WarehouseSchemas,
    confirm: &Confirm<'_>,
) -> ModelOut {
    let adapter = loaded.adapter.as_ref();
    let sql = code.code.as_str();
    let Prepared {
        mut lineage,
        guessed,
        skipped,
        typed,
        ..
    } = prepared;
    let mut errors = vec![];
    let mut contract_errors = vec![];
    let mut warnings = vec![];
    let bindable = known.bindable(sql);
    let bind_sql = bindable.as_ref();
    let bound: Option<Result<Vec<DbColumn>, String>> = match binder.as_mut() {
        // Typed by kiln within its verified domain: what the binder would answer.
        _ if typed.is_some() => typed.map(|cols| {
            Ok(cols
                .into_iter()
                .map(|c| DbColumn {
                    name: c.name,
                    data_type: c.data_type,
                    comment: None,
                })
                .collect())
        }),
        Some(conn) => {
            let mut result = conn.bound_columns(bind_sql).map_err(|e| e.message);
            if result.is_err() && bind_sql != sql {
                // Read through the stand-in tables, a query that names the file's own
                // relation (its implicit alias) may not bind: as it is written, then.
                result = conn.bound_columns(sql).map_err(|e| e.message);
            }
            let result = result.map_err(|m| known.unbind_message(m));
            // An enforced contract: the declared names and types against the binder's.
            if result.is_ok()
                && let Some(contract) = crate::materialize::contract::Contract::of(adapter, node)
            {
                let declared = conn.query_columns(&contract.declared_sql(adapter));
                let actual_flat = conn.query_columns(&adapter.empty_subquery_sql(bind_sql));
                if let (Ok(declared), Ok(actual_flat)) = (declared, actual_flat)
                    && let Err(table) =
                        crate::materialize::contract::compare(&declared, &actual_flat)
                {
                    contract_errors.push(
                        Diagnostic::error(
                            "contract",
                            format!(
                                "{} {} has an enforced contract that its SQL does not keep:\n{table}",
                                node.resource_type.as_str(),
                                node.name
                            ),
                        )
                        .at(node_location(loaded, node))
                        .with_help("make the SQL return the declared columns and types, or change the contract"),
                    );
                }
            }
            Some(result)
        }
        None => None,
    };
    match &bound {
        Some(Ok(cols)) => {
            let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
            lineage.reconcile(&names);
        }
        Some(Err(message)) => {
            let certain = !lineage.unknown_columns.is_empty();
            if certain {
                // An unbound upstream's names count as the binder's where its SQL binds.
                let mut engine_names = |r: &RelationName| match known.origins.get(r) {
                    Some(Origin::Engine) => true,
                    Some(Origin::Unbound) => binder
                        .as_mut()
                        .is_some_and(|conn| confirm.binds(r, known, conn)),
                    _ => false,
                };
                for u in &lineage.unknown_columns {
                    if let Some(d) = unknown_error(loaded, node, code, known, u, &mut engine_names)
                    {
                        errors.push(d);
                    }
                }
            }
            // An upstream whose columns YAML declares (typed VARCHAR where YAML gives no type)
            // can make a sound query fail to bind: the lineage stands, without types.
            if lineage.unknown_columns.is_empty() && !guessed {
                let first = message.lines().next().unwrap_or_default();
                lineage.incomplete.push(engine::Incomplete {
                    reason: format!("the database's binder rejects the query: {first}"),
                    at: None,
                });
            }
        }
        None => {}
    }
    dedupe(&mut errors);

    // The columns of its relation for the models downstream, and the artifact's columns.
    // Unchecked by a binder, or checked over guessed upstreams: only what is known, YAML's type
    // or the upstream's for a column passed through from a relation the engine typed.
    let known_type = |name: &str, column: Option<&engine::OutputColumn>| {
        yaml_type(node, name).or_else(|| column.and_then(|c| passed_through_type(known, c)))
    };
    let types: Vec<Option<String>> = match &bound {
        Some(Ok(cols)) if !guessed => cols.iter().map(|c| Some(c.data_type.clone())).collect(),
        Some(Ok(cols)) => {
            let same = lineage.columns.len() == cols.len();
            cols.iter()
                .enumerate()
                .map(|(i, c)| known_type(&c.name, lineage.columns.get(i).filter(|_| same)))
                .collect()
        }
        _ => lineage
            .columns
            .iter()
            .map(|c| known_type(&c.name, Some(c)))
            .collect(),
    };
    let mut columns: Vec<ColumnLineage> = lineage
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| ColumnLineage {
            name: c.name.clone(),
            data_type: types.get(i).cloned().flatten(),
            inputs: inputs(known, &c.inputs),
        })
        .collect();
    if let Some(Ok(cols)) = &bound
        && columns.is_empty()
    {
        // The engine could not read the SQL: the binder's columns, without inputs.
        columns = cols
            .iter()
            .zip(&types)
            .map(|(c, t)| ColumnLineage {
                name: c.name.clone(),
                data_type: t.clone(),
                inputs: vec![],
            })
            .collect();
    }
    // A type not known is left empty (the binder's stand-in tables make it VARCHAR).
    let typed_columns = |names: &mut dyn Iterator<Item = &String>| -> Vec<DbColumn> {
        names
            .zip(&types)
            .map(|(name, t)| DbColumn {
                name: name.clone(),
                data_type: t.clone().unwrap_or_default(),
                comment: None,
            })
            .collect()
    };
    let mut relation_columns: Option<(Vec<DbColumn>, Origin)> = match &bound {
        Some(Ok(cols)) => Some((
            typed_columns(&mut cols.iter().map(|c| &c.name)),
            Origin::Engine,
        )),
        _ if !lineage.columns.is_empty() => Some((
            typed_columns(&mut lineage.columns.iter().map(|c| &c.name)),
            // Its names are the lineage engine's complete reading where the binder was not
            // asked only because its types would be guesses.
            if skipped && lineage.is_complete() {
                Origin::Unbound
            } else {
                Origin::Declared
            },
        )),
        _ => {
            let d = declared_columns(&node.columns);
            (!d.is_empty()).then_some((d, Origin::Declared))
        }
    };
    if node.resource_type == ResourceType::Snapshot {
        // A snapshot keeps the columns it was built with.
        let built = warehouse.columns(&relation_name(&node.database, &node.schema, &node.alias));
        let meta = snapshot_meta_columns(node);
        for (name, ty) in &meta {
            if !columns.iter().any(|c| c.name.eq_ignore_ascii_case(name)) {
                let ty = built
                    .as_ref()
                    .and_then(|b| b.iter().find(|c| c.name.eq_ignore_ascii_case(name)))
                    .map_or_else(|| ty.to_string(), |c| c.data_type.clone());
                columns.push(ColumnLineage {
                    name: name.clone(),
                    data_type: Some(ty),
                    inputs: vec![],
                });
            }
        }
        relation_columns = match built {
            Some(cols) => Some((cols, Origin::Engine)),
            None => relation_columns.map(|(mut cols, origin)| {
                for (name, ty) in &meta {
                    cols.push(DbColumn {
                        name: name.clone(),
                        data_type: ty.to_string(),
                        comment: None,
                    });
                }
                (cols, origin)
            }),
        };
    }
    if node.is_ephemeral() {
        relation_columns = None;
    }

    // YAML columns the SQL does not produce.
    if lineage.is_complete() || matches!(bound, Some(Ok(_))) {
        let produced: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        if !produced.is_empty() {
            warnings.extend(missing_declared(loaded, node, &produced));
        }
    }

    let incomplete: Vec<IncompleteReason> = lineage
        .incomplete
        .iter()
        .map(|i| {
            let at =
                i.at.and_then(|p| source_position(loaded, node, code, p.offset, None));
            IncompleteReason {
                reason: i.reason.clone(),
                line: at.as_ref().map(|l| l.line as u64),
                column: at.as_ref().map(|l| l.column as u64),
            }
        })
        .collect();
    ModelOut {
        id: node.unique_id.clone(),
        node: NodeLineage {
            relation: if node.is_ephemeral() {
                None
            } else {
                node.relation_name.clone()
            },
            complete: incomplete.is_empty(),
            // No binder described the query (Athena has none; or its database could not be
            // opened): the columns are the lineage engine's reading of the SQL.
            binder_checked: matches!(bound, Some(Ok(_))) || !incomplete.is_empty(),
            incomplete,
            columns,
            dataset: inputs(known, &lineage.dataset),
        },
        relation_columns,
        errors,
        contract_errors,
        warnings,
    }
}

/// The type YAML declares for a node's column, if it does.
fn yaml_type(node: &Node, column: &str) -> Option<String> {
    node.columns
        .values()
        .find(|c| c.name.eq_ignore_ascii_case(column))
        .and_then(|c| c.data_type.clone())
}

/// The columns a snapshot adds, with their types before it is built.
fn snapshot_meta_columns(node: &Node) -> Vec<(String, &'static str)> {
    let Some(cfg) = node.settings.snapshot.as_ref() else {
        return vec![];
    };
    let n = &cfg.names;
    let mut out = vec![
        (n.scd_id.clone(), "VARCHAR"),
        (n.updated_at.clone(), "TIMESTAMP"),
        (n.valid_from.clone(), "TIMESTAMP"),
        (n.valid_to.clone(), "TIMESTAMP"),
    ];
    if cfg.hard_deletes == crate::project::settings::snapshot::HardDeletes::NewRecord {
        out.push((n.is_deleted.clone(), "VARCHAR"));
    }
    out
}

/// Input fields named by node: a relation no node owns (it cannot happen: only nodes' relations
/// are registered) is left out.
fn inputs(known: &Known, fields: &[InputField]) -> Vec<LineageInput> {
    fields
        .iter()
        .filter_map(|f| {
            Some(LineageInput {
                node: known.owners.get(&f.relation)?.clone(),
                column: f.column.clone(),
                transformations: f.transformations.clone(),
            })
        })
        .collect()
}

fn dedupe(diags: &mut Vec<Diagnostic>) {
    let mut seen = BTreeSet::new();
    diags.retain(|d| {
        seen.insert((
            d.location
                .as_ref()
                .map(|l| (l.path.clone(), l.line, l.column)),
            d.message.clone(),
        ))
    });
}

/// The compile-time error for a name the model uses that its upstreams lack, when certain: every
/// relation searched has the engine's columns.
fn unknown_error(
    loaded: &Loaded,
    node: &Node,
    code: &Compiled,
    known: &Known,
    u: &UnknownColumn,
    engine_names: &mut dyn FnMut(&RelationName) -> bool,
) -> Option<Diagnostic> {
    // A query without a FROM (`select {{ var('x') }} as y`) has no upstream to lack the name.
    if u.searched.is_empty() {
        return None;
    }
    let searched_upstreams: Vec<&RelationName> = u
        .searched
        .iter()
        .filter_map(|s| s.relation.as_ref())
        .collect();
    if !searched_upstreams.iter().all(|r| engine_names(r)) {
        return None;
    }
    let offset = u.at?.offset;
    let location = source_position(loaded, node, code, offset, Some(&u.name))?;
    let what = |s: &engine::Searched| match s.relation.as_ref().and_then(|r| known.owners.get(r)) {
        Some(id) => format!("`{}` ({id})", display_name(loaded, id)),
        None => format!("`{}`", s.name),
    };
    let searched: Vec<String> = u.searched.iter().map(what).collect();
    let message = match u.kind {
        UnknownKind::Column => {
            let name = match &u.qualifier {
                Some(q) => format!("{q}.{}", u.name),
                None => u.name.clone(),
            };
            format!(
                "{} {} selects column `{name}`, which {} {}",
                node.resource_type.as_str(),
                node.name,
                match searched.as_slice() {
                    [one] => one.clone(),
                    many => format!("none of {}", many.join(", ")),
                },
                if searched.len() == 1 {
                    "does not have"
                } else {
                    "has"
                }
            )
        }
        UnknownKind::Qualifier => format!(
            "{} {} names `{}`, which is no table in its FROM clause",
            node.resource_type.as_str(),
            node.name,
            u.name
        ),
    };
    let help = match u.suggestions.as_slice() {
        [] => "check the name against the upstream's columns (kiln lineage shows them)".to_string(),
        [one] => format!("did you mean `{one}`?"),
        many => format!(
            "did you mean {}?",
            many.iter()
                .take(3)
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    };
    Some(
        Diagnostic::error("unknown-column", message)
            .at(location)
            .with_help(help),
    )
}

/// A node as the analyst names it: `orders`, or `billing.invoices` for a source.
fn display_name(loaded: &Loaded, id: &str) -> String {
    if let Some(n) = loaded.project.nodes.get(id) {
        return n.name.clone();
    }
    match loaded.project.sources.get(id) {
        Some(s) => format!("{}.{}", s.source_name, s.name),
        None => id.to_string(),
    }
}

/// The node's file as shown and its text.
fn source_text(loaded: &Loaded, node: &Node) -> (PathBuf, String) {
    let text = std::fs::read_to_string(loaded.project.dir.join(&node.file))
        .unwrap_or_else(|_| node.raw_code.clone());
    (node.file.clone(), text)
}

fn node_location(loaded: &Loaded, node: &Node) -> Location {
    let (path, text) = source_text(loaded, node);
    Location::from_line_col(path, &text, 1, 1)
}

/// Where byte `offset` of the compiled SQL was written: in the node's file (or in an ephemeral
/// model's, for SQL injected from it). The column is the compiled one where the line is the
/// same, else where `name` is on the source line (the identifier located in the template).
fn source_position(
    loaded: &Loaded,
    node: &Node,
    code: &Compiled,
    offset: usize,
    name: Option<&str>,
) -> Option<Location> {
    let compiled = code.code.as_str();
    let at = Location::from_offset(PathBuf::new(), compiled, offset);
    let (path, raw) = source_text(loaded, node);
    let (path, raw, origin) = match source_line(&raw, compiled, &code.ctes, at.line) {
        SourceLine::Ephemeral { model, line } => {
            let eph = loaded
                .project
                .nodes
                .values()
                .find(|n| n.name == model && n.is_ephemeral())?;
            let (p, text) = source_text(loaded, eph);
            let body = &code
                .ctes
                .iter()
                .find(|(n, _)| n.trim_start_matches("__dbt__cte__") == model)?
                .1;
            let origin = source_line(&text, body, &[], line);
            (p, text, origin)
        }
        other => (path, raw, other),
    };
    let line = match origin {
        SourceLine::Exact(l) => return Some(Location::from_line_col(path, &raw, l, at.column)),
        SourceLine::Rendered(l) => l,
        SourceLine::Generated | SourceLine::Ephemeral { .. } => {
            // SQL a macro generated: the first place the name is written, if it is.
            let name = name?;
            let off = find_word(&raw, name)?;
            return Some(Location::from_offset(path, &raw, off));
        }
    };
    let text = raw.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    if let Some(name) = name {
        if let Some(byte) = find_word(text, name) {
            let column = text[..byte].chars().count() + 1;
            return Some(Location::from_line_col(path, &raw, line, column));
        }
        // Not on the line Jinja rendered it from: the name came in through a variable (`{% set
        // measure = 'amout' %}`), written elsewhere in the file.
        if let Some(off) = find_word(&raw, name) {
            return Some(Location::from_offset(path, &raw, off));
        }
    }
    Some(Location::from_line_col(path, &raw, line, 1))
}

/// The byte offset of `word` in `text` as an identifier (case-insensitive, not inside a longer
/// name).
fn find_word(text: &str, word: &str) -> Option<usize> {
    if word.is_empty() {
        return None;
    }
    let lower = text.to_lowercase();
    let want = word.to_lowercase();
    if lower.len() != text.len() {
        return text.find(word);
    }
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = lower[from..].find(&want) {
        let at = from + i;
        let before = lower[..at].chars().next_back();
        let after = lower[at + want.len()..].chars().next();
        if !before.is_some_and(ident) && !after.is_some_and(ident) {
            return Some(at);
        }
        from = at + want.len();
    }
    None
}

/// Warnings for the columns the node's YAML declares that its SQL does not produce.
fn missing_declared(loaded: &Loaded, node: &Node, produced: &[&str]) -> Vec<Diagnostic> {
    let mut out = vec![];
    for (index, (_, c)) in node.columns.iter().enumerate() {
        if produced.iter().any(|p| p.eq_ignore_ascii_case(&c.name)) {
            continue;
        }
        let yaml = node
            .patch_path
            .as_deref()
            .map(|p| p.split_once("://").map_or(p, |(_, rest)| rest).to_string());
        let mut d = Diagnostic::warning(
            "undeclared-column",
            format!(
                "{} {} declares column `{}`{}, which its SQL ({}) does not produce",
                node.resource_type.as_str(),
                node.name,
                c.name,
                yaml.as_deref()
                    .map(|y| format!(" in {y}"))
                    .unwrap_or_default(),
                node.original_file_path
            ),
        )
        .with_help(format!(
            "the model's columns are: {}; remove the entry or fix its name",
            produced.join(", ")
        ));
        if let Some(entry) = &node.spans.entry {
            use crate::project::yaml::{Part, Step};
            let span = entry.join([Step::key("columns"), Step::Index(index), Step::key("name")]);
            let mut files = crate::project::origin::Files::new(&loaded.project.dir);
            if let Some(at) = files.locate(&span, Part::Value) {
                d = d.at(at);
            } else if let Some(y) = &yaml {
                d = d.in_file(y);
            }
        } else if let Some(y) = &yaml {
            d = d.in_file(y);
        }
        out.push(d);
    }
    out
}

/// The key of a model's lineage: its compiled SQL and what decides how it binds and reads (its
/// relation, YAML columns and contract; the names, columns and origins of the relations it
/// reads, through ephemeral models too). `None`: never cached (a snapshot reads the warehouse).
fn cache_key(
    loaded: &Loaded,
    node: &Node,
    code: &Compiled,
    known: &Known,
    env: &str,
) -> Option<String> {
    if node.resource_type != ResourceType::Model {
        return None;
    }
    let mut text = format!(
        "{env}\u{1e}{}\u{1e}{:?}\u{1e}{:?}\u{1e}{:?}\u{1e}{}\u{1e}{:?}\u{1e}{:?}",
        node.unique_id,
        node.relation_name,
        node.is_ephemeral(),
        node.columns,
        known.declared.contains(&node.unique_id),
        node.config.get("contract"),
        node.config.get("materialized"),
    );
    for id in upstreams(loaded, &node.unique_id) {
        text.push('\u{1e}');
        text.push_str(&id);
        text.push('\u{1f}');
        text.push_str(known.described.get(&id).map_or("-", String::as_str));
        text.push('\u{1f}');
        text.push_str(if known.declared.contains(&id) {
            "d"
        } else {
            "e"
        });
    }
    for (file, table) in &known.file_tables {
        if code.code.contains(file.as_str()) {
            text.push('\u{1e}');
            text.push_str(file);
            text.push_str(table);
        }
    }
    text.push('\u{1e}');
    text.push_str(&code.code);
    // What its masking macros rendered decides which of its columns are masked.
    for m in &code.masked {
        text.push('\u{1f}');
        text.push_str(m);
    }
    Some(cache::digest(text.as_bytes()))
}

/// The nodes whose relations a model's compiled SQL may read: its dependencies, and an
/// ephemeral dependency's own, whose SQL it inlines.
fn upstreams(loaded: &Loaded, id: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo: Vec<String> = loaded.graph.depends_on(id).to_vec();
    while let Some(d) = todo.pop() {
        if !out.insert(d.clone()) {
            continue;
        }
        if loaded
            .project
            .nodes
            .get(&d)
            .is_some_and(|n| n.is_ephemeral())
        {
            todo.extend(loaded.graph.depends_on(&d).iter().cloned());
        }
    }
    out
}

/// Whether a model's lineage may be cached: complete, without a diagnostic, its relation's
/// columns known (from the binder, or its reading of SQL the binder rejected because an upstream's
/// types are YAML's guesses), and reading only what its key covers ([`upstreams`]).
fn cacheable(loaded: &Loaded, node: &Node, out: &ModelOut) -> bool {
    if !(out.errors.is_empty()
        && out.contract_errors.is_empty()
        && out.warnings.is_empty()
        && out.node.complete)
    {
        return false;
    }
    // Columns the binder gave, or (the binder rejecting SQL over columns YAML declares) the
    // lineage engine's reading: both follow from the key, which names the upstreams' origins.
    match &out.relation_columns {
        Some(_) => {}
        None if node.is_ephemeral() => {}
        None => return false,
    }
    let ups = upstreams(loaded, &node.unique_id);
    out.node.dataset.iter().all(|i| ups.contains(&i.node))
        && out
            .node
            .columns
            .iter()
            .flat_map(|c| &c.inputs)
            .all(|i| ups.contains(&i.node))
}

/// The lineage cache: per model, the key its lineage was computed under and its relation's
/// columns, in [`cache::KEYS_FILE`]; the lineage itself is the previous `lineage.json`'s (whose
/// size and time the keys file records, so a lineage.json written by anything else is never
/// read as the cache's).
mod cache {
    use super::{ModelOut, Origin};
    use crate::adapter::Column as DbColumn;
    use crate::schemas::lineage::{LINEAGE_FILE, LineageArtifact};
    use serde::{Deserialize, Serialize};
    use sha2::{Digest, Sha256};
    use std::collections::BTreeMap;
    use std::path::Path;

    pub const KEYS_FILE: &str = "kiln_lineage_cache.json";
    const FORMAT: u32 = 3;

    pub fn digest(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The key of a file source's columns: its relation as compiled SQL reads it, and the size
    /// and time of every file each quoted path in it names (for a glob, every file under the
    /// folder before its first wildcard). `None`: not cached (a remote path, or a file modified
    /// in the last seconds, which could change again within its timestamp).
    pub fn file_source_key(env: &str, project_dir: &Path, relation: &str) -> Option<String> {
        let now = std::time::SystemTime::now();
        let cwd = std::env::current_dir().ok();
        let mut text = format!(
            "{env}\u{1e}{relation}\u{1e}{cwd:?}\u{1e}{}",
            project_dir.display()
        );
        for literal in relation.split('\'').skip(1).step_by(2) {
            if literal.contains("://") {
                return None;
            }
            let cut = literal.find(['*', '?', '[', '{']).unwrap_or(literal.len());
            let base = match literal[..cut].rfind('/') {
                Some(i) if cut < literal.len() => &literal[..i],
                None if cut < literal.len() => ".",
                _ => literal,
            };
            let path = project_dir.join(base);
            let mut files = vec![];
            if cut < literal.len() && path.is_dir() {
                collect(&path, &mut files);
            } else if path.is_file() {
                files.push(path);
            }
            files.sort();
            text.push('\u{1e}');
            text.push_str(literal);
            for f in files {
                let m = std::fs::metadata(&f).ok()?;
                let modified = m.modified().ok()?;
                if now
                    .duration_since(modified)
                    .map_or(true, |d| d.as_secs() < 2)
                {
                    return None;
                }
                let t = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
                text.push_str(&format!(
                    "\u{1f}{}\u{1f}{}\u{1f}{}",
                    f.display(),
                    m.len(),
                    t.as_nanos()
                ));
            }
        }
        Some(digest(text.as_bytes()))
    }

    fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else {
                out.push(p);
            }
        }
    }

    /// What every key shares: kiln's binary (its DuckDB) and the target (settings, extensions).
    pub fn env(loaded: &super::Loaded) -> String {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| (m.len(), m.modified().ok()));
        // What masks a value (`vars: kiln: pii:`) is part of every model's lineage.
        let masking = super::masking_options(loaded);
        digest(
            format!(
                "{FORMAT}\u{1e}{}\u{1e}{exe:?}\u{1e}{:?}\u{1e}{:?}\u{1e}{}",
                env!("CARGO_PKG_VERSION"),
                loaded.project.target,
                masking.masking_functions,
                masking.declared_masking_only,
            )
            .as_bytes(),
        )
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    pub struct Entry {
        key: String,
        /// The relation's columns (name, type); `None` for an ephemeral model.
        columns: Option<Vec<(String, String)>>,
        /// Whether the columns are the binder's (complete) or the lineage engine's reading of
        /// SQL over YAML's columns (maybe not complete): downstream models' checks differ.
        #[serde(default)]
        declared: bool,
        /// The columns are the lineage engine's complete reading of SQL the binder was not
        /// asked about (its upstreams' types are YAML's guesses).
        #[serde(default)]
        unbound: bool,
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    pub struct Cache {
        format: u32,
        pub env: String,
        /// File sources: unique_id → key (the relation and its files' sizes and times) and
        /// columns.
        #[serde(default)]
        files: BTreeMap<String, (String, Vec<(String, String)>)>,
        /// lineage.json's size and modification time (ns) when the keys were written.
        lineage_stamp: Option<(u64, u128)>,
        nodes: BTreeMap<String, Entry>,
        /// The previous lineage.json's nodes (not stored: read back from it).
        #[serde(skip)]
        lineage: BTreeMap<String, crate::schemas::lineage::NodeLineage>,
    }

    fn stamp(path: &Path) -> Option<(u64, u128)> {
        let m = std::fs::metadata(path).ok()?;
        let t = m
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some((m.len(), t.as_nanos()))
    }

    impl Cache {
        /// The cache in `target`, or an empty one when there is none, it cannot be read, it was
        /// made for another binary or target, or lineage.json is not the one it was written with.
        pub fn load(target: &Path, env: &str) -> Cache {
            let read = || -> Option<Cache> {
                let bytes = std::fs::read(target.join(KEYS_FILE)).ok()?;
                let mut c: Cache = serde_json::from_slice(&bytes).ok()?;
                let lineage_path = target.join(LINEAGE_FILE);
                if c.format != FORMAT || c.env != env || c.lineage_stamp != stamp(&lineage_path) {
                    return None;
                }
                let bytes = std::fs::read(&lineage_path).ok()?;
                let artifact: LineageArtifact = serde_json::from_slice(&bytes).ok()?;
                c.lineage = artifact.nodes;
                Some(c)
            };
            read().unwrap_or_default()
        }

        /// The model `id`'s lineage when its key is `key`.
        pub fn lookup(&self, id: &str, key: &str) -> Option<ModelOut> {
            let e = self.nodes.get(id).filter(|e| e.key == key)?;
            let node = self.lineage.get(id)?.clone();
            Some(ModelOut {
                id: id.to_string(),
                node,
                relation_columns: e.columns.as_ref().map(|cols| {
                    let cols = cols
                        .iter()
                        .map(|(name, data_type)| DbColumn {
                            name: name.clone(),
                            data_type: data_type.clone(),
                            comment: None,
                        })
                        .collect();
                    let origin = if e.unbound {
                        Origin::Unbound
                    } else if e.declared {
                        Origin::Declared
                    } else {
                        Origin::Engine
                    };
                    (cols, origin)
                }),
                errors: vec![],
                contract_errors: vec![],
                warnings: vec![],
            })
        }

        /// A file source's columns when its key is `key`.
        pub fn file_source(&self, id: &str, key: &str) -> Option<Vec<DbColumn>> {
            let (k, cols) = self.files.get(id)?;
            (k == key).then(|| {
                cols.iter()
                    .map(|(name, data_type)| DbColumn {
                        name: name.clone(),
                        data_type: data_type.clone(),
                        comment: None,
                    })
                    .collect()
            })
        }

        pub fn keep_file_source(&mut self, id: &str, key: String, cols: &[DbColumn]) {
            let cols = cols
                .iter()
                .map(|c| (c.name.clone(), c.data_type.clone()))
                .collect();
            self.files.insert(id.to_string(), (key, cols));
        }

        /// Keeps `out` under `key`.
        pub fn keep(&mut self, out: &ModelOut, key: String) {
            let columns = out.relation_columns.as_ref().map(|(cols, _)| {
                cols.iter()
                    .map(|c| (c.name.clone(), c.data_type.clone()))
                    .collect()
            });
            let declared = matches!(out.relation_columns, Some((_, Origin::Declared)));
            let unbound = matches!(out.relation_columns, Some((_, Origin::Unbound)));
            self.nodes.insert(
                out.id.clone(),
                Entry {
                    key,
                    columns,
                    declared,
                    unbound,
                },
            );
        }

        /// Writes the keys beside the lineage.json just written (a failure leaves no cache).
        pub fn save(mut self, target: &Path) {
            self.format = FORMAT;
            self.lineage_stamp = stamp(&target.join(LINEAGE_FILE));
            let path = target.join(KEYS_FILE);
            let written = serde_json::to_vec(&self)
                .ok()
                .is_some_and(|bytes| std::fs::write(&path, bytes).is_ok());
            if !written {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}
