//! `kiln erase`: GDPR/CCPA erasure of data subjects from every relation the project builds.
//!
//! 1. The config (`vars: {kiln: {erase: ...}}`, [`config`]) names the subject key's column(s)
//!    and where the subjects come from (a relation, or `--subjects file.csv`).
//! 2. [`find`] follows the key through the column lineage (target/lineage.json's DIRECT edges)
//!    to every seed, snapshot, incremental model, table, view and source that holds it.
//! 3. [`exec`] loads the subjects into a temporary table (no statement ever holds a subject's
//!    value, so neither does a log line), counts each relation's rows holding them, and with
//!    `--apply` deletes them with the audit rows in one transaction per table: a rerun deletes
//!    nothing twice and finishes what a crash left.
//! 4. Views are counted (they show what their upstreams hold); sources are kiln's to read, not
//!    to change: "outside kiln: erase upstream". A seed's table is emptied of the subjects, and
//!    the CSV lines that hold them are reported: the file is the seed's truth, and the next
//!    `kiln seed` would load them again (kiln does not rewrite files under version control; the
//!    rows also stay in the repository's history).
//! 5. Tables downstream built from the holders' rows (counts, aggregates) are rebuilt by the
//!    command after the deletes (or listed with `--no-rebuild`); incremental models and
//!    snapshots downstream that do not hold the key can only forget the subjects' contribution
//!    with a full refresh, and are listed.
//!
//! Engines: one with transactions and temporary tables (DuckDB) deletes as above; one whose
//! tables are files published through a catalog (Athena) gets the subjects through a file kiln
//! writes and removes, Iceberg `delete`s and Hive tables rebuilt aside and published
//! ([`files`]). Any other is refused (exit 2).

pub mod config;
pub mod exec;
pub mod files;
pub mod find;
mod hmac;

use crate::adapter::Connection;
use crate::error::{Diagnostic, Error};
use crate::schemas::lineage::NodeLineage;
use crate::session::Loaded;
use config::EraseConfig;
use exec::{Audit, Status, SubjectSource, TableResult};
use find::HolderKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file under the target path.
pub const RESULTS_FILE: &str = "erase_results.json";

/// What the command asked for.
#[derive(Debug, Clone, Default)]
pub struct EraseOptions {
    pub apply: bool,
    pub subjects_file: Option<PathBuf>,
    pub subject_column: Option<String>,
    /// `--key`: the subject key's column instead of the config's.
    pub key: Option<String>,
    pub no_rebuild: bool,
}

/// A seed's CSV rows holding subjects.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedLines {
    pub unique_id: String,
    pub file: String,
    pub lines: Vec<usize>,
}

/// Everything one erasure did or would do (target/erase_results.json). Holds no subject value.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EraseReport {
    pub metadata: serde_json::Value,
    pub apply: bool,
    /// `ref('x')`, `source('a', 'b')` or the --subjects file.
    pub subjects_from: String,
    pub subjects: usize,
    pub tables: Vec<TableResult>,
    pub seed_files: Vec<SeedLines>,
    /// Columns that hold the key's keyed hash: erase them with the key in its hashed form.
    pub hashed_columns: Vec<String>,
    /// When the key is a keyed hash: the columns it hashes, holding the raw values.
    pub hashed_from: Vec<String>,
    /// Nodes downstream whose lineage cannot say whether they hold the key.
    pub unknown: Vec<serde_json::Value>,
    /// Tables downstream built from the holders' rows, to rebuild (unique_ids).
    pub rebuild: Vec<String>,
    /// Incremental models and snapshots downstream that need a full refresh to forget them.
    pub full_refresh: Vec<String>,
    /// The audit table, with --apply.
    pub audit_table: Option<String>,
}

impl EraseReport {
    pub fn failed(&self) -> bool {
        self.tables.iter().any(|t| t.status == Status::Failed)
    }
}

fn flag_error(message: impl Into<String>, help: impl Into<String>) -> Error {
    Diagnostic::error("erase", message).with_help(help).into()
}

/// Erasure needs transactions and temporary tables, or tables that are files published
/// through a catalog ([`files`]): any other engine is refused before anything is read.
pub fn check_engine(adapter: &dyn crate::adapter::Adapter) -> Result<(), Error> {
    if !(adapter.supports_transactions() && adapter.supports_temporary_tables()
        || files_engine(adapter))
    {
        Err(flag_error(
            format!("kiln erase is not supported on {}", adapter.adapter_type()),
            "erasure deletes in one transaction per table with the subjects in a temporary table, or rebuilds tables that are files published through a catalog; this engine has neither. Erase with the engine's own tools",
        ))
    } else {
        Ok(())
    }
}

