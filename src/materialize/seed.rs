//! Seeds: a CSV file loaded into a table by DuckDB's own CSV reader, never row by row.
//!
//! Loading is two steps, both inside DuckDB and vectorised:
//!
//! 1. [`load`] reads the header (the first CSV record, in Rust: names exactly as written) and runs
//!    one aggregate query over `read_csv(..., all VARCHAR)` that classifies every value and ORs
//!    the classes per column ([`inference_query`]); the same pass checks that every value of a
//!    column with a `column_types` entry converts to the declared type.
//! 2. It returns a [`Plan`] ([`seed_plan`]) that creates the table under a temporary name with the
//!    final types, fills it with `insert into ... select cast(...) from read_csv(...)`, and swaps it
//!    in place of the previous relation ([`super::swap_in_steps`]). The runner executes the plan.
//!
//! Type inference follows dbt (agate's type tester as dbt-duckdb configures it): `''` and `'null'`
//! (any case, surrounding whitespace ignored) are NULL, and one type must fit all the other values
//! of a column: integers make it `INTEGER`, numbers with a decimal point or exponent among them
//! `DOUBLE` (dbt-duckdb: `float8`), `%Y-%m-%d` dates `DATE`, `%Y-%m-%d %H:%M:%S` datetimes or
//! ISO 8601 ones (with `T`) `TIMESTAMP`, `true`/`false` (any case) `BOOLEAN`, anything else
//! `VARCHAR` (kept as written, spaces included); an all-NULL column is `INTEGER`.
//! Where dbt would fail, kiln goes further: integers that overflow 32 bits make the column
//! `BIGINT` (then `HUGEINT`, then `DOUBLE`).
//!
//! Config: `column_types` (declared types win, column names matched case-insensitively),
//! `quote_columns` (names that are not plain identifiers are quoted regardless), `delimiter`
//! (one character, default `,`). A seed is always rebuilt and swapped in, which is what dbt does
//! under `--full-refresh`; without it dbt truncates and re-inserts into the old table, keeping its
//! column types, and fails when the CSV's columns changed. kiln never needs the flag: the swap is
//! atomic and the new table always has the CSV's current columns and types.

use super::{Plan, TMP_SUFFIX, Target, swap_in_steps};
use crate::adapter::{Adapter, Cell, Connection, DbError, RelationKind, string_literal};
use crate::project::Node;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use crate::project::settings::SeedConfig;

/// The types inference gives a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedType {
    Integer,
    BigInt,
    HugeInt,
    Double,
    Date,
    Timestamp,
    Boolean,
    Varchar,
}

/// The value classes of the inference query, one bit each; a column's mask is their OR.
pub mod kind {
    pub const INT32: i64 = 1;
    pub const INT64: i64 = 2;
    pub const INT128: i64 = 4;
    pub const NUMBER: i64 = 8;
    pub const DATE: i64 = 16;
    pub const DATETIME: i64 = 32;
    pub const ISO_DATETIME: i64 = 64;
    pub const BOOLEAN: i64 = 128;
    pub const TEXT: i64 = 256;
}

impl SeedType {
    /// The DuckDB type name.
    pub fn sql(self) -> &'static str {
        match self {
            SeedType::Integer => "INTEGER",
            SeedType::BigInt => "BIGINT",
            SeedType::HugeInt => "HUGEINT",
            SeedType::Double => "DOUBLE",
            SeedType::Date => "DATE",
            SeedType::Timestamp => "TIMESTAMP",
            SeedType::Boolean => "BOOLEAN",
            SeedType::Varchar => "VARCHAR",
        }
    }

    /// The type of a column from the classes of its non-NULL values (0: no value at all).
    ///
    /// As agate, one class must fit every value: a date mixed with a datetime, or a `T` datetime
    /// mixed with a space-separated one, is text. Integers and decimals mix into a number.
    pub fn from_kinds(mask: i64) -> Self {
        use kind::*;
        let only = |allowed: i64| mask & !allowed == 0;
        if only(INT32) {
            SeedType::Integer
        } else if only(INT32 | INT64) {
            SeedType::BigInt
        } else if only(INT32 | INT64 | INT128) {
            SeedType::HugeInt
        } else if only(INT32 | INT64 | INT128 | NUMBER) {
            SeedType::Double
        } else if mask == DATE {
            SeedType::Date
        } else if mask == DATETIME || mask == ISO_DATETIME {
            SeedType::Timestamp
        } else if mask == BOOLEAN {
            SeedType::Boolean
        } else {
            SeedType::Varchar
        }
    }
}

