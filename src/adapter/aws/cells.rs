//! Athena's result values as kiln's [`Cell`]s. `GetQueryResults` sends every value as text
//! (`VarCharValue`, absent for NULL); the column metadata (`ColumnInfo.Type`, `Precision`,
//! `Scale`) says what the text is. Numbers, booleans, dates and timestamps become typed cells;
//! `array`, `map`, `row` and `json` values stay text, because Athena prints them in a form
//! (`[1, 2]`, `{a=1}`) that cannot be read back without ambiguity.

use crate::adapter::{Cell, Column};
use aws_sdk_athena::types::{ColumnInfo, Datum};

/// A result column: kiln's description and how to read its values.
#[derive(Debug, Clone)]
pub(super) struct ResultColumn {
    pub column: Column,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    Decimal,
    Date,
    Timestamp,
    Binary,
    Text,
}

pub(super) fn column(info: &ColumnInfo) -> ResultColumn {
    let ty = info.r#type().to_ascii_lowercase();
    let base = ty.split('(').next().unwrap_or("").trim();
    let kind = match base {
        "boolean" => Kind::Bool,
        "tinyint" | "smallint" | "integer" | "int" | "bigint" => Kind::Int,
        "real" | "float" | "double" => Kind::Float,
        "decimal" => Kind::Decimal,
        "date" => Kind::Date,
        "timestamp" | "timestamp with time zone" => Kind::Timestamp,
        "varbinary" => Kind::Binary,
        _ => Kind::Text,
    };
    let data_type = match base {
        // Athena gives a decimal's precision and scale apart from its type name.
        "decimal" if !ty.contains('(') => {
            format!("DECIMAL({},{})", info.precision(), info.scale())
        }
        _ => ty.to_ascii_uppercase(),
    };
    ResultColumn {
        column: Column {
            name: info.name().to_string(),
            data_type,
            comment: None,
        },
        kind,
    }
}

/// One result row; a row shorter than the columns is padded with NULLs.
pub(super) fn row(columns: &[ResultColumn], data: &[Datum]) -> Vec<Cell> {
    let mut out: Vec<Cell> = data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let kind = columns.get(i).map_or(Kind::Text, |c| c.kind);
            d.var_char_value().map_or(Cell::Null, |v| cell(kind, v))
        })
        .collect();
    while out.len() < columns.len() {
        out.push(Cell::Null);
    }
    out
}

fn cell(kind: Kind, v: &str) -> Cell {
    let parsed = match kind {
        Kind::Bool => match v {
            "true" => Some(Cell::Bool(true)),
            "false" => Some(Cell::Bool(false)),
            _ => None,
        },
        Kind::Int => v.parse::<i128>().ok().map(Cell::integer),
        Kind::Float => match v {
            "NaN" => Some(Cell::Float(f64::NAN)),
            "Infinity" => Some(Cell::Float(f64::INFINITY)),
            "-Infinity" => Some(Cell::Float(f64::NEG_INFINITY)),
            _ => v.parse::<f64>().ok().map(Cell::Float),
        },
        Kind::Decimal => Some(Cell::Decimal(v.to_string())),
        Kind::Date => Some(Cell::Date(v.to_string())),
        Kind::Timestamp => Some(Cell::Timestamp(v.to_string())),
        Kind::Binary => hex_bytes(v).map(Cell::Blob),
        Kind::Text => None,
    };
    // A value that does not read as its type is kept as the text Athena sent.
    parsed.unwrap_or_else(|| Cell::Text(v.to_string()))
}

/// Athena prints varbinary as hex bytes separated by spaces (`68 65 6c 6c 6f`).
fn hex_bytes(v: &str) -> Option<Vec<u8>> {
    v.split_ascii_whitespace()
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, ty: &str, precision: i32, scale: i32) -> ColumnInfo {
        ColumnInfo::builder()
            .name(name)
            .r#type(ty)
            .precision(precision)
            .scale(scale)
            .build()
            .expect("name and type are set")
    }

    fn datum(v: Option<&str>) -> Datum {
        Datum::builder()
            .set_var_char_value(v.map(str::to_string))
            .build()
    }

    #[test]
    fn values_are_typed_by_column_metadata() {
        let cols: Vec<ResultColumn> = [
            info("n", "bigint", 19, 0),
            info("amount", "decimal", 18, 2),
            info("ok", "boolean", 0, 0),
            info("ratio", "double", 17, 0),
            info("day", "date", 0, 0),
            info("at", "timestamp", 3, 0),
            info("name", "varchar", 2147483647, 0),
            info("raw", "varbinary", 0, 0),
            info("tags", "array(varchar)", 0, 0),
        ]
        .iter()
        .map(column)
        .collect();
        let types: Vec<&str> = cols.iter().map(|c| c.column.data_type.as_str()).collect();
        assert_eq!(
            types,
            [
                "BIGINT",
                "DECIMAL(18,2)",
                "BOOLEAN",
                "DOUBLE",
                "DATE",
                "TIMESTAMP",
                "VARCHAR",
                "VARBINARY",
                "ARRAY(VARCHAR)"
            ]
        );
        let data: Vec<Datum> = [
            Some("9223372036854775807"),
            Some("12.50"),
            Some("true"),
            Some("NaN"),
            Some("2024-05-27"),
            Some("2024-05-27 13:45:01.123"),
            Some(""),
            Some("68 69"),
            Some("[a, b]"),
        ]
        .into_iter()
        .map(datum)
        .collect();
        let cells = row(&cols, &data);
        assert_eq!(cells[0], Cell::Int(i64::MAX));
        assert_eq!(cells[1], Cell::Decimal("12.50".into()));
        assert_eq!(cells[2], Cell::Bool(true));
        assert!(matches!(cells[3], Cell::Float(f) if f.is_nan()));
        assert_eq!(cells[4], Cell::Date("2024-05-27".into()));
        assert_eq!(cells[5], Cell::Timestamp("2024-05-27 13:45:01.123".into()));
        assert_eq!(
            cells[6],
            Cell::Text(String::new()),
            "empty text is not NULL"
        );
        assert_eq!(cells[7], Cell::Blob(b"hi".to_vec()));
        assert_eq!(cells[8], Cell::Text("[a, b]".into()));
    }

    #[test]
    fn missing_values_are_null_and_short_rows_padded() {
        let cols: Vec<ResultColumn> = [info("a", "integer", 10, 0), info("b", "varchar", 0, 0)]
            .iter()
            .map(column)
            .collect();
        assert_eq!(row(&cols, &[datum(None)]), vec![Cell::Null, Cell::Null]);
        // a value that does not read as its type is kept as text, never lost
        assert_eq!(
            row(&cols, &[datum(Some("x1")), datum(Some("y"))]),
            vec![Cell::Text("x1".into()), Cell::Text("y".into())]
        );
    }
}
