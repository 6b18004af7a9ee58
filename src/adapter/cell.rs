//! Values of query results, exactly as the engine holds them, and the ways they print.
//!
//! A [`Cell`] keeps every value exact: integers of any width (HUGEINT and UHUGEINT included),
//! decimals as their digits with their scale, timestamps to the nanosecond with their offset,
//! blobs as bytes, lists, structs and maps as nested cells. Three renderings:
//!
//! - [`fmt::Display`]: the value as text, for messages and for code that reads catalog values.
//! - [`print_table`]: `kiln show`'s table, laid out as dbt's `show` (agate's `print_table`):
//!   `| a | b |` rows under a `| - | - |` divider, text left-aligned and everything else
//!   right-aligned, NULL as an empty cell, booleans as `True`/`False`, lists and structs as JSON
//!   text, a DOUBLE/FLOAT column in agate's number format (`56,480.900…`: thousands separated,
//!   at most three decimal places, rounded half to even). Unlike agate it never rounds a DECIMAL
//!   or an integer, cuts a wide value or drops columns past the sixth (dbt prints `12,345.679…`
//!   for a DECIMAL and `2024-05-27 13:45:...`; kiln prints the value), and it escapes newlines
//!   and tabs so a multi-line string keeps the table whole.
//! - [`show_json`]: `kiln show --output json`, shaped as dbt's (`{"node": ..., "show": [...]}`,
//!   indented by two), with exact numbers: a DECIMAL(38,10) or a 39-digit HUGEINT is written
//!   digit for digit where dbt writes a rounded float.

use std::fmt::{self, Write as _};

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    /// Every integer that fits 64 bits, whatever its column type.
    Int(i64),
    /// Integers beyond 64 bits (HUGEINT, UBIGINT, UHUGEINT), exact.
    BigInt(i128),
    /// UHUGEINT values beyond `i128`.
    UBigInt(u128),
    /// DOUBLE, and FLOAT widened to it (as dbt's Python floats are).
    Float(f64),
    /// An exact decimal: its digits with its scale, as the engine prints it (`12.50`).
    Decimal(String),
    /// Text, and values that are text to dbt (UUID, TIME, INTERVAL, ENUM, BIT, JSON).
    Text(String),
    /// A DATE, `2024-05-27`.
    Date(String),
    /// A TIMESTAMP (`2024-05-27 13:45:01.123456`) or TIMESTAMPTZ (with `+00:00`), as Python
    /// prints a datetime; nanoseconds are kept when the value has them.
    Timestamp(String),
    Blob(Vec<u8>),
    /// LIST and ARRAY.
    List(Vec<Cell>),
    /// STRUCT: named fields, in order.
    Struct(Vec<(String, Cell)>),
    /// MAP: keys and values, in order.
    Map(Vec<(Cell, Cell)>),
}

impl Cell {
    /// An integer in its narrowest variant ([`Cell::Int`] when it fits 64 bits).
    pub fn integer(i: i128) -> Cell {
        i64::try_from(i).map_or(Cell::BigInt(i), Cell::Int)
    }

    /// An unsigned integer in its narrowest variant.
    pub fn unsigned(u: u128) -> Cell {
        i128::try_from(u).map_or(Cell::UBigInt(u), Cell::integer)
    }