/// One column of the seed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedColumn {
    /// The name from the CSV header.
    pub name: String,
    /// The type in the DDL: inferred (`INTEGER`, ...) or as written in `column_types`.
    pub data_type: String,
    /// Whether the type comes from `column_types`.
    pub declared: bool,
    /// Whether the name is quoted in the DDL.
    pub quoted: bool,
    /// Whether the value is trimmed before the cast (false for text, which is kept as written).
    pub trim: bool,
}

impl SeedColumn {
    /// The name as it appears in SQL.
    pub fn sql_name(&self, adapter: &dyn Adapter) -> String {
        if self.quoted {
            adapter.quote(&self.name)
        } else {
            self.name.clone()
        }
    }
}

/// What [`load`] found: the plan for the runner and the table's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedLoad {
    pub plan: Plan,
    pub columns: Vec<SeedColumn>,
    /// The number of data rows in the CSV.
    pub rows: u64,
    /// Config that had no effect (a `column_types` entry naming no column), for the runner to
    /// show as warnings.
    pub warnings: Vec<String>,
}

impl SeedLoad {
    /// dbt's status line for the load: `CREATE 42` on a full refresh, `INSERT 42` otherwise.
    pub fn status(&self, full_refresh: bool) -> String {
        let code = if full_refresh { "CREATE" } else { "INSERT" };
        format!("{code} {}", self.rows)
    }
}

/// The CSV file of a seed, absolute (a relative `node.file` is taken from the working directory).
pub fn seed_path(node: &Node) -> PathBuf {
    if node.file.is_absolute() {
        node.file.clone()
    } else {
        std::path::absolute(&node.file).unwrap_or_else(|_| node.file.clone())
    }
}

/// Reads the seed's CSV (at [`seed_path`]), infers its column types inside DuckDB, and returns
/// the plan that builds the table. `existing` is the relation the seed replaces, if any.
pub fn load(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    node: &Node,
    existing: Option<RelationKind>,
) -> Result<SeedLoad, DbError> {
    load_csv(conn, adapter, node, &seed_path(node), existing)
}

