//! DuckDB's side of seeds ([`super::Adapter::load_csv`]): the CSV read by DuckDB's own reader,
//! never row by row, in two vectorised steps.
//!
//! 1. One aggregate query over `read_csv(..., all VARCHAR)` classifies every value and ORs the
//!    classes per column ([`inference_query`]); the same pass checks that every value of a column
//!    with a `column_types` entry converts to the declared type (DuckDB first names each declared
//!    type, [`canonical_types`], which says whether its values are trimmed).
//! 2. The answer's query ([`fill_select`]) reads the file again with `cast(...)` to the final
//!    types, for the seed's plan to insert into its table.

use super::csv::{CsvColumn, CsvFile, CsvTable, SeedType};
use super::{Cell, Connection, string_literal};

/// Reads the CSV: declared types checked, the others inferred, rows counted.
pub(super) fn load_csv(conn: &mut dyn Connection, csv: &CsvFile<'_>) -> Result<CsvTable, String> {
    // Declared types: DuckDB must know them; its own name for each says whether values are trimmed.
    let declared: Vec<Option<&str>> = csv.declared.iter().map(Option::as_deref).collect();
    let canonical = canonical_types(conn, csv.names, &declared)?;
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
    let source = csv_source(
        &csv.path.display().to_string(),
        csv.delimiter,
        csv.names.len(),
    );
    let result = conn
        .query(&inference_query(&source, &checks))
        .map_err(|e| csv_error(&e.message))?;
    let row = result
        .rows
        .first()
        .ok_or_else(|| "the inference query returned no row".to_string())?;
    let int = |i: usize| match row.get(i) {
        Some(Cell::Int(n)) => *n,
        Some(Cell::Decimal(s) | Cell::Text(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    let rows = u64::try_from(int(0)).unwrap_or(0);

    let mut columns = Vec::with_capacity(csv.names.len());
    let mut at = 1;
    for (i, check) in checks.iter().enumerate() {
        match check {
            Check::Infer => {
                let ty = SeedType::from_classes(int(at));
                at += 1;
                columns.push(CsvColumn {
                    data_type: type_name(ty).to_string(),
                    declared: false,
                    trim: ty != SeedType::Varchar,
                    unconvertible: None,
                });
            }
            check => {
                let mut unconvertible = None;
                if let Check::Convert { .. } = check {
                    let bad = int(at);
                    if bad > 0 {
                        let example = row.get(at + 1).map(Cell::to_string).unwrap_or_default();
                        unconvertible = Some((bad, example));
                    }
                    at += 2;
                }
                columns.push(CsvColumn {
                    data_type: declared[i].unwrap_or_default().to_string(),
                    declared: true,
                    trim: matches!(check, Check::Convert { .. }),
                    unconvertible,
                });
            }
        }
    }
    let select_sql = fill_select(&source, &columns);
    Ok(CsvTable {
        rows,
        columns,
        select_sql,
    })
}

/// DuckDB's name for an inferred type.
fn type_name(t: SeedType) -> &'static str {
    match t {
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
enum Check {
    /// The OR of the value classes ([`class`](super::csv::class)): one output column.
    Infer,
    /// How many non-NULL values do not convert to the declared type, and the smallest of them:
    /// two output columns.
    Convert { sql_type: String },
    /// A declared text type: every value fits, nothing to compute.
    Nothing,
}

/// `read_csv` over the seed with every column read as text, names `c0`, `c1`, ... Nothing is
/// sniffed: the dialect is dbt's (Python's csv module: `"` quotes, `""` inside quotes is a quote),
/// the first record is the header, and a row with fewer or more fields than the header is an
/// error naming its line (dbt-duckdb rejects such a file too; padding it with NULLs would load
/// rows nobody wrote). A UTF-8 BOM and CRLF line ends are handled by the reader.
pub(crate) fn csv_source(path: &str, delimiter: char, columns: usize) -> String {
    let cols = (0..columns)
        .map(|i| format!("'c{i}': 'VARCHAR'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "read_csv({}, auto_detect = false, header = true, delim = {}, quote = '\"', escape = '\"', null_padding = false, columns = {{{cols}}})",
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

/// The class ([`class`](super::csv::class)) of one trimmed, non-NULL value `t`. Every class is checked with the same
/// cast the load uses, so a column's inferred type always converts.
fn kind_expr(t: &str) -> String {
    use super::csv::class::*;
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
fn inference_query(source: &str, checks: &[Check]) -> String {
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

/// The inference query over `source` for a typical file (one column of each kind of check).
#[cfg(test)]
pub(crate) fn inference_sample(source: &str) -> String {
    inference_query(
        source,
        &[
            Check::Infer,
            Check::Convert {
                sql_type: "date".into(),
            },
            Check::Nothing,
            Check::Infer,
        ],
    )
}

/// The rows of the CSV (`source`, from [`csv_source`]) with their final types: NULL spellings
/// made NULL, trimmed values cast, text kept as written.
pub(crate) fn fill_select(source: &str, columns: &[CsvColumn]) -> String {
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
    format!(
        "select\n{}\nfrom (\n    select\n        {}\n    from {source}\n) as csv",
        values.join(",\n"),
        inner.join(",\n        ")
    )
}

/// Whether a column name must be quoted to be used as written: anything but a plain identifier,
/// and DuckDB's keywords that a column name cannot be.
pub(super) fn needs_quotes(name: &str) -> bool {
    !super::ansi::is_plain_identifier(name)
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
    if let Some((expected, found)) = field_counts(&out) {
        out.push_str(&if found < expected {
            format!(
                "\nThe row has {found} fields and the header {expected}: add the missing fields \
                 (an empty field loads as NULL)."
            )
        } else {
            format!(
                "\nThe row has {found} fields and the header {expected}: remove the extra fields, \
                 or quote a value that contains the delimiter."
            )
        });
    }
    out
}

/// The header's and the row's field counts of DuckDB's "Expected Number of Columns" error.
fn field_counts(message: &str) -> Option<(usize, usize)> {
    let rest = message.split("Expected Number of Columns: ").nth(1)?;
    let (expected, rest) = rest.split_once(" Found: ")?;
    let found: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((expected.trim().parse().ok()?, found.parse().ok()?))
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
            "Invalid Input Error: CSV Error on Line: 4\nOriginal Line: 5,6,7\nExpected Number of Columns: 2 Found: 3\nThe row has 3 fields and the header 2: remove the extra fields, or quote a value that contains the delimiter."
        );
        let message = "Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 2,b\nExpected Number of Columns: 3 Found: 2\nPossible fixes:\n* Enable null padding\n";
        assert_eq!(
            csv_error(message),
            "Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 2,b\nExpected Number of Columns: 3 Found: 2\nThe row has 2 fields and the header 3: add the missing fields (an empty field loads as NULL)."
        );
        let message = "Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 3,??\nInvalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded.\n\nPossible Solution: Set the correct encoding\nPossible Solution: Enable ignore errors\n\n  file = bad.csv\n";
        assert_eq!(
            csv_error(message),
            "Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 3,??\nInvalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded.\nSave the CSV file as UTF-8."
        );
    }
}
