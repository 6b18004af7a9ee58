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
