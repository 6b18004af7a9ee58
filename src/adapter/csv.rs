//! What an engine is asked when it loads a seed's CSV file ([`super::Adapter::load_csv`]), what
//! it answers, and the type rules every engine's inference follows.
//!
//! Type inference follows dbt (agate's type tester as dbt-duckdb configures it): `''` and `'null'`
//! (any case, surrounding whitespace ignored) are NULL, and one type must fit all the other values
//! of a column: integers make it an integer, numbers with a decimal point or exponent among them
//! a double, `%Y-%m-%d` dates a date, `%Y-%m-%d %H:%M:%S` datetimes or ISO 8601 ones (with `T`) a
//! timestamp, `true`/`false` (any case) a boolean, anything else text (kept as written, spaces
//! included); an all-NULL column is an integer. Where dbt would fail, kiln goes further: integers
//! that overflow 32 bits make the column a 64-bit integer (then 128-bit, then a double). The
//! engine classifies each value ([`class`]) and names the resulting [`SeedType`].

use std::path::Path;

/// A CSV file to read.
#[derive(Debug, Clone, Copy)]
pub struct CsvFile<'a> {
    pub path: &'a Path,
    /// The field separator.
    pub delimiter: char,
    /// The column names, from the header (as written, blanks and repeats renamed).
    pub names: &'a [String],
    /// Each column's type from `column_types`, as written; `None`: inferred.
    pub declared: &'a [Option<String>],
}

/// What the engine found in a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// The number of data rows.
    pub rows: u64,
    /// Per column, in order.
    pub columns: Vec<CsvColumn>,
    /// A query returning the file's rows with [`CsvColumn::data_type`]s, in column order, to
    /// fill the seed's table with.
    pub select_sql: String,
}

/// One column of a CSV file, as the engine reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvColumn {
    /// The type in the DDL: the engine's name for the inferred type, or as written in
    /// `column_types`.
    pub data_type: String,
    /// Whether the type comes from `column_types`.
    pub declared: bool,
    /// Whether values are trimmed before the cast (false for text, kept as written).
    pub trim: bool,
    /// Values that do not convert to the declared type: how many, and the smallest of them.
    pub unconvertible: Option<(i64, String)>,
}

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

/// The value classes inference tells apart, one bit each; a column's mask is their OR.
pub mod class {
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
    /// The type of a column from the classes of its non-NULL values (0: no value at all).
    ///
    /// As agate, one class must fit every value: a date mixed with a datetime, or a `T` datetime
    /// mixed with a space-separated one, is text. Integers and decimals mix into a number.
    pub fn from_classes(mask: i64) -> Self {
        use class::*;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_from_value_classes() {
        use class::*;
        assert_eq!(SeedType::from_classes(0), SeedType::Integer);
        assert_eq!(SeedType::from_classes(INT32), SeedType::Integer);
        assert_eq!(SeedType::from_classes(INT32 | INT64), SeedType::BigInt);
        assert_eq!(SeedType::from_classes(INT128 | INT32), SeedType::HugeInt);
        assert_eq!(SeedType::from_classes(INT32 | NUMBER), SeedType::Double);
        assert_eq!(SeedType::from_classes(DATE), SeedType::Date);
        assert_eq!(SeedType::from_classes(DATETIME), SeedType::Timestamp);
        assert_eq!(SeedType::from_classes(ISO_DATETIME), SeedType::Timestamp);
        assert_eq!(
            SeedType::from_classes(DATETIME | ISO_DATETIME),
            SeedType::Varchar
        );
        assert_eq!(SeedType::from_classes(DATE | DATETIME), SeedType::Varchar);
        assert_eq!(SeedType::from_classes(BOOLEAN), SeedType::Boolean);
        assert_eq!(SeedType::from_classes(BOOLEAN | INT32), SeedType::Varchar);
        assert_eq!(SeedType::from_classes(TEXT | INT32), SeedType::Varchar);
    }
}

/// Every record of a CSV text (RFC 4180 quoting: `"` around a field, `""` inside it), the
/// header included. Blank lines are skipped.
pub fn records(text: &str, delimiter: char) -> Result<Vec<Vec<String>>, String> {
    let mut out = vec![];
    let mut record: Vec<String> = vec![];
    let mut field = String::new();
    let mut in_quotes = false;
    let mut at_start = true;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let mut end_record = |record: &mut Vec<String>, field: &mut String| {
        record.push(std::mem::take(field));
        let r = std::mem::take(record);
        if !(r.len() == 1 && r[0].is_empty()) {
            out.push(r);
        }
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => in_quotes = false,
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        } else if c == '"' && at_start {
            in_quotes = true;
            at_start = false;
        } else if c == delimiter {
            record.push(std::mem::take(&mut field));
            at_start = true;
        } else if c == '\r' && chars.peek() == Some(&'\n') {
        } else if c == '\n' || c == '\r' {
            end_record(&mut record, &mut field);
            at_start = true;
            line += 1;
        } else {
            field.push(c);
            at_start = false;
        }
    }
    if in_quotes {
        return Err(format!("a quote opened by line {line} is never closed"));
    }
    if !field.is_empty() || !record.is_empty() {
        end_record(&mut record, &mut field);
    }
    Ok(out)
}

/// The class of one value (see [`class`]), 0 for a NULL (`''`, `null` in any case).
pub fn classify(value: &str) -> i64 {
    use chrono::{NaiveDate, NaiveDateTime};
    let v = value.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("null") {
        return 0;
    }
    if let Ok(n) = v.parse::<i128>() {
        return if i32::try_from(n).is_ok() {
            class::INT32
        } else if i64::try_from(n).is_ok() {
            class::INT64
        } else {
            class::INT128
        };
    }
    if v.parse::<f64>().is_ok_and(f64::is_finite) && v.chars().any(|c| c.is_ascii_digit()) {
        return class::NUMBER;
    }
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return class::BOOLEAN;
    }
    if NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() {
        return class::DATE;
    }
    if NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S").is_ok()
        || NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f").is_ok()
    {
        return class::DATETIME;
    }
    if NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S").is_ok()
        || NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
    {
        return class::ISO_DATETIME;
    }
    class::TEXT
}

#[cfg(test)]
mod record_tests {
    use super::*;

    #[test]
    fn records_and_classes() {
        let r = records("id,name\r\n1,\"a, \"\"b\"\"\"\n\n2,\"two\nlines\"\n3,", ',').unwrap();
        assert_eq!(
            r,
            vec![
                vec!["id", "name"],
                vec!["1", "a, \"b\""],
                vec!["2", "two\nlines"],
                vec!["3", ""]
            ]
        );
        assert!(records("a\n\"open", ',').is_err());
        assert_eq!(classify(" 12 "), class::INT32);
        assert_eq!(classify("3000000000"), class::INT64);
        assert_eq!(classify("1.5e3"), class::NUMBER);
        assert_eq!(classify("NULL"), 0);
        assert_eq!(classify("2024-01-31"), class::DATE);
        assert_eq!(classify("2024-01-31 10:00:00"), class::DATETIME);
        assert_eq!(classify("2024-01-31T10:00:00"), class::ISO_DATETIME);
        assert_eq!(classify("True"), class::BOOLEAN);
        assert_eq!(classify("nan"), class::TEXT);
        assert_eq!(classify("abc"), class::TEXT);
    }
}
