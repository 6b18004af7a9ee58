//! Erasure on an engine whose tables are files published through a catalog (Athena: S3 and
//! Glue; [`Adapter::supports_catalog_publish`]), which has neither transactions nor temporary
//! tables.
//!
//! - The subjects reach the statements through a file, never through their text: kiln writes
//!   them as a CSV object in a folder of its own
//!   (`<data dir>/<schema>/kiln_erase_subjects/<erase id>/`), reads it through an external
//!   table (`kiln_erase_subjects`), and drops both when the erasure ends; a crashed erasure's
//!   are dropped by the next one before it writes its own. Beside each value the file holds a
//!   label, its HMAC under a key made for this run and never kept: per-subject counts name a
//!   subject by it, so no query result (Athena keeps every one in S3) holds a value, or a hash
//!   anyone could link to one later.
//! - Iceberg tables (snapshots, `table_type: iceberg`): the audit rows, then one `delete`
//!   (Iceberg's commit: all or nothing).
//! - Hive tables (tables, seeds, Hive incrementals): there is no `delete`. An unpartitioned
//!   table is rebuilt without the subjects' rows through the same crash-safe path as a build
//!   ([`crate::materialize::publish::table`]): the interrupted build or erasure recovered
//!   first, the rows kept written aside under a new location, published by one catalog update,
//!   the previous version's files deleted last, only inside the table's own folder. A crash
//!   leaves the previous version or the new one readable, never no table; the rerun recovers
//!   and counts again, so nothing is deleted twice. A partitioned one has only the partitions
//!   that hold subjects rewritten, each re-pointed in one catalog update
//!   ([`StorageCall::ErasePartitions`], `adapter/athena_erase.rs`).
//! - The audit rows are written before the delete (there is no transaction to hold both): a
//!   crash in between leaves an audit row for a delete the rerun then does (under the rerun's
//!   erase id as well), never a delete without its audit row.

use super::exec::{
    Audit, Status, SubjectSource, Subjects, TableResult, audit_rows, built, counted, failed,
    first_column, predicate, subjects_select,
};
use super::find::{Holder, HolderKind};
use crate::adapter::{
    Adapter, CatalogName, Connection, DbError, RelationKind, StorageCall, TableStorage,
};
use crate::materialize::{RelationTarget, Step, publish};
use crate::project::{Node, ResourceType};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The external table of the subjects' file (in the target's schema).
pub const SUBJECTS_TABLE: &str = "kiln_erase_subjects";

/// The subjects' external table and the folder kiln owns for it.
pub struct StagedSubjects {
    name: CatalogName,
    owned: String,
}

/// Reads the subjects' distinct key values from `source` (the one query whose result holds
/// them).
pub fn read_subjects(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    source: &SubjectSource<'_>,
) -> Result<BTreeSet<String>, DbError> {
    let rows = conn.query(&subjects_select(adapter, source))?;
    Ok(first_column(&rows))
}

