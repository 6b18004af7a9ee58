//! The erasure on one connection: the subjects into a temporary table (so no statement, and so no
//! log line, ever holds a subject's value), then per relation the rows that hold them counted, and
//! with `apply` deleted with the audit rows in one transaction, so a rerun after a crash finds
//! the finished tables empty of subjects and deletes nothing twice.

use super::find::{Holder, HolderKind};
use crate::adapter::{Adapter, Cell, Connection, DbError, string_literal};
use std::collections::{BTreeMap, BTreeSet};

/// The temporary table of the subjects' key values (column `subject`, trimmed text).
const SUBJECTS: &str = "kiln_erase_subjects";

/// Where the subjects are read from: a relation (as SQL names it) or a query.
pub struct SubjectSource<'a> {
    /// A relation name or a parenthesised query with an alias.
    pub from: &'a str,
    pub column: &'a str,
    pub filter: Option<&'a str>,
}

/// The subjects, read once. Their values stay in memory: never printed, never in SQL text.
pub struct Subjects {
    pub(super) values: BTreeSet<String>,
    /// The relation statements read them from (column `subject`): a temporary table, or on an
    /// engine without them an external table over a file kiln wrote ([`super::files`]).
    pub(super) relation: String,
    /// Each subject's label, when the per-subject counts name a subject by it (column
    /// `label`, an HMAC under a key made for the run, [`super::files`]): on an engine that
    /// keeps every query's result in storage (Athena), so no result holds a subject's value.
    /// `None`: by the value (a temporary table's reads stay in the process).
    pub(super) hashes: Option<BTreeMap<String, String>>,
}

impl Subjects {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn contains(&self, value: &str) -> bool {
        self.values.contains(value.trim())
    }

    /// `text` (a database's error message, which may quote a key: a foreign key's violation)
    /// with every subject's value replaced by `[subject]`, longest first.
    pub fn redact(&self, text: &str) -> String {
        let mut values: Vec<&String> = self.values.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values
            .into_iter()
            .fold(text.to_string(), |t, v| t.replace(v.as_str(), "[subject]"))
    }
}

impl std::fmt::Debug for Subjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Subjects({} values)", self.values.len())
    }
}

impl Subjects {
    /// The column of the subjects' relation the per-subject counts name a subject by.
    fn label_column(&self) -> &'static str {
        if self.hashes.is_some() {
            "label"
        } else {
            "subject"
        }
    }

    /// How the per-subject counts name `subject`.
    fn label<'a>(&'a self, subject: &'a str) -> &'a str {
        match &self.hashes {
            Some(h) => h.get(subject).map_or(subject, String::as_str),
            None => subject,
        }
    }
}

/// The key's value as compared: its text, trimmed (a key that a model trims or casts keeps its
/// value in that form).
pub(super) fn normalized(adapter: &dyn Adapter, column: &str) -> String {
    format!(
        "trim({})",
        adapter.cast_sql(&adapter.quote(column), "varchar")
    )
}

fn subjects_relation(adapter: &dyn Adapter) -> String {
    adapter.quote(SUBJECTS)
}

/// Loads the subjects into the temporary table and reads them back.
pub fn load_subjects(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    source: &SubjectSource<'_>,
) -> Result<Subjects, DbError> {
    let select = subjects_select(adapter, source);
    conn.execute(&adapter.create_temporary_table_as_sql(&subjects_relation(adapter), &select))?;
    let rows = conn.query(&format!(
        "select subject from {}",
        subjects_relation(adapter)
    ))?;
    Ok(Subjects {
        values: first_column(&rows),
        relation: subjects_relation(adapter),
        hashes: None,
    })
}

/// The text values of a result's first column (NULLs left out).
pub(super) fn first_column(rows: &crate::adapter::Rows) -> BTreeSet<String> {
    rows.rows
        .iter()
        .filter_map(|r| match r.first() {
            Some(Cell::Text(s)) => Some(s.clone()),
            Some(Cell::Null) | None => None,
            Some(other) => Some(other.to_string()),
        })
        .collect()
}

/// The query of the subjects' distinct key values in `source` (trimmed text, no NULL or empty).
pub(super) fn subjects_select(adapter: &dyn Adapter, source: &SubjectSource<'_>) -> String {
    let key = normalized(adapter, source.column);
    let filter = source
        .filter
        .map(|f| format!(" and ({f})"))
        .unwrap_or_default();
    format!(
        "select distinct {key} as subject from {} where {key} is not null and {key} <> ''{filter}",
        source.from
    )
}