/// [`load`] with the CSV file given.
pub fn load_csv(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    node: &Node,
    path: &Path,
    existing: Option<RelationKind>,
) -> Result<SeedLoad, DbError> {
    let file = &node.original_file_path;
    let fail = |msg: String| DbError::query(format!("seed {file}: {msg}"));
    let cfg = SeedConfig::of(node).map_err(fail)?;
    let names = read_header(path, cfg.delimiter).map_err(fail)?;

    // Declared types: DuckDB must know them; its own name for each says whether values are trimmed.
    let declared: Vec<Option<&str>> = names.iter().map(|n| cfg.declared_type(n)).collect();
    let canonical = canonical_types(conn, &names, &declared).map_err(fail)?;

    let checks: Vec<Check> = declared
        .iter()
        .zip(&canonical)
        .map(|(d, canon)| match (d, canon) {
            (None, _) => Check::Infer,
            (Some(_), Some(c)) if is_text_type(c) => Check::Nothing,
            (Some(t), _) => Check::Convert {
                sql_type: (*t).to_string(),
            },
        })
        .collect();
    let source = csv_source(&path.display().to_string(), cfg.delimiter, names.len());
    let result = conn
        .query(&inference_query(&source, &checks))
        .map_err(|e| fail(csv_error(&e.message)))?;
    let row = result
        .rows
        .first()
        .ok_or_else(|| fail("the inference query returned no row".into()))?;
    let int = |i: usize| match row.get(i) {
        Some(Cell::Int(n)) => *n,
        Some(Cell::Decimal(s) | Cell::Text(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    let rows = u64::try_from(int(0)).unwrap_or(0);

    let mut columns = Vec::with_capacity(names.len());
    let mut problems = vec![];
    let mut at = 1;
    for (i, name) in names.iter().enumerate() {
        let quoted = cfg.quote_columns || needs_quotes(name);
        match &checks[i] {
            Check::Infer => {
                let ty = SeedType::from_kinds(int(at));
                at += 1;
                columns.push(SeedColumn {
                    name: name.clone(),
                    data_type: ty.sql().to_string(),
                    declared: false,
                    quoted,
                    trim: ty != SeedType::Varchar,
                });
            }
            check => {
                let sql_type = declared[i].unwrap_or_default().to_string();
                if let Check::Convert { .. } = check {
                    let bad = int(at);
                    if bad > 0 {
                        let example = row.get(at + 1).map(Cell::to_string).unwrap_or_default();
                        let values = if bad == 1 { "value" } else { "values" };
                        problems.push(format!(
                            "column '{name}' has {bad} {values} that cannot be converted to {sql_type} (its type in column_types), e.g. {}",
                            string_literal(&example)
                        ));
                    }
                    at += 2;
                }
                columns.push(SeedColumn {
                    name: name.clone(),
                    data_type: sql_type,
                    declared: true,
                    quoted,
                    trim: matches!(check, Check::Convert { .. }),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(fail(format!(
            "{}; fix the values or the column's type in column_types",
            problems.join("; ")
        )));
    }

    let warnings = cfg
        .column_types
        .iter()
        .filter(|(c, _)| !names.iter().any(|n| n.eq_ignore_ascii_case(c)))
        .map(|(c, _)| {
            format!(
                "seed {file}: column_types names column '{c}', which is not in the CSV header ({})",
                names.join(", ")
            )
        })
        .collect();
    let plan = seed_plan(adapter, &Target::of(node), &source, &columns, existing);
    Ok(SeedLoad {
        plan,
        columns,
        rows,
        warnings,
    })
}

/// DuckDB's own name for each declared type (`decimal(12,2)` is `DECIMAL(12,2)`, `text` is
/// `VARCHAR`); an unknown type is an error naming the column.
fn canonical_types(
    conn: &mut dyn Connection,
    names: &[String],
    declared: &[Option<&str>],
) -> Result<Vec<Option<String>>, String> {
    let list: Vec<(usize, &str)> = declared
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.map(|t| (i, t)))
        .collect();
    let mut out = vec![None; declared.len()];
    if list.is_empty() {
        return Ok(out);
    }
    for (i, t) in &list {
        if t.contains(';') || t.contains("--") || t.contains("/*") {
            return Err(format!(
                "column_types gives column '{}' the type '{t}', which is not a SQL type",
                names[*i]
            ));
        }
    }
    let typeof_sql = |t: &str| format!("typeof(cast(null as {t}))");
    let all = format!(
        "select {}",
        list.iter()
            .map(|(_, t)| typeof_sql(t))
            .collect::<Vec<_>>()
            .join(", ")
    );
    match conn.query(&all) {
        Ok(rows) => {
            let row = rows.rows.first().cloned().unwrap_or_default();
            for (k, (i, _)) in list.iter().enumerate() {
                out[*i] = row.get(k).map(|c| c.to_string().to_ascii_uppercase());
            }
            Ok(out)
        }
        Err(_) => {
            // Find the culprit, one type at a time.
            for (i, t) in &list {
                if let Err(e) = conn.query(&format!("select {}", typeof_sql(t))) {
                    return Err(format!(
                        "column_types gives column '{}' the type '{t}', which DuckDB rejects: {}",
                        names[*i],
                        first_lines(&e.message, 2)
                    ));
                }
            }
            Err("DuckDB rejects the types in column_types".into())
        }
    }
}

fn is_text_type(canonical: &str) -> bool {
    canonical == "VARCHAR"
}

/// What the inference query computes for one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The OR of the value classes ([`kind`]): one output column.
    Infer,
    /// How many non-NULL values do not convert to the declared type, and the smallest of them:
    /// two output columns.
    Convert { sql_type: String },
    /// A declared text type: every value fits, nothing to compute.
    Nothing,
}

/// `read_csv` over the seed with every column read as text, names `c0`, `c1`, ... Nothing is
/// sniffed: the dialect is dbt's (Python's csv module: `"` quotes, `""` inside quotes is a quote),
/// the first record is the header, short rows are padded with NULLs as agate does, and a row with
/// too many fields is an error. A UTF-8 BOM and CRLF line ends are handled by the reader.
pub fn csv_source(path: &str, delimiter: char, columns: usize) -> String {
    let cols = (0..columns)
        .map(|i| format!("'c{i}': 'VARCHAR'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "read_csv({}, auto_detect = false, header = true, delim = {}, quote = '\"', escape = '\"', null_padding = true, columns = {{{cols}}})",
        string_literal(path),
        string_literal(&delimiter.to_string())
    )
}

/// Column `c` without surrounding spaces. Only padded values pay for the trim (an allocation
/// per value, most of the cost of a load when done unconditionally).
fn trimmed(c: &str) -> String {
    format!("case when ascii({c}) = 32 or suffix({c}, ' ') then trim({c}) else {c} end")
}

/// Whether the trimmed value `t` is one of dbt's NULL spellings (`''`, `null` in any case).
fn nullish(t: &str) -> String {
    format!("({t} = '' or (strlen({t}) = 4 and lower({t}) = 'null'))")
}

/// The class ([`kind`]) of one trimmed, non-NULL value `t`. Every class is checked with the same
/// cast the load uses, so a column's inferred type always converts.
pub fn kind_expr(t: &str) -> String {
    use kind::*;
    format!(
        "case
        when {t} is null or {null} then 0
        when ascii({t}) not between 43 and 57 then
            case when strlen({t}) <= 5 and lower({t}) in ('true', 'false') then {BOOLEAN} else {TEXT} end
        when regexp_full_match({t}, '[+-]?[0-9]+') then
            case
                when strlen({t}) <= 9 or try_cast({t} as integer) is not null then {INT32}
                when try_cast({t} as bigint) is not null then {INT64}
                when try_cast({t} as hugeint) is not null then {INT128}
                else {NUMBER}
            end
        when regexp_full_match({t}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?')
            and isfinite(try_cast({t} as double)) then {NUMBER}
        when regexp_full_match({t}, '[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}')
            and try_cast({t} as date) is not null then {DATE}
        when regexp_full_match({t}, '[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}} [0-9]{{1,2}}:[0-9]{{1,2}}:[0-9]{{1,2}}')
            and try_cast({t} as timestamp) is not null then {DATETIME}
        when regexp_full_match({t}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}(:[0-9]{{2}}([.][0-9]+)?)?(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)?')
            and try_cast({t} as timestamp) is not null then {ISO_DATETIME}
        else {TEXT}
    end",
        null = nullish(t)
    )
}

/// The one-pass query over the CSV: `rows` (the row count), then per column what its [`Check`]
/// computes (`k<i>`, or `bad<i>` and `example<i>`).
pub fn inference_query(source: &str, checks: &[Check]) -> String {
    let mut inner = vec![];
    let mut aggs = vec!["count(*) as \"rows\"".to_string()];
    for (i, check) in checks.iter().enumerate() {
        let t = format!("t{i}");
        match check {
            Check::Infer => {
                inner.push(format!("{} as t{i}", trimmed(&format!("c{i}"))));
                aggs.push(format!("bit_or({}) as k{i}", kind_expr(&t)));
            }
            Check::Convert { sql_type } => {
                inner.push(format!("{} as t{i}", trimmed(&format!("c{i}"))));
                let bad = format!(
                    "{t} is not null and not {} and try_cast({t} as {sql_type}) is null",
                    nullish(&t)
                );
                aggs.push(format!("count(*) filter (where {bad}) as bad{i}"));
                aggs.push(format!("min({t}) filter (where {bad}) as example{i}"));
            }
            Check::Nothing => {}
        }
    }
    if inner.is_empty() {
        inner.push("1 as one".into());
    }
    format!(
        "select\n    {}\nfrom (\n    select\n        {}\n    from {source}\n) as csv",
        aggs.join(",\n    "),
        inner.join(",\n        ")
    )
}

/// The plan: create the temporary table with the final types, fill it from the CSV, swap it in.
pub fn seed_plan(
    adapter: &dyn Adapter,
    target: &Target,
    source: &str,
    columns: &[SeedColumn],
    existing: Option<RelationKind>,
) -> Plan {
    let tmp = target.with_identifier(format!("{}{TMP_SUFFIX}", target.identifier));
    let tmp_name = tmp.sql(adapter);
    let defs: Vec<String> = columns
        .iter()
        .map(|c| format!("    {} {}", c.sql_name(adapter), c.data_type))
        .collect();
    let create = format!("create table {tmp_name} (\n{}\n)", defs.join(",\n"));
    let mut inner = vec![];
    let mut values = vec![];
    for (i, c) in columns.iter().enumerate() {
        let t = format!("t{i}");
        let null = nullish(&t);
        let trim = trimmed(&format!("c{i}"));
        if c.trim {
            inner.push(format!("{trim} as t{i}"));
            values.push(format!(
                "    cast(case when {null} then null else {t} end as {})",
                c.data_type
            ));
        } else {
            inner.push(format!("c{i}, {trim} as t{i}"));
            let value = format!("case when {null} then null else c{i} end");
            values.push(if c.declared {
                format!("    cast({value} as {})", c.data_type)
            } else {
                format!("    {value}")
            });
        }
    }
    let insert = format!(
        "insert into {tmp_name}\nselect\n{}\nfrom (\n    select\n        {}\n    from {source}\n) as csv",
        values.join(",\n"),
        inner.join(",\n        ")
    );
    swap_in_steps(adapter, target, vec![create, insert], existing)
}

/// Whether a column name must be quoted to be used as written: anything but a plain identifier,
/// and DuckDB's keywords that a column name cannot be.
pub fn needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    let plain = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    !plain
        || RESERVED
            .split_whitespace()
            .any(|k| k.eq_ignore_ascii_case(name))
}

/// DuckDB's keywords that cannot name a column unquoted (`duckdb_keywords()` of the categories
/// `reserved` and `type_function`).
const RESERVED: &str = "\
    all analyse analyze and anti any array as asc asof asymmetric at authorization binary \
    both by case cast check collate collation column columns concurrently constraint create \
    cross default deferrable desc describe distinct do else end except false fetch for \
    foreign freeze from full generated glob group having ilike in initially inner intersect \
    into is isnull join lambda lateral leading left like limit map natural not notnull null \
    offset on only or order outer overlaps pivot pivot_longer pivot_wider placing positional \
    primary qualify references returning right select semi show similar some struct summarize \
    symmetric table tablesample then to trailing true try_cast union unique unpack unpivot \
    using variadic verbose when where window with";

/// The most of a file read to find the end of its header record.
const MAX_HEADER_BYTES: usize = 16 << 20;

/// The column names of a CSV: its first record, parsed as Python's csv module (dbt's reader)
/// does, after a UTF-8 BOM. Names are kept as written; an empty name becomes `column<i>` and a
/// repeated one (case-insensitively, as DuckDB resolves names) `name_2`, `name_3`, ...
pub fn read_header(path: &Path, delimiter: char) -> Result<Vec<String>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the CSV file {}: {e}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| format!("cannot read the CSV file {}: {e}", path.display()))?;
        let eof = n == 0;
        bytes.extend_from_slice(&chunk[..n]);
        // Only the header must be UTF-8: parse the valid prefix (a chunk may also end inside a
        // character) and complain only when the header runs into a bad byte.
        let (valid, bad_byte) = match std::str::from_utf8(&bytes) {
            Ok(t) => (t, false),
            Err(e) => (
                std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
                e.error_len().is_some() || eof,
            ),
        };
        let text = valid.strip_prefix('\u{feff}').unwrap_or(valid);
        match first_record(text, delimiter, eof && !bad_byte)? {
            Some(raw) => {
                if raw.len() == 1 && raw[0].trim().is_empty() {
                    return Err(if text.trim().is_empty() {
                        "the CSV file is empty; a seed needs a header line naming its columns"
                            .into()
                    } else {
                        "the first line of the CSV file is empty; a seed starts with a header line naming its columns".into()
                    });
                }
                return Ok(header_names(raw));
            }
            None if bad_byte => {
                return Err("the CSV header is not valid UTF-8; save the file as UTF-8".into());
            }
            None if bytes.len() > MAX_HEADER_BYTES => {
                return Err(format!(
                    "no end of the header line in the first {} MiB (is a quote left open?)",
                    MAX_HEADER_BYTES >> 20
                ));
            }
            None => {}
        }
    }
}

/// The first record of `text`, or `None` when `text` may end before it does (`complete` false).
fn first_record(
    text: &str,
    delimiter: char,
    complete: bool,
) -> Result<Option<Vec<String>>, String> {
    let mut fields = vec![];
    let mut field = String::new();
    let mut in_quotes = false;
    let mut at_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                match chars.peek() {
                    Some('"') => {
                        field.push('"');
                        chars.next();
                    }
                    None if !complete => return Ok(None),
                    _ => in_quotes = false,
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_start {
            in_quotes = true;
            at_start = false;
        } else if c == delimiter {
            fields.push(std::mem::take(&mut field));
            at_start = true;
        } else if c == '\n' || c == '\r' {
            fields.push(field);
            return Ok(Some(fields));
        } else {
            field.push(c);
            at_start = false;
        }
    }
    if !complete {
        return Ok(None);
    }
    if in_quotes {
        return Err("the header line has a quote that is never closed".into());
    }
    fields.push(field);
    Ok(Some(fields))
}

/// Header names made usable: empty ones named `column<i>`, repeats suffixed `_2`, `_3`, ...
pub fn header_names(raw: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, name) in raw.into_iter().enumerate() {
        let base = if name.trim().is_empty() {
            format!("column{i}")
        } else {
            name
        };
        let taken = |n: &str, out: &[String]| out.iter().any(|o| o.eq_ignore_ascii_case(n));
        let mut candidate = base.clone();
        let mut k = 2;
        while taken(&candidate, &out) {
            candidate = format!("{base}_{k}");
            k += 1;
        }
        out.push(candidate);
    }
    out
}

/// DuckDB's CSV errors without the advice about reader options kiln sets itself.
fn csv_error(message: &str) -> String {
    let kept: Vec<&str> = message
        .lines()
        .take_while(|l| !l.starts_with("Possible ") && !l.trim_start().starts_with("file ="))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut out = kept.join("\n");
    if out.contains("not utf-8 encoded") {
        out.push_str("\nSave the CSV file as UTF-8.");
    }
    out
}

fn first_lines(message: &str, n: usize) -> String {
    message
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::DuckDb;
    use serde_json::Value as Json;

    fn header(text: &str) -> Vec<String> {
        first_record(text, ',', true)
            .expect("parses")
            .expect("complete")
    }

    #[test]
    fn header_record_follows_pythons_csv() {
        assert_eq!(header("a,b,c\n1,2,3\n"), ["a", "b", "c"]);
        assert_eq!(header("a,b\r\n1,2\r\n"), ["a", "b"]);
        assert_eq!(header("a,b"), ["a", "b"]);
        assert_eq!(header(" a , b \n"), [" a ", " b "]);
        assert_eq!(
            header("\"x,y\",\"say \"\"hi\"\"\",\"multi\nline\"\n"),
            ["x,y", "say \"hi\"", "multi\nline"]
        );
        assert_eq!(header("a\"b,c\n"), ["a\"b", "c"]);
        assert_eq!(
            first_record("a;b|c\n", '|', true).expect("parses"),
            Some(vec!["a;b".to_string(), "c".to_string()])
        );
        // Incomplete input asks for more.
        assert_eq!(first_record("a,b", ',', false).expect("parses"), None);
        assert_eq!(first_record("\"a\nb", ',', false).expect("parses"), None);
        assert!(first_record("\"a,b", ',', true).is_err());
    }

    #[test]
    fn header_names_fill_blanks_and_repeats() {
        let raw = ["id", "", "ID", "name", "id", "  "]
            .map(String::from)
            .to_vec();
        assert_eq!(
            header_names(raw),
            ["id", "column1", "ID_2", "name", "id_3", "column5"]
        );
    }

    #[test]
    fn types_from_value_classes() {
        use kind::*;
        assert_eq!(SeedType::from_kinds(0), SeedType::Integer);
        assert_eq!(SeedType::from_kinds(INT32), SeedType::Integer);
        assert_eq!(SeedType::from_kinds(INT32 | INT64), SeedType::BigInt);
        assert_eq!(SeedType::from_kinds(INT128 | INT32), SeedType::HugeInt);
        assert_eq!(SeedType::from_kinds(INT32 | NUMBER), SeedType::Double);
        assert_eq!(SeedType::from_kinds(DATE), SeedType::Date);
        assert_eq!(SeedType::from_kinds(DATETIME), SeedType::Timestamp);
        assert_eq!(SeedType::from_kinds(ISO_DATETIME), SeedType::Timestamp);
        assert_eq!(
            SeedType::from_kinds(DATETIME | ISO_DATETIME),
            SeedType::Varchar
        );
        assert_eq!(SeedType::from_kinds(DATE | DATETIME), SeedType::Varchar);
        assert_eq!(SeedType::from_kinds(BOOLEAN), SeedType::Boolean);
        assert_eq!(SeedType::from_kinds(BOOLEAN | INT32), SeedType::Varchar);
        assert_eq!(SeedType::from_kinds(TEXT | INT32), SeedType::Varchar);
    }

    #[test]
    fn quoting_plain_identifiers_only_when_needed() {
        assert!(!needs_quotes("amount"));
        assert!(!needs_quotes("MixedCase_1"));
        assert!(!needs_quotes("_x"));
        assert!(needs_quotes("Name With Space"));
        assert!(needs_quotes("1st"));
        assert!(needs_quotes("a-b"));
        assert!(needs_quotes("émile"));
        assert!(needs_quotes("order"));
        assert!(needs_quotes("SELECT"));
        assert!(needs_quotes(""));
    }

    fn node(config: Json) -> Node {
        Node::sample(crate::project::ResourceType::Seed, "people", config)
    }

    #[test]
    fn config_with_defaults_and_errors() {
        let cfg = SeedConfig::parse(&node(Json::Null).config).expect("config");
        assert_eq!(cfg, SeedConfig::default());
        assert_eq!(cfg.delimiter, ',');
        assert!(cfg.full_refresh(true));
        assert!(!cfg.full_refresh(false));

        let cfg = SeedConfig::parse(
            &node(serde_json::json!({
                "column_types": {"Amount": "decimal(12,2)", "id": " bigint "},
                "quote_columns": true,
                "delimiter": "\t",
                "full_refresh": false,
            }))
            .config,
        )
        .expect("config");
        assert_eq!(cfg.delimiter, '\t');
        assert!(cfg.quote_columns);
        assert!(!cfg.full_refresh(true));
        assert_eq!(cfg.declared_type("amount"), Some("decimal(12,2)"));
        assert_eq!(cfg.declared_type("ID"), Some("bigint"));
        assert_eq!(cfg.declared_type("other"), None);

        let err = |v: Json| {
            let problems = SeedConfig::parse(&node(v).config).expect_err("rejected");
            problems[0].message.clone()
        };
        assert!(err(serde_json::json!({"delimiter": "||"})).contains("one character"));
        assert!(err(serde_json::json!({"delimiter": "\""})).contains("one character"));
        assert!(err(serde_json::json!({"column_types": {"id": 3}})).contains("column 'id'"));
        assert!(err(serde_json::json!({"column_types": ["id"]})).contains("column_types"));
        assert!(err(serde_json::json!({"quote_columns": "yes"})).contains("quote_columns"));
    }

    fn col(name: &str, ty: &str, declared: bool, trim: bool) -> SeedColumn {
        SeedColumn {
            name: name.into(),
            data_type: ty.into(),
            declared,
            quoted: needs_quotes(name),
            trim,
        }
    }

    #[test]
    fn plan_creates_fills_and_swaps() {
        let adapter = DuckDb::in_memory();
        let target = Target::of(&node(Json::Null));
        let source = csv_source("/data/seeds/people.csv", ';', 4);
        let columns = [
            col("id", "INTEGER", false, true),
            col("Full Name", "VARCHAR", false, false),
            col("amount", "decimal(12,2)", true, true),
            col("code", "varchar(3)", true, false),
        ];
        let plan = seed_plan(
            &adapter,
            &target,
            &source,
            &columns,
            Some(RelationKind::Table),
        );
        insta::assert_snapshot!(plan.script());
    }

    #[test]
    fn inference_query_snapshot() {
        let source = csv_source("/data/it's.csv", ',', 3);
        let checks = [
            Check::Infer,
            Check::Convert {
                sql_type: "date".into(),
            },
            Check::Nothing,
        ];
        insta::assert_snapshot!(inference_query(&source, &checks));
    }

    #[test]
    fn csv_errors_lose_the_reader_advice() {
        let message = "Invalid Input Error: CSV Error on Line: 4\nOriginal Line: 5,6,7\nExpected Number of Columns: 2 Found: 3\nPossible fixes:\n* Disable the parser's strict mode\n\n  file = long.csv\n";
        assert_eq!(
            csv_error(message),
            "Invalid Input Error: CSV Error on Line: 4\nOriginal Line: 5,6,7\nExpected Number of Columns: 2 Found: 3"
        );
        let message = "Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 3,??\nInvalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded.\n\nPossible Solution: Set the correct encoding\nPossible Solution: Enable ignore errors\n\n  file = bad.csv\n";
        assert_eq!(
            csv_error(message),
            "Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 3,??\nInvalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded.\nSave the CSV file as UTF-8."
        );
    }

    #[test]
    fn status_line() {
        let load = SeedLoad {
            plan: Plan::default(),
            columns: vec![],
            rows: 42,
            warnings: vec![],
        };
        assert_eq!(load.status(true), "CREATE 42");
        assert_eq!(load.status(false), "INSERT 42");
    }
}