/// An engine erased through [`files`].
fn files_engine(adapter: &dyn crate::adapter::Adapter) -> bool {
    adapter.supports_catalog_publish() && !adapter.supports_temporary_tables()
}

/// Finds the holders and counts (with `apply`, deletes) the subjects in each.
pub fn erase(
    loaded: &Loaded,
    lineage: &BTreeMap<String, NodeLineage>,
    opts: &EraseOptions,
) -> Result<EraseReport, Error> {
    let project = &loaded.project;
    let adapter = loaded.adapter.as_ref();
    let mut config = EraseConfig::from_vars(
        &project.vars,
        &project.dir.join("dbt_project.yml"),
        opts.key.is_some(),
    )?;
    if let Some(key) = &opts.key {
        let column = config::parse_column(key).map_err(|e| {
            flag_error(
                format!("--key: {e}"),
                "name the column as model.column or source_name.table.column",
            )
        })?;
        config.keys = vec![column];
    }
    check_engine(adapter)?;
    let found = find::find(project, &loaded.graph, lineage, &config.keys)?;

    // Where the subjects come from.
    let (from, column, filter, subjects_from) = match (&opts.subjects_file, &config.subjects) {
        (Some(file), _) => {
            let column = opts
                .subject_column
                .clone()
                .or_else(|| config.keys.first().map(|k| k.column.clone()))
                .unwrap_or_default();
            (None, column, None, file.display().to_string())
        }
        (None, Some(s)) => {
            let id = find::resolve(project, &s.relation)?;
            let holder = find::holder_of(project, &id, vec![]).ok_or_else(|| {
                flag_error(
                    format!("the subjects' relation {} has no table to read", s.relation),
                    "name a source, seed, snapshot or a model that is not ephemeral",
                )
            })?;
            (
                Some(holder.relation),
                s.column.clone(),
                s.filter.clone(),
                s.relation.to_string(),
            )
        }
        (None, None) => {
            return Err(flag_error(
                "no subjects to erase: vars.kiln.erase.subjects is not set and --subjects was not given",
                "set vars.kiln.erase.subjects (relation, column, where) in dbt_project.yml, or pass --subjects file.csv",
            ));
        }
    };

    // The audit's keyed hash needs the key before anything is deleted.
    let key = if opts.apply {
        match std::env::var(&config.hash_key_env) {
            Ok(k) if !k.is_empty() => Some(k),
            _ => {
                return Err(flag_error(
                    format!(
                        "kiln erase --apply needs the key of the audit's keyed hash in the environment variable {}, which is not set",
                        config.hash_key_env
                    ),
                    "set it (the demo's PII key), or name another variable in vars.kiln.erase.hash_key_env",
                ));
            }
        }
    } else {
        None
    };

    let mut conn = adapter
        .connect()
        .map_err(|e| flag_error(format!("cannot connect: {}", e.message), "see kiln debug"))?;
    let conn = conn.as_mut();
    let target = &project.target;
    let hash = move |subject: &str| -> String {
        hmac::hmac_sha256_hex(key.as_deref().unwrap_or("").as_bytes(), subject.as_bytes())
    };
    let files = files_engine(adapter);
    let read_error = |message: String| {
        flag_error(
            format!("cannot read the subjects from {subjects_from}: {message}"),
            "check vars.kiln.erase.subjects (relation, column, where) or the --subjects file",
        )
    };

    let (subjects, staged) = if files {
        let values = match (&from, &opts.subjects_file) {
            (Some(rel), _) => files::read_subjects(
                conn,
                adapter,
                &SubjectSource {
                    from: rel,
                    column: &column,
                    filter: filter.as_deref(),
                },
            )
            .map_err(|e| read_error(e.message))?,
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
                files::file_subjects(&text, &column).map_err(|e| {
                    Error::from(
                        Diagnostic::error("erase", e)
                            .in_file(file)
                            .with_help("the --subjects file is a CSV file with a header row naming the key's column (--subject-column)"),
                    )
                })?
            }
            (None, None) => {
                unreachable_subjects()?;
                std::collections::BTreeSet::new()
            }
        };
        let (subjects, staged) = files::stage_subjects(
            conn,
            adapter,
            (&target.database, &target.schema),
            &loaded.info.invocation_id,
            values,
            &project.target_dir(),
        )
        .map_err(|e| {
            flag_error(
                format!("cannot stage the subjects for the warehouse: {}", e.message),
                "check the target's s3_data_dir and its permissions (see kiln debug)",
            )
        })?;
        (subjects, Some(staged))
    } else {
        let file_query;
        let from = match (from, &opts.subjects_file) {
            (Some(rel), _) => rel,
            (None, Some(file)) => {
                file_query = subjects_file_query(conn, loaded, file, &column)?;
                file_query
            }
            (None, None) => unreachable_subjects()?,
        };
        let subjects = exec::load_subjects(
            conn,
            adapter,
            &SubjectSource {
                from: &from,
                column: &column,
                filter: filter.as_deref(),
            },
        )
        .map_err(|e| read_error(e.message))?;
        (subjects, None)
    };

    let audit_schema = config
        .audit_schema
        .clone()
        .unwrap_or_else(|| target.schema.clone());
    let audit_relation = crate::materialize::RelationTarget {
        database: target.database.clone(),
        schema: audit_schema.clone(),
        identifier: config.audit_table.clone(),
    }
    .sql(adapter);
    let audit = Audit {
        relation: audit_relation.clone(),
        schema: (target.database.clone(), audit_schema),
        erase_id: &loaded.info.invocation_id,
        hash: &hash,
    };
    if opts.apply
        && let Err(e) = exec::ensure_audit_table(conn, adapter, &audit, &config.audit_table)
    {
        if let Some(staged) = &staged {
            let _ = files::unstage(conn, staged);
        }
        return Err(flag_error(
            format!(
                "cannot create the audit table {audit_relation}: {}",
                e.message
            ),
            "check vars.kiln.erase.audit_table / audit_schema and the target's permissions",
        ));
    }

    let mut tables = vec![];
    let mut seed_files = vec![];
    // Tables first, children before parents (a foreign key's child rows go before the rows they
    // reference), then views (counted after the deletes they show); reported in DAG order.
    let ordered = found
        .holders
        .iter()
        .rev()
        .filter(|h| h.kind != HolderKind::View)
        .chain(found.holders.iter().filter(|h| h.kind == HolderKind::View));
    for holder in ordered {
        let audit = (opts.apply && holder.kind.deletes()).then_some(&audit);
        let result = if subjects.is_empty() {
            TableResult {
                status: if opts.apply && holder.kind.deletes() {
                    Status::Deleted
                } else {
                    match holder.kind {
                        HolderKind::View => Status::Shows,
                        HolderKind::Source => Status::OutsideKiln,
                        _ => Status::WouldDelete,
                    }
                },
                ..TableResult::of(holder)
            }
        } else {
            match audit {
                Some(audit) if files => files::erase_one(
                    conn,
                    adapter,
                    holder,
                    project.nodes.get(&holder.unique_id).map(AsRef::as_ref),
                    &subjects,
                    audit,
                ),
                _ => exec::erase_one(conn, adapter, holder, &subjects, audit),
            }
        };
        tables.push(result);
        if let Some((file, delimiter)) = &holder.csv {
            let lines = std::fs::read_to_string(file)
                .map_err(|e| e.to_string())
                .and_then(|text| exec::seed_lines(&text, *delimiter, &holder.columns, &subjects))
                .map_err(|e| {
                    Error::from(
                        Diagnostic::error("erase", format!("cannot read the seed's CSV: {e}"))
                            .in_file(file),
                    )
                });
            let lines = match lines {
                Ok(lines) => lines,
                Err(e) => {
                    // (the subjects' file goes first: it holds their values)
                    if let Some(staged) = &staged {
                        let _ = files::unstage(conn, staged);
                    }
                    return Err(e);
                }
            };
            if !lines.is_empty() {
                seed_files.push(SeedLines {
                    unique_id: holder.unique_id.clone(),
                    file: shown(&project.dir, file),
                    lines,
                });
            }
        }
    }
    if let Some(staged) = &staged {
        files::unstage(conn, staged).map_err(|e| {
            flag_error(
                format!(
                    "cannot remove the subjects' file {}: {}",
                    files::SUBJECTS_TABLE,
                    e.message
                ),
                "the next kiln erase removes it before anything else; run it again",
            )
        })?;
    }
    if opts.apply {
        forget_build_state(conn, loaded)?;
    }
    let position: BTreeMap<&str, usize> = found
        .holders
        .iter()
        .enumerate()
        .map(|(i, h)| (h.unique_id.as_str(), i))
        .collect();
    tables.sort_by_key(|t: &TableResult| position.get(t.unique_id.as_str()).copied());
    seed_files.sort_by(|a: &SeedLines, b: &SeedLines| a.file.cmp(&b.file));
    Ok(EraseReport {
        metadata: serde_json::json!({
            "kiln_version": env!("CARGO_PKG_VERSION"),
            "generated_at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "invocation_id": loaded.info.invocation_id,
        }),
        apply: opts.apply,
        subjects_from,
        subjects: subjects.len(),
        tables,
        seed_files,
        hashed_columns: found
            .hashed
            .iter()
            .map(|(n, c)| format!("{n}.{c}"))
            .collect(),
        hashed_from: found
            .hashed_from
            .iter()
            .map(|(n, c)| format!("{n}.{c}"))
            .collect(),
        unknown: found
            .unknown
            .iter()
            .map(|(id, why)| serde_json::json!({"unique_id": id, "reason": why}))
            .collect(),
        rebuild: found.rebuild,
        full_refresh: found.full_refresh,
        audit_table: opts.apply.then_some(audit_relation),
    })
}