    /// The value as a 64-bit integer, when it is a whole number that fits (counts, flags).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            Cell::BigInt(i) => i64::try_from(*i).ok(),
            Cell::Bool(b) => Some(i64::from(*b)),
            // counts never exceed 2^53, where a float is still exact
            Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Cell::Decimal(s) | Cell::Text(s) => {
                let s = s.trim();
                let whole = s.split_once('.').map_or(Some(s), |(int, frac)| {
                    frac.bytes().all(|b| b == b'0').then_some(int)
                })?;
                whole.parse().ok()
            }
            _ => None,
        }
    }

    /// Whether agate would right-align this value (numbers, booleans, dates, timestamps).
    fn right_aligned(&self) -> bool {
        matches!(
            self,
            Cell::Bool(_)
                | Cell::Int(_)
                | Cell::BigInt(_)
                | Cell::UBigInt(_)
                | Cell::Float(_)
                | Cell::Decimal(_)
                | Cell::Date(_)
                | Cell::Timestamp(_)
        )
    }

    /// The value in a `show` table cell: NULL empty, booleans as Python prints them, nested
    /// values as JSON text, control characters escaped so the row stays on one line.
    pub fn table_text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Bool(true) => "True".into(),
            Cell::Bool(false) => "False".into(),
            Cell::Text(s) => escape_control(s),
            Cell::Float(x) if x.is_nan() => "NaN".into(),
            Cell::Float(x) if x.is_infinite() => if *x > 0.0 { "inf" } else { "-inf" }.into(),
            Cell::Float(x) => python_float(*x),
            Cell::List(_) | Cell::Struct(_) | Cell::Map(_) => {
                let mut out = String::new();
                self.write_nested_json(&mut out);
                escape_control(&out)
            }
            other => other.to_string(),
        }
    }

    /// The value in `show --output json`: numbers as exact JSON numbers, text and temporal
    /// values as strings (timestamps in ISO form, `2024-05-27T13:45:01`), nested values as a
    /// string of JSON, as dbt writes them.
    fn write_show_json(&self, out: &mut String) {
        match self {
            Cell::Timestamp(s) => json_string(out, &s.replacen(' ', "T", 1)),
            Cell::List(_) | Cell::Struct(_) | Cell::Map(_) => {
                let mut nested = String::new();
                self.write_nested_json(&mut nested);
                json_string(out, &nested);
            }
            other => other.write_nested_json(out),
        }
    }

    /// The value as JSON inside a list or struct, with Python's `json.dumps` spacing
    /// (`[1, 2]`, `{"a": 1}`), the way dbt turns nested values into text.
    fn write_nested_json(&self, out: &mut String) {
        match self {
            Cell::Null => out.push_str("null"),
            Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Cell::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Cell::BigInt(i) => {
                let _ = write!(out, "{i}");
            }
            Cell::UBigInt(u) => {
                let _ = write!(out, "{u}");
            }
            Cell::Float(f) if f.is_nan() => out.push_str("NaN"),
            Cell::Float(f) if f.is_infinite() => {
                out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" });
            }
            Cell::Float(f) => out.push_str(&python_float(*f)),
            Cell::Decimal(s) => out.push_str(s),
            Cell::Text(s) | Cell::Date(s) | Cell::Timestamp(s) => json_string(out, s),
            Cell::Blob(b) => json_string(out, &blob_text(b)),
            Cell::List(items) => {
                out.push('[');
                for (i, c) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    c.write_nested_json(out);
                }
                out.push(']');
            }
            Cell::Struct(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    json_string(out, k);
                    out.push_str(": ");
                    v.write_nested_json(out);
                }
                out.push('}');
            }
            Cell::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    // JSON keys are strings: a key of another type is written as its text
                    json_string(out, &k.to_string());
                    out.push_str(": ");
                    v.write_nested_json(out);
                }
                out.push('}');
            }
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::BigInt(i) => write!(f, "{i}"),
            Cell::UBigInt(u) => write!(f, "{u}"),
            Cell::Float(x) => write!(f, "{x}"),
            Cell::Decimal(s) | Cell::Text(s) | Cell::Date(s) | Cell::Timestamp(s) => f.write_str(s),
            Cell::Blob(b) => f.write_str(&blob_text(b)),
            Cell::List(_) | Cell::Struct(_) | Cell::Map(_) => {
                let mut out = String::new();
                self.write_nested_json(&mut out);
                f.write_str(&out)
            }
        }
    }
}