/// The condition a row of `holder` meets when it holds a subject (its columns unqualified).
pub(super) fn predicate(holder: &Holder, adapter: &dyn Adapter, subjects: &Subjects) -> String {
    let subjects = &subjects.relation;
    holder
        .columns
        .iter()
        .map(|c| {
            format!(
                "{} in (select subject from {subjects})",
                normalized(adapter, c)
            )
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// What happened to one relation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Dry run: the rows a delete would remove.
    WouldDelete,
    Deleted,
    /// A view: the rows it shows (after the deletes, with --apply).
    Shows,
    /// A source kiln does not manage: the rows there, to erase upstream.
    OutsideKiln,
    /// Not in the warehouse (never built): nothing to delete.
    NotBuilt,
    /// The delete (or the count) failed: rolled back, nothing deleted.
    Failed,
    /// A view or source that could not be read (a source another tool has not loaded yet, a
    /// broken view): not a failed delete, but not known to be clean either.
    Unreadable,
}

/// One relation's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableResult {
    pub unique_id: String,
    pub name: String,
    pub kind: HolderKind,
    pub relation: String,
    pub columns: Vec<String>,
    pub status: Status,
    /// Rows holding a subject (deleted, or that would be, or shown).
    pub rows: i64,
    /// How many of the subjects it held.
    pub subjects: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The audit: the table, this erasure's id, and the subjects' keyed hashes.
pub struct Audit<'a> {
    pub relation: String,
    pub schema: (String, String),
    pub erase_id: &'a str,
    pub hash: &'a dyn Fn(&str) -> String,
}

/// Creates the audit table when it does not exist.
pub fn ensure_audit_table(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    audit: &Audit<'_>,
    identifier: &str,
) -> Result<(), DbError> {
    let (database, schema) = &audit.schema;
    if conn.get_relation(database, schema, identifier)?.is_some() {
        return Ok(());
    }
    if adapter.supports_catalog_publish() {
        return super::files::create_audit_table(conn, adapter, audit, identifier);
    }
    let db = if database.is_empty() {
        String::new()
    } else {
        format!("{}.", adapter.quote(database))
    };
    conn.execute(&format!(
        "create schema if not exists {db}{}",
        adapter.quote(schema)
    ))?;
    let columns: Vec<String> = AUDIT_COLUMNS
        .iter()
        .map(|(name, ty)| format!("{name} {ty}"))
        .collect();
    conn.execute(&adapter.create_table_sql(&audit.relation, &columns))
}

/// The audit table's columns and their types.
pub(super) const AUDIT_COLUMNS: [(&str, &str); 6] = [
    ("erase_id", "varchar"),
    ("subject_hash", "varchar"),
    ("node_id", "varchar"),
    ("relation_name", "varchar"),
    ("rows_deleted", "bigint"),
    ("erased_at", "timestamp"),
];

pub(super) fn count(conn: &mut dyn Connection, sql: &str) -> Result<i64, DbError> {
    let rows = conn.query(sql)?;
    Ok(rows
        .rows
        .first()
        .and_then(|r| r.first())
        .and_then(Cell::as_i64)
        .unwrap_or(0))
}

/// Rows per subject in `holder`, keyed by the subject's label ([`Subjects::label`]; in memory
/// only).
fn per_subject(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    holder: &Holder,
    subjects: &Subjects,
) -> Result<BTreeMap<String, i64>, DbError> {
    let on = holder
        .columns
        .iter()
        .map(|c| {
            format!(
                "{} = s.subject",
                normalized(adapter, c).replacen(
                    &adapter.quote(c),
                    &format!("t.{}", adapter.quote(c)),
                    1
                )
            )
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let rows = conn.query(&format!(
        "select s.{label}, count(*) from {} as t join {} as s on {on} group by s.{label}",
        holder.relation,
        subjects.relation,
        label = subjects.label_column(),
    ))?;
    Ok(rows
        .rows
        .iter()
        .filter_map(|r| {
            let subject = match r.first()? {
                Cell::Text(s) => s.clone(),
                other => other.to_string(),
            };
            Some((subject, r.get(1).and_then(Cell::as_i64).unwrap_or(0)))
        })
        .collect())
}

/// Counts (and with `audit`, deletes) one relation's subjects.
pub fn erase_one(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    holder: &Holder,
    subjects: &Subjects,
    audit: Option<&Audit<'_>>,
) -> TableResult {
    let mut result = TableResult::of(holder);
    if holder.kind != HolderKind::Source {
        match built(conn, holder) {
            Ok(true) => {}
            Ok(false) => {
                result.status = Status::NotBuilt;
                return result;
            }
            Err(e) => return failed(result, e, subjects),
        }
    }
    let pred = predicate(holder, adapter, subjects);
    match (holder.kind, audit) {
        (HolderKind::View | HolderKind::Source, _) | (_, None) => {
            match counted(conn, adapter, holder, subjects, &pred) {
                Ok((n, each)) => {
                    result.rows = n;
                    result.subjects = each.len();
                }
                Err(e) if matches!(holder.kind, HolderKind::View | HolderKind::Source) => {
                    result.status = Status::Unreadable;
                    result.message = Some(subjects.redact(&e.message));
                    return result;
                }
                Err(e) => return failed(result, e, subjects),
            }
            result.status = match holder.kind {
                HolderKind::View => Status::Shows,
                HolderKind::Source => Status::OutsideKiln,
                _ => Status::WouldDelete,
            };
            result
        }
        (_, Some(audit)) => {
            let transactions = adapter.supports_transactions();
            let mut work = || -> Result<(i64, usize), DbError> {
                if transactions {
                    conn.execute(adapter.begin_sql())?;
                }
                let (n, each) = counted(conn, adapter, holder, subjects, &pred)?;
                if n > 0 {
                    conn.execute(&format!("delete from {} where {pred}", holder.relation))?;
                }
                audit_rows(conn, adapter, audit, holder, subjects, &each)?;
                if transactions {
                    conn.execute(adapter.commit_sql())?;
                }
                Ok((n, each.len()))
            };
            match work() {
                Ok((n, s)) => {
                    result.rows = n;
                    result.subjects = s;
                    result.status = Status::Deleted;
                    result
                }
                Err(e) => {
                    if transactions {
                        let _ = conn.execute(adapter.rollback_sql());
                    }
                    failed(result, e, subjects)
                }
            }
        }
    }
}

impl TableResult {
    /// A dry run's result for `holder`, before anything was read.
    pub(super) fn of(holder: &Holder) -> TableResult {
        TableResult {
            unique_id: holder.unique_id.clone(),
            name: holder.name.clone(),
            kind: holder.kind,
            relation: holder.relation.clone(),
            columns: holder.columns.clone(),
            status: Status::WouldDelete,
            rows: 0,
            subjects: 0,
            message: None,
        }
    }
}

/// Whether `holder`'s relation exists in the warehouse.
pub(super) fn built(conn: &mut dyn Connection, holder: &Holder) -> Result<bool, DbError> {
    let (database, schema, identifier) = &holder.parts;
    Ok(conn.get_relation(database, schema, identifier)?.is_some())
}

/// One audit row per subject for `holder`: its keyed hash and the rows of it deleted there
/// (`each`, by label).
pub(super) fn audit_rows(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    audit: &Audit<'_>,
    holder: &Holder,
    subjects: &Subjects,
    each: &BTreeMap<String, i64>,
) -> Result<(), DbError> {
    let now = adapter.current_timestamp_sql();
    let mut values = vec![];
    for subject in subjects.values.iter() {
        let rows = each.get(subjects.label(subject)).copied().unwrap_or(0);
        values.push(format!(
            "({}, {}, {}, {}, {rows}, {now})",
            string_literal(audit.erase_id),
            string_literal(&(audit.hash)(subject)),
            string_literal(&holder.unique_id),
            string_literal(&holder.relation),
        ));
    }
    for chunk in values.chunks(500) {
        conn.execute(&format!(
            "insert into {} (erase_id, subject_hash, node_id, relation_name, rows_deleted, erased_at) values {}",
            audit.relation,
            chunk.join(", ")
        ))?;
    }
    Ok(())
}

/// The rows of `holder` holding a subject, and per subject (by label).
pub(super) fn counted(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    holder: &Holder,
    subjects: &Subjects,
    pred: &str,
) -> Result<(i64, BTreeMap<String, i64>), DbError> {
    let n = count(
        conn,
        &format!("select count(*) from {} where {pred}", holder.relation),
    )?;
    let each = if n > 0 {
        per_subject(conn, adapter, holder, subjects)?
    } else {
        BTreeMap::new()
    };
    Ok((n, each))
}

pub(super) fn failed(mut result: TableResult, e: DbError, subjects: &Subjects) -> TableResult {
    result.status = Status::Failed;
    result.message = Some(subjects.redact(&e.message));
    result
}

/// The data rows of a seed's CSV file that hold a subject: 1-based line numbers (the header is
/// line 1; a record spanning lines counts as its first line's number only when no field holds a
/// line break).
pub fn seed_lines(
    text: &str,
    delimiter: char,
    columns: &[String],
    subjects: &Subjects,
) -> Result<Vec<usize>, String> {
    let records = crate::adapter::csv::records(text, delimiter)?;
    let Some((header, rows)) = records.split_first() else {
        return Ok(vec![]);
    };
    let idx: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| columns.iter().any(|c| c.eq_ignore_ascii_case(h.trim())))
        .map(|(i, _)| i)
        .collect();
    let mut out = vec![];
    let mut line = 1;
    for row in rows {
        line += 1;
        if idx
            .iter()
            .any(|i| row.get(*i).is_some_and(|v| subjects.contains(v)))
        {
            out.push(line);
        }
        line += row.iter().map(|v| v.matches('\n').count()).sum::<usize>();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lines_are_the_data_rows_holding_a_subject() {
        let subjects = Subjects {
            values: ["C2".to_string(), "C4".to_string()].into_iter().collect(),
            relation: "s".into(),
            hashes: None,
        };
        let csv = "id,name\nC1,a\n C2 ,\"b\nc\"\nC3,d\nC4,e\n";
        let lines = seed_lines(csv, ',', &["ID".into()], &subjects).unwrap();
        assert_eq!(lines, vec![3, 6]);
        assert!(format!("{subjects:?}").contains("2 values"));
        assert_eq!(
            subjects.redact("key \"id: C2\" is still referenced"),
            "key \"id: [subject]\" is still referenced"
        );
    }
}