fn unreachable_subjects() -> Result<String, Error> {
    Err(flag_error(
        "no subjects to erase",
        "pass --subjects file.csv or set vars.kiln.erase.subjects",
    ))
}

/// The query reading a `--subjects` CSV file (the engine's CSV reader: values never in SQL).
fn subjects_file_query(
    conn: &mut dyn Connection,
    loaded: &Loaded,
    file: &Path,
    column: &str,
) -> Result<String, Error> {
    let bad = |message: String| -> Error {
        Diagnostic::error("erase", message)
            .in_file(file)
            .with_help("the --subjects file is a CSV file with a header row naming the key's column (--subject-column)")
            .into()
    };
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let records = crate::adapter::csv::records(&text, ',').map_err(|e| bad(e.to_string()))?;
    let Some(header) = records.first() else {
        return Err(bad("the file is empty".into()));
    };
    let names: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    if !names.iter().any(|n| n.eq_ignore_ascii_case(column)) {
        return Err(bad(format!(
            "the file has no column `{column}` (its columns: {})",
            names.join(", ")
        )));
    }
    let declared: Vec<Option<String>> = names.iter().map(|_| Some("varchar".into())).collect();
    let table = loaded
        .adapter
        .load_csv(
            conn,
            &crate::adapter::csv::CsvFile {
                path: file,
                delimiter: ',',
                names: &names,
                declared: &declared,
            },
        )
        .map_err(bad)?;
    let columns: Vec<String> = names.iter().map(|n| loaded.adapter.quote(n)).collect();
    Ok(format!(
        "({}) as kiln_erase_file ({})",
        table.select_sql,
        columns.join(", ")
    ))
}