/// A float as Python's `repr` writes it (dbt's values are Python floats): the shortest digits
/// that read back as the same number, `100.0` for whole numbers, and an exponent below 1e-4 and
/// from 1e16 on (`1e-07`, `1e+20`).
pub fn python_float(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e3", "1e20".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let exp = usize::try_from(exp.unsigned_abs()).unwrap_or(0);
        if sci.contains("e-") {
            return format!("{sign}0.{}{digits}", "0".repeat(exp - 1));
        }
        let int_len = exp + 1;
        if digits.len() <= int_len {
            return format!("{sign}{digits}{}.0", "0".repeat(int_len - digits.len()));
        }
        return format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..]);
    }
    let frac = if digits.len() > 1 {
        format!(".{}", &digits[1..])
    } else {
        String::new()
    };
    let exp_sign = if exp < 0 { '-' } else { '+' };
    format!(
        "{sign}{}{frac}e{exp_sign}{:02}",
        &digits[..1],
        exp.unsigned_abs()
    )
}

/// A blob as DuckDB writes it: printable ASCII as is, every other byte (and the backslash) as
/// `\xAB`, so the text reads back as the same blob.
pub fn blob_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for b in bytes {
        if (b.is_ascii_graphic() || *b == b' ') && *b != b'\\' {
            out.push(char::from(*b));
        } else {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// Newlines, tabs and other control characters as escapes (`\n`, `\t`, `\u{1b}`), so a value
/// prints on one line of a table.
fn escape_control(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

fn json_string(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// A query's result: columns and rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<super::Column>,
    pub rows: Vec<Vec<Cell>>,
}

/// Text laid out as agate's `print_table` does (the layout dbt uses for `show` and for its
/// contract errors): a header row, a divider of dashes, then the rows; each column as wide as
/// its widest value, left-aligned unless `right[i]`.
pub fn text_grid(headers: &[String], rows: &[Vec<String>], right: &[bool]) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|v| v.chars().count())
                .chain([h.chars().count(), 1])
                .max()
                .unwrap_or(1)
        })
        .collect();
    let line = |values: &[String]| -> String {
        let parts: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                let v = values.get(i).map_or("", String::as_str);
                if right.get(i).copied().unwrap_or(false) {
                    format!("{v:>w$}")
                } else {
                    format!("{v:<w$}")
                }
            })
            .collect();
        format!("| {} |", parts.join(" | "))
    };
    let mut out = vec![line(headers)];
    out.push(format!(
        "| {} |",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n")
}

/// Rows as `kiln show` prints them (see the module docs). A column is right-aligned when every
/// value in it is a number, boolean, date or timestamp, as agate decides from the values.
pub fn print_table(rows: &Rows) -> String {
    let headers: Vec<String> = rows.columns.iter().map(|c| c.name.clone()).collect();
    let right: Vec<bool> = (0..headers.len())
        .map(|i| {
            let mut values = rows.rows.iter().filter_map(|r| r.get(i));
            values.all(|c| *c == Cell::Null || c.right_aligned())
        })
        .collect();
    // agate's number format for a DOUBLE/FLOAT column: as many decimal places as its most
    // precise value, at most three (then `…` after every value).
    let float_places: Vec<Option<usize>> = (0..headers.len())
        .map(|i| {
            let values = rows.rows.iter().filter_map(|r| r.get(i));
            if !values
                .clone()
                .all(|c| matches!(c, Cell::Null | Cell::Float(_)))
            {
                return None;
            }
            Some(
                values
                    .filter_map(|c| match c {
                        Cell::Float(x) if x.is_finite() => Some(ShortestDecimal::of(*x).places()),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0),
            )
        })
        .collect();
    let cells: Vec<Vec<String>> = rows
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, c)| match (c, float_places.get(i).copied().flatten()) {
                    (Cell::Float(x), Some(places)) => agate_number(*x, places),
                    _ => c.table_text(),
                })
                .collect()
        })
        .collect();
    text_grid(&headers, &cells, &right)
}