/// The values of `column` in a `--subjects` CSV file, trimmed, without empty ones.
pub fn file_subjects(text: &str, column: &str) -> Result<BTreeSet<String>, String> {
    let records = crate::adapter::csv::records(text, ',')?;
    let Some((header, rows)) = records.split_first() else {
        return Err("the file is empty".into());
    };
    let Some(at) = header
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(column))
    else {
        return Err(format!(
            "the file has no column `{column}` (its columns: {})",
            header
                .iter()
                .map(|h| h.trim())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    Ok(rows
        .iter()
        .filter_map(|r| r.get(at).map(|v| v.trim().to_string()))
        .filter(|v| !v.is_empty())
        .collect())
}

/// A CSV field as OpenCSVSerde reads it back: quoted, `\` and `"` escaped.
fn field(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn storage_error(message: String) -> DbError {
    DbError::query(message)
}

/// Where the subjects' file goes, and the names of its table.
fn subjects_place(
    adapter: &dyn Adapter,
    database: &str,
    schema: &str,
    erase_id: &str,
) -> Result<(CatalogName, String, String, String), DbError> {
    let loc = adapter
        .table_location(schema, SUBJECTS_TABLE, erase_id)
        .ok_or_else(|| {
            storage_error(format!(
                "the {} target has no S3 location for tables (s3_data_dir or s3_staging_dir)",
                adapter.adapter_type()
            ))
        })?;
    let target = RelationTarget {
        database: database.to_string(),
        schema: schema.to_string(),
        identifier: SUBJECTS_TABLE.to_string(),
    };
    Ok((
        CatalogName {
            schema: schema.to_string(),
            identifier: SUBJECTS_TABLE.to_string(),
        },
        target.sql(adapter),
        loc.location,
        loc.owned,
    ))
}

/// Drops what an earlier erasure left of its subjects (a crash between the upload and the
/// end): the external table with its files, and any file in its folder no table reads.
pub fn clear_subjects(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    database: &str,
    schema: &str,
) -> Result<(), DbError> {
    let (name, _, _, owned) = subjects_place(adapter, database, schema, "")?;
    unstage(
        conn,
        &StagedSubjects {
            name: name.clone(),
            owned,
        },
    )
}

/// Writes the subjects (each with its label, see the module's doc) to a CSV object under the
/// folder kiln owns for [`SUBJECTS_TABLE`] and creates the external table over it. `scratch`
/// is a local folder (the project's target path) for the file on its way, removed once
/// uploaded.
pub fn stage_subjects(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    (database, schema): (&str, &str),
    erase_id: &str,
    values: BTreeSet<String>,
    scratch: &Path,
) -> Result<(Subjects, StagedSubjects), DbError> {
    clear_subjects(conn, adapter, database, schema)?;
    let (name, relation, location, owned) = subjects_place(adapter, database, schema, erase_id)?;
    let run_key = uuid::Uuid::new_v4().to_string();
    let hashes: std::collections::BTreeMap<String, String> = values
        .iter()
        .map(|v| {
            (
                v.clone(),
                super::hmac::hmac_sha256_hex(run_key.as_bytes(), v.as_bytes()),
            )
        })
        .collect();
    let mut csv = String::from("subject,label\n");
    for (value, h) in &hashes {
        csv.push_str(&format!("{},{}\n", field(value), field(h)));
    }
    let staged = StagedSubjects {
        name,
        owned: owned.clone(),
    };
    let file: PathBuf = scratch.join(format!("{SUBJECTS_TABLE}-{erase_id}.csv"));
    std::fs::create_dir_all(scratch)
        .and_then(|()| std::fs::write(&file, csv))
        .map_err(|e| storage_error(format!("cannot write {}: {e}", file.display())))?;
    let uploaded = conn.storage(&StorageCall::Upload {
        file: file.display().to_string(),
        key: format!("{location}subjects.csv"),
        owned,
    });
    let _ = std::fs::remove_file(&file);
    uploaded?;
    let Some(create) = adapter.csv_table_sql(
        &relation,
        &["subject".to_string(), "label".to_string()],
        &location,
        ',',
    ) else {
        return Err(storage_error(format!(
            "the {} adapter reads no CSV files from storage",
            adapter.adapter_type()
        )));
    };
    if let Err(e) = conn.execute(&create) {
        let _ = unstage(conn, &staged);
        return Err(e);
    }
    Ok((
        Subjects {
            values,
            relation,
            hashes: Some(hashes),
        },
        staged,
    ))
}

/// Drops the subjects' external table and deletes their file (and anything else in the folder
/// kiln owns for it).
pub fn unstage(conn: &mut dyn Connection, staged: &StagedSubjects) -> Result<(), DbError> {
    conn.storage(&StorageCall::Drop {
        target: staged.name.clone(),
        owned: staged.owned.clone(),
    })?;
    conn.storage(&StorageCall::Recover {
        target: staged.name.clone(),
        owned: staged.owned.clone(),
        sweep: true,
    })
}

/// The audit table as an Iceberg table (appends are commits; no file per row batch to manage),
/// created empty by a `create table as` under the folder kiln owns for it.
pub fn create_audit_table(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    audit: &Audit<'_>,
    identifier: &str,
) -> Result<(), DbError> {
    let (database, schema) = &audit.schema;
    if !conn.schema_exists(database, schema)? {
        conn.create_schema(database, schema)?;
    }
    let loc = adapter
        .table_location(schema, identifier, audit.erase_id)
        .ok_or_else(|| {
            storage_error(format!(
                "the {} target has no S3 location for tables",
                adapter.adapter_type()
            ))
        })?;
    let select = format!(
        "select\n    {}\nwhere 1 = 0",
        super::exec::AUDIT_COLUMNS
            .iter()
            .map(|(c, t)| format!("{} as {}", adapter.cast_sql("null", t), adapter.quote(c)))
            .collect::<Vec<_>>()
            .join(",\n    ")
    );
    let storage = TableStorage {
        location: Some(loc.location),
        iceberg: true,
        ..TableStorage::default()
    };
    conn.execute(&adapter.create_table_as_stored_sql(&audit.relation, &select, &storage))
}

/// Whether `node`'s table takes a `delete` (Iceberg: snapshots, `table_type: iceberg`).
fn deletes_in_place(node: &Node) -> bool {
    node.resource_type == ResourceType::Snapshot || publish::storage_of(node).iceberg
}

fn run_step(conn: &mut dyn Connection, step: Step) -> Result<(), DbError> {
    match step {
        Step::Execute(sql) => conn.execute(&sql),
        Step::Storage(call) => conn.storage(&call),
        other => Err(DbError::query(format!(
            "kiln erase cannot run the step {other:?} here"
        ))),
    }
}

/// Deletes (with `--apply`) one table's subjects on such an engine, audited.
pub fn erase_one(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    holder: &Holder,
    node: Option<&Node>,
    subjects: &Subjects,
    audit: &Audit<'_>,
) -> TableResult {
    let mut result = TableResult::of(holder);
    let Some(node) = node.filter(|_| holder.kind != HolderKind::Source) else {
        result.status = Status::Failed;
        result.message = Some("kiln does not manage this relation".into());
        return result;
    };
    let pred = predicate(holder, adapter, subjects);
    let mut work = || -> Result<Option<(i64, usize)>, DbError> {
        if deletes_in_place(node) {
            if !built(conn, holder)? {
                return Ok(None);
            }
            let (n, each) = counted(conn, adapter, holder, subjects, &pred)?;
            audit_rows(conn, adapter, audit, holder, subjects, &each)?;
            if n > 0 {
                conn.execute(&format!("delete from {} where {pred}", holder.relation))?;
            }
            return Ok(Some((n, each.len())));
        }
        let storage = publish::storage_of(node);
        if !storage.partitioned_by.is_empty()
            && node
                .config
                .get("external_location")
                .is_none_or(serde_json::Value::is_null)
        {
            return erase_partitions(conn, adapter, holder, node, subjects, audit, &pred, storage);
        }
        // A Hive table: the rows that hold no subject, built aside and published.
        let keep = format!(
            "select *\nfrom {}\nwhere not coalesce({pred}, false)",
            holder.relation
        );
        let plan = publish::table(
            adapter,
            node,
            &keep,
            Some(RelationKind::Table),
            &publish::build_id(),
        )
        .map_err(|e| DbError::query(e.0))?;
        let mut steps = plan.steps.into_iter();
        // What an interrupted build or erasure left is finished or rolled back first (the
        // plan's first step), so the count reads the version readers see.
        if let Some(recover) = steps.next() {
            run_step(conn, recover)?;
        }
        if !built(conn, holder)? {
            return Ok(None);
        }
        let (n, each) = counted(conn, adapter, holder, subjects, &pred)?;
        audit_rows(conn, adapter, audit, holder, subjects, &each)?;
        if n > 0 {
            for step in steps {
                run_step(conn, step)?;
            }
        }
        Ok(Some((n, each.len())))
    };
    match work() {
        Ok(Some((n, s))) => {
            result.rows = n;
            result.subjects = s;
            result.status = Status::Deleted;
            result
        }
        Ok(None) => {
            result.status = Status::NotBuilt;
            result
        }
        Err(e) => failed(result, e, subjects),
    }
}

/// A partitioned Hive table: only the partitions holding subjects are rewritten
/// ([`StorageCall::ErasePartitions`]), after what an interrupted build or erasure left is
/// recovered; the erasure's own leftovers (files no partition reads) are deleted even when no
/// row is left to delete, so a rerun after a crash finishes the job.
#[allow(clippy::too_many_arguments)]
fn erase_partitions(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    holder: &Holder,
    node: &Node,
    subjects: &Subjects,
    audit: &Audit<'_>,
    pred: &str,
    storage: TableStorage,
) -> Result<Option<(i64, usize)>, DbError> {
    let target = RelationTarget::of(node);
    let loc = adapter
        .table_location(&target.schema, &target.identifier, "")
        .ok_or_else(|| {
            storage_error(format!(
                "the {} target has no S3 location for tables",
                adapter.adapter_type()
            ))
        })?;
    let name = CatalogName {
        schema: target.schema.clone(),
        identifier: target.identifier.clone(),
    };
    conn.storage(&StorageCall::Recover {
        target: name.clone(),
        owned: loc.owned.clone(),
        sweep: !loc.shared,
    })?;
    if !built(conn, holder)? {
        return Ok(None);
    }
    let (n, each) = counted(conn, adapter, holder, subjects, pred)?;
    audit_rows(conn, adapter, audit, holder, subjects, &each)?;
    let stage = target.suffixed(publish::STAGE_SUFFIX);
    conn.storage(&StorageCall::ErasePartitions {
        target: name,
        stage: CatalogName {
            schema: stage.schema.clone(),
            identifier: stage.identifier.clone(),
        },
        target_sql: holder.relation.clone(),
        stage_sql: stage.sql(adapter),
        owned: loc.owned,
        condition: pred.to_string(),
        storage: Box::new(storage),
    })?;
    Ok(Some((n, each.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subjects_file_gives_the_columns_trimmed_values() {
        let values = file_subjects("name,ID\nx, c-1 \ny,\nz,c-2\nw,c-1\n", "id").unwrap();
        assert_eq!(
            values.into_iter().collect::<Vec<_>>(),
            ["c-1".to_string(), "c-2".to_string()]
        );
        assert_eq!(
            file_subjects("name\nx\n", "id").unwrap_err(),
            "the file has no column `id` (its columns: name)"
        );
        assert_eq!(file_subjects("", "id").unwrap_err(), "the file is empty");
    }

    #[test]
    fn fields_are_quoted_as_opencsvserde_reads_them() {
        assert_eq!(field("a\"b\\c,d"), "\"a\\\"b\\\\c,d\"");
        assert_eq!(field("plain"), "\"plain\"");
    }
}