/// `file` relative to the project, as the user sees it.
fn shown(dir: &Path, file: &Path) -> String {
    file.strip_prefix(dir).unwrap_or(file).display().to_string()
}

/// Writes target/erase_results.json.
pub fn write_results(loaded: &Loaded, report: &EraseReport) -> Result<(), Error> {
    let path = loaded.project.target_dir().join(RESULTS_FILE);
    let json = serde_json::to_vec_pretty(report).unwrap_or_default();
    crate::artifacts::write_atomic(&path, &json)
}

/// After `--apply`, kiln's build state (`runner::reuse`) no longer describes the tables: rows
/// were deleted without a build, so a table downstream of them fingerprinted as unchanged would
/// be reused while it still holds the subjects. Forgetting the state makes the next `build`
/// (and this command's rebuild) build every node again, as without reuse.
fn forget_build_state(conn: &mut dyn Connection, loaded: &Loaded) -> Result<(), Error> {
    use crate::runner::reuse::{STATE_SCHEMA, STATE_TABLE};
    let adapter = loaded.adapter.as_ref();
    if !adapter.supports_build_state() {
        return Ok(());
    }
    let database = &loaded.project.target.database;
    let exists = conn
        .get_relation(database, STATE_SCHEMA, STATE_TABLE)
        .map_err(|e| db_error("cannot read kiln's build state", &e))?;
    if exists.is_none() {
        return Ok(());
    }
    let table = crate::materialize::RelationTarget {
        database: database.clone(),
        schema: STATE_SCHEMA.into(),
        identifier: STATE_TABLE.into(),
    }
    .sql(adapter);
    conn.execute(&format!("delete from {table}"))
        .map_err(|e| db_error("cannot reset kiln's build state", &e))?;
    Ok(())
}

fn db_error(what: &str, e: &crate::adapter::DbError) -> Error {
    Error::from(Diagnostic::error(
        "erase",
        format!(
            "{what}: {}; run the next build with --no-reuse so every table downstream is rebuilt",
            e.message
        ),
    ))
}