/// Most decimal places agate prints of a number; past them it rounds and adds `…`.
const MAX_PLACES: usize = 3;

/// A float as Python's `repr` writes it, read as the decimal agate makes of it
/// (`Decimal(repr(x))`): the integer `digits` times ten to the power `-scale`.
struct ShortestDecimal {
    negative: bool,
    digits: Vec<u8>,
    scale: i64,
}

impl ShortestDecimal {
    fn of(x: f64) -> Self {
        let repr = python_float(x);
        let (negative, repr) = match repr.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, repr.as_str()),
        };
        let (mantissa, exponent) = repr
            .split_once('e')
            .map_or((repr, 0), |(m, e)| (m, e.parse::<i64>().unwrap_or(0)));
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        ShortestDecimal {
            negative,
            digits,
            scale: frac.len() as i64 - exponent,
        }
    }

    /// Its decimal places once trailing zeros are dropped (`Decimal.normalize()`).
    fn places(&self) -> usize {
        let trailing = self.digits.iter().rev().take_while(|d| **d == 0).count() as i64;
        if trailing as usize == self.digits.len() {
            return 0;
        }
        usize::try_from(self.scale - trailing).unwrap_or(0)
    }

    /// Its digits rounded half to even to `places` decimal places (babel's quantize), as the
    /// integer part and the fraction.
    fn rounded(&self, places: usize) -> (String, String) {
        let mut digits = self.digits.clone();
        let mut scale = self.scale;
        if scale < 0 {
            digits.extend(std::iter::repeat_n(0, scale.unsigned_abs() as usize));
            scale = 0;
        }
        let scale = scale as usize;
        if digits.len() <= scale {
            let zeros = scale + 1 - digits.len();
            digits.splice(0..0, std::iter::repeat_n(0, zeros));
        }
        if scale <= places {
            digits.extend(std::iter::repeat_n(0, places - scale));
        } else {
            let cut = digits.len() - (scale - places);
            let dropped = digits.split_off(cut);
            let first = dropped.first().copied().unwrap_or(0);
            let rest_nonzero = dropped.iter().skip(1).any(|d| *d != 0);
            let odd = digits.last().is_some_and(|d| d % 2 == 1);
            if first > 5 || (first == 5 && (rest_nonzero || odd)) {
                let mut i = digits.len();
                loop {
                    if i == 0 {
                        digits.insert(0, 1);
                        break;
                    }
                    i -= 1;
                    if digits[i] == 9 {
                        digits[i] = 0;
                    } else {
                        digits[i] += 1;
                        break;
                    }
                }
            }
        }
        while digits.len() <= places {
            digits.insert(0, 0);
        }
        let frac = digits.split_off(digits.len() - places);
        let mut int: Vec<u8> = digits.into_iter().skip_while(|d| *d == 0).collect();
        if int.is_empty() {
            int.push(0);
        }
        let text = |ds: &[u8]| ds.iter().map(|d| char::from(b'0' + d)).collect::<String>();
        (text(&int), text(&frac))
    }
}

/// A float in a `show` table column of `places` decimal places (its most precise value's), as
/// agate's `print_table` formats it (babel's `#,##0.000…`): thousands separated by commas,
/// rounded half to even to at most three places, `…` when the column has more, infinities as
/// Python's `Decimal` prints them and NaN with the column's fraction, as babel writes them.
fn agate_number(x: f64, places: usize) -> String {
    let shown = places.min(MAX_PLACES);
    let ellipsis = if places > MAX_PLACES { "…" } else { "" };
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let fraction = |f: &str| {
        if shown == 0 {
            String::new()
        } else {
            format!(".{f}")
        }
    };
    if x.is_nan() {
        return format!("NaN{}{ellipsis}", fraction(&"0".repeat(shown)));
    }
    let d = ShortestDecimal::of(x);
    let (int, frac) = d.rounded(shown);
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if d.negative { "-" } else { "" };
    format!("{sign}{grouped}{}{ellipsis}", fraction(&frac))
}

/// Rows as `kiln show --output json` prints them: `{"show": [...]}` for `--inline`, with
/// `"node"` first for a selected node, indented by two as Python's `json.dumps(indent=2)`.
pub fn show_json(node: Option<&str>, rows: &Rows) -> String {
    let mut out = String::from("{\n");
    if let Some(node) = node {
        out.push_str("  \"node\": ");
        json_string(&mut out, node);
        out.push_str(",\n");
    }
    out.push_str("  \"show\": ");
    if rows.rows.is_empty() {
        out.push_str("[]\n}");
        return out;
    }
    out.push_str("[\n");
    for (i, row) in rows.rows.iter().enumerate() {
        out.push_str("    {\n");
        for (j, (column, cell)) in rows.columns.iter().zip(row).enumerate() {
            out.push_str("      ");
            json_string(&mut out, &column.name);
            out.push_str(": ");
            cell.write_show_json(&mut out);
            out.push_str(if j + 1 < row.len() { ",\n" } else { "\n" });
        }
        out.push_str(if i + 1 < rows.rows.len() {
            "    },\n"
        } else {
            "    }\n"
        });
    }
    out.push_str("  ]\n}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::Column;

    #[test]
    fn floats_print_as_python_does() {
        for (x, want) in [
            (2.71, "2.71"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e20, "1e+20"),
            (1e-7, "1e-07"),
            (100.0, "100.0"),
            (-1.5, "-1.5"),
            (0.0001, "0.0001"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.5e-10, "1.5e-10"),
            (f64::from(0.1f32), "0.10000000149011612"),
        ] {
            assert_eq!(python_float(x), want, "{x}");
        }
    }

    #[test]
    fn integers_take_their_narrowest_variant() {
        assert_eq!(Cell::integer(5), Cell::Int(5));
        assert_eq!(Cell::integer(i128::MAX), Cell::BigInt(i128::MAX));
        assert_eq!(Cell::unsigned(u128::MAX), Cell::UBigInt(u128::MAX));
        assert_eq!(Cell::unsigned(7), Cell::Int(7));
        assert_eq!(Cell::Decimal("12.000".into()).as_i64(), Some(12));
        assert_eq!(Cell::Decimal("12.5".into()).as_i64(), None);
    }

    #[test]
    fn table_and_json() {
        let col = |n: &str| Column {
            name: n.into(),
            data_type: String::new(),
            comment: None,
        };
        let rows = Rows {
            columns: vec![col("id"), col("note"), col("tags"), col("at")],
            rows: vec![
                vec![
                    Cell::Int(1),
                    Cell::Text("two\nlines\tand a tab".into()),
                    Cell::List(vec![Cell::Int(1), Cell::Null]),
                    Cell::Timestamp("2024-05-27 13:45:01".into()),
                ],
                vec![Cell::BigInt(i128::MAX), Cell::Null, Cell::Null, Cell::Null],
            ],
        };
        insta::assert_snapshot!(print_table(&rows), @r"
        |                                      id | note                  | tags      |                  at |
        | --------------------------------------- | --------------------- | --------- | ------------------- |
        |                                       1 | two\nlines\tand a tab | [1, null] | 2024-05-27 13:45:01 |
        | 170141183460469231731687303715884105727 |                       |           |                     |
        ");
        insta::assert_snapshot!(show_json(Some("orders"), &rows), @r#"
        {
          "node": "orders",
          "show": [
            {
              "id": 1,
              "note": "two\nlines\tand a tab",
              "tags": "[1, null]",
              "at": "2024-05-27T13:45:01"
            },
            {
              "id": 170141183460469231731687303715884105727,
              "note": null,
              "tags": null,
              "at": null
            }
          ]
        }
        "#);
    }
}
