//! Query results as Jinja values, shaped like the agate tables dbt hands to macros: what
//! `run_query()`, `load_result(...).table` and `adapter.execute(..., fetch=True)` return, the
//! response of a statement (`AdapterResponse`), and the columns of `adapter.get_columns_in_relation`.
//!
//! A [`Table`] has `rows` (each row indexable by position and by column name, iterable, with
//! `values()`/`keys()`/`items()`/`get()`), `columns` (indexable by position and by name; each with
//! `name`, `data_type` and `values()`), `column_names` and `column_types`; iterating the table
//! yields its rows and `table | length` counts them. Cells become Jinja values: exact decimals turn
//! into numbers so that arithmetic works, NULL becomes `none`, dates and timestamps are text.

use crate::adapter::{Cell, Rows, TypeClass};
use minijinja::value::{DynObject, Enumerator, Kwargs, Object, ObjectRepr, Value, from_args};
use minijinja::{Error, ErrorKind, State};
use std::fmt;
use std::sync::Arc;

/// One cell as a Jinja value, exact: integers of any width stay integers, a decimal becomes a
/// number when a float holds it exactly and an exact [`Decimal`] otherwise, dates and timestamps
/// are their text as Python prints them (what `{{ value }}` renders in dbt), blobs are bytes,
/// lists, structs and maps are lists and maps.
pub fn cell_value(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::from(()),
        Cell::Bool(b) => Value::from(*b),
        Cell::Int(i) => Value::from(*i),
        Cell::BigInt(i) => Value::from(*i),
        Cell::UBigInt(u) => Value::from(*u),
        Cell::Float(x) => Value::from(*x),
        Cell::Decimal(s) => decimal_value(s),
        Cell::Text(s) | Cell::Date(s) | Cell::Timestamp(s) => Value::from(s.as_str()),
        Cell::Blob(b) => Value::from_bytes(b.clone()),
        Cell::List(items) => Value::from(items.iter().map(cell_value).collect::<Vec<_>>()),
        Cell::Struct(fields) => {
            Value::from_pairs(fields.iter().map(|(k, v)| (k.clone(), cell_value(v))))
        }
        Cell::Map(entries) => {
            Value::from_pairs(entries.iter().map(|(k, v)| (cell_value(k), cell_value(v))))
        }
    }
}

/// An exact number printed by the engine: an integer when it has no fractional digits (of any
/// width), a float when the float reads back as exactly this number (so arithmetic and
/// comparisons work), and otherwise an exact [`Decimal`] that renders every digit.
fn decimal_value(s: &str) -> Value {
    let t = s.trim();
    if !t.contains('.') {
        if let Ok(i) = t.parse::<i64>() {
            return Value::from(i);
        }
        if let Ok(i) = t.parse::<i128>() {
            return Value::from(i);
        }
        if let Ok(u) = t.parse::<u128>() {
            return Value::from(u);
        }
    }
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() && same_number(t, &crate::adapter::python_float(x)) => {
            Value::from(x)
        }
        _ => Value::from_object(Decimal(t.to_string())),
    }
}

/// Whether two decimal texts are the same number (`12.50` and `12.5`, `3` and `3.0`); the second
/// may carry a Python-style exponent, in which case they are compared as written.
fn same_number(a: &str, b: &str) -> bool {
    fn canonical(s: &str) -> String {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let frac = frac.trim_end_matches('0');
        let (sign, int) = int.strip_prefix('-').map_or(("", int), |i| ("-", i));
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        let sign = if int == "0" && frac.is_empty() {
            ""
        } else {
            sign
        };
        format!("{sign}{int}.{frac}")
    }
    !b.contains('e') && canonical(a) == canonical(b)
}

/// A decimal a float cannot hold exactly (more than 15 significant digits): it renders every
/// digit, as dbt's Python `Decimal` does, so it can go back into SQL unchanged. Jinja has no
/// exact decimal arithmetic: `value | string | float` gives the nearest float.
#[derive(Debug, Clone, PartialEq)]
pub struct Decimal(pub String);

impl Object for Decimal {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<std::cmp::Ordering> {
        let other = other.downcast_ref::<Decimal>()?;
        Some(cmp_decimal(&self.0, &other.0))
    }
}

/// Orders two plain decimal texts exactly (no exponent; `-` for negatives).
fn cmp_decimal(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn parts(s: &str) -> (bool, &str, &str) {
        let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        let zero = int.is_empty() && frac.is_empty();
        (neg && !zero, int, frac)
    }
    let (na, ia, fa) = parts(a.trim());
    let (nb, ib, fb) = parts(b.trim());
    let magnitude = ia
        .len()
        .cmp(&ib.len())
        .then_with(|| ia.cmp(ib))
        .then_with(|| fa.cmp(fb));
    match (na, nb) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
    }
}

#[derive(Debug)]
struct Data {
    names: Vec<String>,
    types: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Data {
    /// A column's position: its exact name first, then ignoring case (engines fold names).
    fn position(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .or_else(|| self.names.iter().position(|n| n.eq_ignore_ascii_case(name)))
    }

    /// A position from a Jinja key (an integer, negative counting from the end) or a name.
    fn column_index(&self, key: &Value) -> Option<usize> {
        match key.as_str() {
            Some(name) => self.position(name),
            None => index(key, self.names.len()),
        }
    }
}

fn index(key: &Value, len: usize) -> Option<usize> {
    let i = key.as_i64()?;
    let i = if i < 0 {
        len.checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
    } else {
        usize::try_from(i).ok()?
    };
    (i < len).then_some(i)
}

fn no_method(what: &str, method: &str) -> Error {
    Error::new(
        ErrorKind::UnknownMethod,
        format!("{what} has no method '{method}'"),
    )
}

/// `get(key, default=none)` of agate's mapped sequences.
fn get_or_default(found: Option<Value>, args: &[Value]) -> Result<Value, Error> {
    let (_key, default): (Value, Option<Value>) = from_args(args)?;
    Ok(found.or(default).unwrap_or(Value::from(())))
}

/// A query result (agate's `Table`).
#[derive(Debug, Clone)]
pub struct Table(Arc<Data>);

impl Table {
    pub fn new(rows: &Rows) -> Self {
        Table(Arc::new(Data {
            names: rows.columns.iter().map(|c| c.name.clone()).collect(),
            types: rows.columns.iter().map(|c| c.data_type.clone()).collect(),
            rows: rows
                .rows
                .iter()
                .map(|r| r.iter().map(cell_value).collect())
                .collect(),
        }))
    }

    /// A table without columns or rows (what a statement that fetched nothing stores).
    pub fn empty() -> Self {
        Table::new(&Rows::default())
    }

    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }

    pub fn len(&self) -> usize {
        self.0.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.rows.is_empty()
    }

    pub fn column_names(&self) -> &[String] {
        &self.0.names
    }

    /// The rows as lists of values (dbt's `as_matrix`: the `data` of a stored result).
    pub fn matrix(&self) -> Value {
        Value::from(
            self.0
                .rows
                .iter()
                .map(|r| Value::from(r.clone()))
                .collect::<Vec<_>>(),
        )
    }

    fn row(&self, i: usize) -> Value {
        Value::from_object(Row {
            data: self.0.clone(),
            index: i,
        })
    }

    fn rows_value(&self) -> Value {
        Value::from_object(TableRows(self.0.clone()))
    }

    fn columns_value(&self) -> Value {
        Value::from_object(TableColumns(self.0.clone()))
    }
}

impl Object for Table {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(name) = key.as_str() {
            return Some(match name {
                "rows" => self.rows_value(),
                "columns" => self.columns_value(),
                "column_names" => Value::from(self.0.names.clone()),
                "column_types" => Value::from(self.0.types.clone()),
                _ => return None,
            });
        }
        index(key, self.0.rows.len()).map(|i| self.row(i))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.rows.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "print_table" => {
                let (max_rows, max_columns, kwargs): (Option<Value>, Option<Value>, Kwargs) =
                    from_args(args)?;
                let limit = |v: Option<Value>, default: usize| match v {
                    Some(v) if v.is_none() => usize::MAX,
                    Some(v) => v
                        .as_i64()
                        .and_then(|i| usize::try_from(i).ok())
                        .unwrap_or(default),
                    None => default,
                };
                let max_rows = limit(max_rows.or(kwargs.get("max_rows")?), 20);
                let max_columns = limit(max_columns.or(kwargs.get("max_columns")?), 6);
                let max_width = limit(kwargs.get("max_column_width")?, 20);
                let precision = limit(kwargs.get("max_precision")?, 3);
                let _: Option<Value> = kwargs.get("output")?;
                let _: Option<Value> = kwargs.get("locale")?;
                kwargs.assert_all_used()?;
                crate::events::print_raw(&print_table(
                    &self.0,
                    max_rows,
                    max_columns,
                    max_width,
                    precision,
                ));
                Ok(Value::from(""))
            }
            "print_csv" | "print_json" | "print_bars" => Ok(Value::from("")),
            _ => Err(no_method("a query result table", method)),
        }
    }
}

/// How agate's `print_table` lays a column out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    /// Numbers: right-aligned, with as many decimals as the column needs.
    Number,
    /// Text: left-aligned.
    Text,
    /// Dates, times, booleans: right-aligned as they are.
    Other,
}

fn align_of(data_type: &str) -> Align {
    let t = data_type.to_ascii_lowercase();
    let t = t.split('(').next().unwrap_or("").trim();
    if t.contains("int")
        || matches!(t, "decimal" | "numeric" | "double" | "float" | "real")
        || t.starts_with("float")
    {
        Align::Number
    } else if matches!(
        t,
        "varchar" | "text" | "string" | "char" | "bpchar" | "uuid" | ""
    ) {
        Align::Text
    } else {
        Align::Other
    }
}

/// A number as its shortest exact decimal text (`2.5`, `-10.25`, `12`).
fn number_text(v: &Value) -> Option<String> {
    if let Some(i) = v.as_i64() {
        return Some(i.to_string());
    }
    match v.kind() {
        minijinja::value::ValueKind::Number => {
            let s = v.to_string();
            // minijinja prints floats with a trailing `.0`; agate's Decimal drops it.
            Some(s.strip_suffix(".0").map(str::to_string).unwrap_or(s))
        }
        _ => None,
    }
}

/// Decimal places a number's text has (`2.5` → 1).
fn decimal_places(text: &str) -> usize {
    text.split_once('.')
        .map_or(0, |(_, f)| f.trim_end_matches('0').len())
}

/// `text` rounded half to even at `places` decimals and grouped by thousands, as babel's
/// `#,##0.00` pattern writes it; `…` appended when the column's precision was cut.
fn format_number(text: &str, places: usize, cut: bool) -> String {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut all: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let mut kept_frac = frac.len();
    if frac.len() > places {
        let rest = &frac.as_bytes()[places..];
        let first = rest[0] - b'0';
        let tail = rest[1..].iter().any(|b| *b != b'0');
        all.truncate(int.len() + places);
        let last_odd = all.last().is_some_and(|d| d % 2 == 1);
        if first > 5 || (first == 5 && (tail || last_odd)) {
            let mut i = all.len();
            loop {
                if i == 0 {
                    all.insert(0, 1);
                    break;
                }
                i -= 1;
                if all[i] == 9 {
                    all[i] = 0;
                } else {
                    all[i] += 1;
                    break;
                }
            }
        }
        kept_frac = places;
    }
    let split = all.len() - kept_frac;
    let int_digits: String = all[..split].iter().map(|d| char::from(b'0' + d)).collect();
    let mut frac_digits: String = all[split..].iter().map(|d| char::from(b'0' + d)).collect();
    while frac_digits.len() < places {
        frac_digits.push('0');
    }
    let int_digits = int_digits.trim_start_matches('0');
    let int_digits = if int_digits.is_empty() {
        "0"
    } else {
        int_digits
    };
    let mut grouped = String::new();
    for (i, c) in int_digits.chars().enumerate() {
        if i > 0 && (int_digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let mut out = format!("{}{grouped}", if neg { "-" } else { "" });
    if places > 0 {
        out.push('.');
        out.push_str(&frac_digits);
    }
    if cut {
        out.push('…');
    }
    out
}

/// A query result as agate's `print_table` prints it (what `result.print_table()` shows in dbt):
/// a Markdown table of at most `max_rows` rows and `max_columns` columns, cells cut to
/// `max_width` characters, numbers right-aligned with the column's decimals (at most
/// `precision`, then `…`).
fn print_table(
    data: &Data,
    max_rows: usize,
    max_columns: usize,
    max_width: usize,
    precision: usize,
) -> String {
    let cut = |s: String| -> String {
        if s.chars().count() > max_width {
            let keep = max_width.saturating_sub(3);
            format!("{}...", s.chars().take(keep).collect::<String>())
        } else {
            s
        }
    };
    let shown_cols = data.names.len().min(max_columns);
    let cols_cut = data.names.len() > max_columns;
    let shown_rows = data.rows.len().min(max_rows);
    let aligns: Vec<Align> = (0..data.names.len())
        .map(|j| data.types.get(j).map_or(Align::Text, |t| align_of(t)))
        .collect();
    // Decimal places per number column, over the rows shown.
    let places: Vec<(usize, bool)> = (0..shown_cols)
        .map(|j| {
            let p = data.rows[..shown_rows]
                .iter()
                .filter_map(|r| r.get(j).and_then(number_text))
                .map(|t| decimal_places(&t))
                .max()
                .unwrap_or(0);
            (p.min(precision), p > precision)
        })
        .collect();
    let mut header: Vec<String> = data.names[..shown_cols]
        .iter()
        .map(|n| cut(n.clone()))
        .collect();
    if cols_cut {
        header.push("...".into());
    }
    let mut body: Vec<Vec<String>> = vec![];
    for row in &data.rows[..shown_rows] {
        let mut cells = vec![];
        for j in 0..shown_cols {
            let v = row.get(j).cloned().unwrap_or(Value::from(()));
            let text = if v.is_none() || v.is_undefined() {
                String::new()
            } else if aligns[j] == Align::Number
                && let Some(t) = number_text(&v)
            {
                format_number(&t, places[j].0, places[j].1)
            } else if v.kind() == minijinja::value::ValueKind::Bool {
                if v.is_true() { "True" } else { "False" }.to_string()
            } else {
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            };
            cells.push(cut(text));
        }
        if cols_cut {
            cells.push("...".into());
        }
        body.push(cells);
    }
    if data.rows.len() > max_rows {
        body.push(vec!["...".to_string(); header.len()]);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &body {
        for (j, c) in r.iter().enumerate() {
            widths[j] = widths[j].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let pad = " ".repeat(widths[j].saturating_sub(c.chars().count()));
                if aligns.get(j).copied().unwrap_or(Align::Text) == Align::Text {
                    format!(" {c}{pad} ")
                } else {
                    format!(" {pad}{c} ")
                }
            })
            .collect();
        format!("|{}|", parts.join("|"))
    };
    let mut out = vec![line(&header)];
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push(format!("| {} |", dashes.join(" | ")));
    out.extend(body.iter().map(|r| line(r)));
    out.join("\n")
}

/// `table.rows`.
#[derive(Debug)]
struct TableRows(Arc<Data>);

impl Object for TableRows {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        index(key, self.0.rows.len()).map(|i| {
            Value::from_object(Row {
                data: self.0.clone(),
                index: i,
            })
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.rows.len())
    }
}

/// One row: a sequence of values that can also be looked up by column name (`row['id']`,
/// `row.id`).
#[derive(Debug)]
struct Row {
    data: Arc<Data>,
    index: usize,
}

impl Row {
    fn cells(&self) -> &[Value] {
        self.data.rows.get(self.index).map_or(&[], Vec::as_slice)
    }
}

impl Object for Row {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = self.data.column_index(key)?;
        self.cells().get(i).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.cells().to_vec())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "values" => Ok(Value::from(self.cells().to_vec())),
            "keys" => Ok(Value::from(self.data.names.clone())),
            "items" => Ok(Value::from(
                self.data
                    .names
                    .iter()
                    .zip(self.cells())
                    .map(|(n, v)| Value::from(vec![Value::from(n.as_str()), v.clone()]))
                    .collect::<Vec<_>>(),
            )),
            "dict" => Ok(Value::from_pairs(
                self.data.names.iter().cloned().zip(self.cells().to_vec()),
            )),
            "get" => {
                let key = args.first().cloned().unwrap_or_default();
                get_or_default(self.get_value(&key), args)
            }
            _ => Err(no_method("a result row", method)),
        }
    }
}

/// `table.columns`: indexable by position and by name.
#[derive(Debug)]
struct TableColumns(Arc<Data>);

impl TableColumns {
    fn column(&self, i: usize) -> Value {
        Value::from_object(TableColumn {
            data: self.0.clone(),
            index: i,
        })
    }
}

impl Object for TableColumns {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.column_index(key).map(|i| self.column(i))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.names.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "keys" => Ok(Value::from(self.0.names.clone())),
            "values" => Ok(Value::from(
                (0..self.0.names.len())
                    .map(|i| self.column(i))
                    .collect::<Vec<_>>(),
            )),
            "items" => Ok(Value::from(
                self.0
                    .names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| Value::from(vec![Value::from(n.as_str()), self.column(i)]))
                    .collect::<Vec<_>>(),
            )),
            "get" => {
                let key = args.first().cloned().unwrap_or_default();
                get_or_default(self.get_value(&key), args)
            }
            _ => Err(no_method("a table's columns", method)),
        }
    }
}

/// One column of a result: `name`, `data_type`, `values()`.
#[derive(Debug)]
struct TableColumn {
    data: Arc<Data>,
    index: usize,
}

impl TableColumn {
    fn values(&self) -> Vec<Value> {
        self.data
            .rows
            .iter()
            .map(|r| r.get(self.index).cloned().unwrap_or_default())
            .collect()
    }
}

impl Object for TableColumn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(name) = key.as_str() {
            return match name {
                "name" => self
                    .data
                    .names
                    .get(self.index)
                    .map(|n| Value::from(n.as_str())),
                "data_type" => self
                    .data
                    .types
                    .get(self.index)
                    .map(|t| Value::from(t.as_str())),
                _ => None,
            };
        }
        let i = index(key, self.data.rows.len())?;
        self.data.rows.get(i)?.get(self.index).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.values())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "values" => Ok(Value::from(self.values())),
            "values_without_nulls" => Ok(Value::from(
                self.values()
                    .into_iter()
                    .filter(|v| !v.is_none())
                    .collect::<Vec<_>>(),
            )),
            "values_distinct" => {
                let mut seen: Vec<Value> = vec![];
                for v in self.values() {
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                Ok(Value::from(seen))
            }
            _ => Err(no_method("a result column", method)),
        }
    }
}

/// A database result while parsing, when nothing runs (`execute` is false). Like dbt's
/// parse-time undefined, every attribute, item and method of it is itself; it iterates as
/// empty, has length 0, is false and renders as nothing. So a model that reads
/// `run_query(...).columns[0].values()` without an `{% if execute %}` guard parses, as in dbt.
#[derive(Debug)]
pub struct ParsePlaceholder;

impl ParsePlaceholder {
    pub fn value() -> Value {
        Value::from_object(ParsePlaceholder)
    }
}

impl Object for ParsePlaceholder {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        Some(ParsePlaceholder::value())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Empty
    }

    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        Ok(ParsePlaceholder::value())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        _method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        Ok(ParsePlaceholder::value())
    }

    fn render(self: &Arc<Self>, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

/// What a statement reports (dbt's `AdapterResponse`): renders as its message; `_message`,
/// `code` and `rows_affected` as attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdapterResponse {
    pub message: String,
    pub code: Option<String>,
    pub rows_affected: Option<i64>,
}

impl AdapterResponse {
    /// The response to `sql` that returned `rows`: `OK`, the last statement's command tag as its
    /// code ([`crate::sql::command_tag`], read from its tree in `dialect`), and for
    /// `insert`/`update`/`delete`/`merge`/`copy` the number of rows they changed, `counted` as
    /// the engine reads it from what the statement returned (`Adapter::rows_affected`).
    pub fn for_statement(
        sql: &str,
        dialect: &dyn sqlparser::dialect::Dialect,
        counted: Option<i64>,
    ) -> Self {
        let tag = crate::sql::command_tag(sql, dialect);
        let dml = matches!(
            tag.as_str(),
            "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "COPY"
        );
        let rows_affected = if dml { counted } else { None };
        AdapterResponse {
            message: "OK".into(),
            code: (!tag.is_empty()).then_some(tag),
            rows_affected,
        }
    }

    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }
}

/// Whether `sql` holds no statement at all (only whitespace, comments and semicolons): such SQL
/// is not sent to the database, which would reject it.
pub fn is_blank_sql(sql: &str) -> bool {
    let mut s = sql;
    loop {
        let rest = strip_comments(s).trim_start_matches(|c: char| c == ';' || c.is_whitespace());
        if rest.is_empty() {
            return true;
        }
        if rest.len() == s.len() {
            return false;
        }
        s = rest;
    }
}

/// `sql` without its leading comments.
fn strip_comments(sql: &str) -> &str {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            return s;
        }
    }
}

impl fmt::Display for AdapterResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Object for AdapterResponse {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "_message" | "message" => Value::from(self.message.as_str()),
            "code" => self.code.as_deref().map_or(Value::from(()), Value::from),
            "rows_affected" => self.rows_affected.map_or(Value::from(()), Value::from),
            "query_id" => Value::from(()),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["_message", "code", "rows_affected"])
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A column of a relation (dbt's `Column`), from `adapter.get_columns_in_relation`: `name` (also
/// `column`), `quoted`, `data_type`, `dtype`, `char_size`, `numeric_precision`, `numeric_scale`,
/// and the `is_string()`/`is_number()`/... tests. Types are classified by their base name, in
/// the engine's spelling (`VARCHAR`, `DECIMAL(18,2)`, `BIGINT`...).
#[derive(Debug, Clone, PartialEq)]
pub struct RelationColumn {
    pub name: String,
    /// The type as the catalog shows it, e.g. `DECIMAL(18,2)`.
    pub data_type: String,
    pub quote_char: char,
    /// What the type holds, as the engine classifies its type names.
    pub class: crate::adapter::TypeClass,
}

impl RelationColumn {
    pub fn new(column: &crate::adapter::Column, adapter: &dyn crate::adapter::Adapter) -> Self {
        RelationColumn {
            name: column.name.clone(),
            data_type: column.data_type.clone(),
            quote_char: adapter.quote_char(),
            class: adapter.type_class(&column.data_type),
        }
    }

    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }

    /// The numbers in the type's parentheses: `DECIMAL(18,2)` → [18, 2].
    fn params(&self) -> Vec<u32> {
        let Some((_, rest)) = self.data_type.split_once('(') else {
            return vec![];
        };
        rest.split(')')
            .next()
            .unwrap_or("")
            .split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect()
    }

    pub fn quoted(&self) -> String {
        let q = self.quote_char;
        format!("{q}{}{q}", self.name.replace(q, &format!("{q}{q}")))
    }

    pub fn is_string(&self) -> bool {
        self.class == TypeClass::Text
    }

    pub fn is_integer(&self) -> bool {
        self.class == TypeClass::Integer
    }

    pub fn is_float(&self) -> bool {
        self.class == TypeClass::Float
    }

    pub fn is_numeric(&self) -> bool {
        self.class == TypeClass::Decimal
    }

    pub fn is_number(&self) -> bool {
        self.is_integer() || self.is_float() || self.is_numeric()
    }

    /// The declared length of a string column (256 when none is declared, as dbt).
    pub fn string_size(&self) -> Option<u32> {
        self.is_string()
            .then(|| self.params().first().copied().unwrap_or(256))
    }
}

impl Object for RelationColumn {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let params = || self.params();
        Some(match key.as_str()? {
            "name" | "column" => Value::from(self.name.as_str()),
            "quoted" => Value::from(self.quoted()),
            "data_type" | "dtype" => Value::from(self.data_type.as_str()),
            "char_size" if self.is_string() => params()
                .first()
                .map_or(Value::from(()), |n| Value::from(*n)),
            "numeric_precision" if self.is_numeric() => params()
                .first()
                .map_or(Value::from(()), |n| Value::from(*n)),
            "numeric_scale" if self.is_numeric() => {
                params().get(1).map_or(Value::from(()), |n| Value::from(*n))
            }
            "char_size" | "numeric_precision" | "numeric_scale" => Value::from(()),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["name", "data_type", "dtype", "quoted"])
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Column {} ({})>", self.name, self.data_type)
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "is_string" => Ok(Value::from(self.is_string())),
            "is_number" => Ok(Value::from(self.is_number())),
            "is_integer" => Ok(Value::from(self.is_integer())),
            "is_float" => Ok(Value::from(self.is_float())),
            "is_numeric" => Ok(Value::from(self.is_numeric())),
            "string_size" => self.string_size().map(Value::from).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!(
                        "string_size() called on column '{}', which is not a string ({})",
                        self.name, self.data_type
                    ),
                )
            }),
            "literal" => {
                let (value, _kwargs): (Value, Kwargs) = from_args(args)?;
                Ok(Value::from(format!("cast({value} as {})", self.data_type)))
            }
            _ => Err(no_method("a column", method)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::Column;
    use minijinja::Environment;

    fn sample() -> Rows {
        let col = |name: &str, t: &str| Column {
            name: name.into(),
            data_type: t.into(),
            comment: None,
        };
        Rows {
            columns: vec![
                col("id", "INTEGER"),
                col("amount", "DECIMAL(10,2)"),
                col("label", "VARCHAR"),
            ],
            rows: vec![
                vec![
                    Cell::Int(1),
                    Cell::Decimal("2.50".into()),
                    Cell::Text("a".into()),
                ],
                vec![Cell::Int(2), Cell::Decimal("7".into()), Cell::Null],
            ],
        }
    }

    fn render(tmpl: &str, value: Value) -> String {
        let env = Environment::new();
        env.render_str(tmpl, minijinja::context! { t => value })
            .unwrap_or_else(|e| panic!("render {tmpl}: {e:#}"))
    }

    #[test]
    fn rows_by_position_and_name() {
        let t = Table::new(&sample()).into_value();
        assert_eq!(render("{{ t.rows[0][0] }}", t.clone()), "1");
        assert_eq!(render("{{ t.rows[0]['label'] }}", t.clone()), "a");
        assert_eq!(render("{{ t.rows[1].label is none }}", t.clone()), "True");
        assert_eq!(render("{{ t.rows[-1][0] }}", t.clone()), "2");
        assert_eq!(
            render("{{ t.rows[0].values() }}", t.clone()),
            "[1, 2.5, 'a']"
        );
        assert_eq!(
            render("{{ t.rows[0].keys() }}", t.clone()),
            "['id', 'amount', 'label']"
        );
        assert_eq!(render("{{ t.rows[0].get('nope', 'x') }}", t.clone()), "x");
        assert_eq!(
            render(
                "{% for r in t %}{% for v in r %}{{ v }},{% endfor %};{% endfor %}",
                t.clone()
            ),
            "1,2.5,a,;2,7,None,;"
        );
        assert_eq!(
            render("{{ t | length }} {{ t.rows | length }}", t.clone()),
            "2 2"
        );
        assert_eq!(render("{{ t.rows[5] is undefined }}", t), "True");
    }

    #[test]
    fn decimals_are_numbers() {
        let t = Table::new(&sample()).into_value();
        assert_eq!(render("{{ t.rows[0].amount * 2 }}", t.clone()), "5.0");
        assert_eq!(render("{{ t.rows[1].amount + 1 }}", t.clone()), "8");
        assert_eq!(render("{{ t.columns['amount'].values() | sum }}", t), "9.5");
        assert_eq!(
            decimal_value("170141183460469231731687303715884105727"),
            Value::from(i128::MAX)
        );
    }

    #[test]
    fn wide_and_nested_values_stay_exact() {
        let col = |name: &str| Column {
            name: name.into(),
            data_type: String::new(),
            comment: None,
        };
        let rows = Rows {
            columns: ["dec", "huge", "uhuge", "ts", "l", "s", "b"]
                .map(col)
                .to_vec(),
            rows: vec![vec![
                Cell::Decimal("1234567890123456789012345678.1234567890".into()),
                Cell::BigInt(-123_456_789_012_345_678_901_234_567_890_123_456_789),
                Cell::UBigInt(u128::MAX),
                Cell::Timestamp("2024-05-27 11:45:01.123456+00:00".into()),
                Cell::List(vec![Cell::Int(1), Cell::Null]),
                Cell::Struct(vec![("k".into(), Cell::Text("v".into()))]),
                Cell::Blob(vec![0xAA, b'a']),
            ]],
        };
        let t = Table::new(&rows).into_value();
        assert_eq!(
            render("{{ t.rows[0].dec }}", t.clone()),
            "1234567890123456789012345678.1234567890"
        );
        assert_eq!(
            render("{{ t.rows[0].huge - 1 }}", t.clone()),
            "-123456789012345678901234567890123456790"
        );
        assert_eq!(
            render("{{ t.rows[0].uhuge }}", t.clone()),
            "340282366920938463463374607431768211455"
        );
        assert_eq!(
            render("{{ t.rows[0].ts }}", t.clone()),
            "2024-05-27 11:45:01.123456+00:00"
        );
        assert_eq!(
            render(
                "{{ t.rows[0].l[0] }}|{{ t.rows[0].l[1] is none }}|{{ t.rows[0].s.k }}|{{ t.rows[0].b | length }}",
                t
            ),
            "1|True|v|2"
        );
        // decimals a float holds exactly are numbers; others compare exactly among themselves
        assert_eq!(decimal_value("12.50"), Value::from(12.5));
        assert_eq!(decimal_value("-7"), Value::from(-7));
        let (a, b) = (
            decimal_value("1234567890123456789.000000000000000001"),
            decimal_value("1234567890123456789.000000000000000002"),
        );
        assert!(a < b && a != b);
        assert_eq!(cmp_decimal("-0.50", "-0.5"), std::cmp::Ordering::Equal);
        assert_eq!(cmp_decimal("-2.5", "-10"), std::cmp::Ordering::Greater);
        assert_eq!(cmp_decimal("100.01", "99.999"), std::cmp::Ordering::Greater);
    }

    #[test]
    fn columns_by_position_and_name() {
        let t = Table::new(&sample()).into_value();
        assert_eq!(
            render("{{ t.column_names }}", t.clone()),
            "['id', 'amount', 'label']"
        );
        assert_eq!(
            render("{{ t.column_types }}", t.clone()),
            "['INTEGER', 'DECIMAL(10,2)', 'VARCHAR']"
        );
        assert_eq!(render("{{ t.columns[0].name }}", t.clone()), "id");
        assert_eq!(
            render("{{ t.columns['label'].data_type }}", t.clone()),
            "VARCHAR"
        );
        assert_eq!(render("{{ t.columns[0].values() }}", t.clone()), "[1, 2]");
        assert_eq!(
            render("{{ t.columns['ID'].values() | join(',') }}", t.clone()),
            "1,2"
        );
        assert_eq!(
            render(
                "{% for c in t.columns %}{{ c.name }} {% endfor %}",
                t.clone()
            ),
            "id amount label "
        );
        assert_eq!(render("{{ t.columns | length }}", t.clone()), "3");
        assert_eq!(render("{{ t.print_table() }}", t), "");
    }

    /// Laid out as agate's `print_table` does (dbt's own output for the log_events fixture's
    /// macro is `tests/dbt_recorded/log_events_run_operation.txt`; tests/cli/logs.rs holds kiln to it).
    #[test]
    fn print_table_lays_out_rows_as_agate_does() {
        let t = Table::new(&sample());
        assert_eq!(
            super::print_table(&t.0, 20, 6, 20, 3),
            "| id | amount | label |\n\
             | -- | ------ | ----- |\n\
             |  1 |    2.5 | a     |\n\
             |  2 |    7.0 |       |"
        );
    }

    #[test]
    fn numbers_are_rounded_half_even_and_grouped() {
        assert_eq!(
            super::format_number("1234567.125", 2, false),
            "1,234,567.12"
        );
        assert_eq!(super::format_number("-0.135", 2, false), "-0.14");
        assert_eq!(super::format_number("9.9999", 3, true), "10.000…");
        assert_eq!(super::format_number("12", 0, false), "12");
        assert_eq!(super::format_number("-10.25", 2, false), "-10.25");
    }

    #[test]
    fn print_table_cuts_rows_columns_and_long_text() {
        let rows = Rows {
            columns: (0..8)
                .map(|i| Column {
                    name: format!("a_rather_long_column_name_{i}"),
                    data_type: "VARCHAR".into(),
                    comment: None,
                })
                .collect(),
            rows: (0..3)
                .map(|r| (0..8).map(|c| Cell::Text(format!("{r}{c}"))).collect())
                .collect(),
        };
        let t = Table::new(&rows);
        let text = super::print_table(&t.0, 2, 6, 20, 3);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].starts_with("| a_rather_long_col... |"), "{text}");
        assert!(lines[0].ends_with("| ... |"), "{text}");
        assert_eq!(lines[4].matches("...").count(), 7, "{text}");
    }

    #[test]
    fn empty_table_and_matrix() {
        let t = Table::empty();
        assert!(t.is_empty());
        assert_eq!(
            render("{{ t | length }} {{ t.column_names }}", t.into_value()),
            "0 []"
        );
        let m = Table::new(&sample()).matrix();
        assert_eq!(render("{{ t }}", m), "[[1, 2.5, 'a'], [2, 7, None]]");
    }

    #[test]
    fn responses() {
        let count = Rows {
            columns: vec![Column {
                name: "Count".into(),
                data_type: "BIGINT".into(),
                comment: None,
            }],
            rows: vec![vec![Cell::Int(3)]],
        };
        let duck = sqlparser::dialect::DuckDbDialect {};
        let counted =
            crate::adapter::Adapter::rows_affected(&crate::adapter::DuckDb::in_memory(), &count);
        assert_eq!(counted, Some(3));
        let r = AdapterResponse::for_statement("-- load\ninsert into t select 1", &duck, counted);
        assert_eq!(r.rows_affected, Some(3));
        assert_eq!(r.code.as_deref(), Some("INSERT"));
        // An insert behind a `with` is an insert.
        let r = AdapterResponse::for_statement(
            "with s as (select 1 as a) insert into t select a from s",
            &duck,
            counted,
        );
        assert_eq!(r.rows_affected, Some(3));
        assert_eq!(r.code.as_deref(), Some("INSERT"));
        let r = AdapterResponse::for_statement("create table x (a int); select 1", &duck, counted);
        assert_eq!(r.rows_affected, None);
        assert_eq!(r.code.as_deref(), Some("SELECT"));
        assert_eq!(
            render("{{ t }} {{ t.code }} {{ t._message }}", r.into_value()),
            "OK SELECT OK"
        );
    }

    #[test]
    fn parse_placeholder_absorbs_everything() {
        let p = ParsePlaceholder::value();
        assert_eq!(
            render(
                "[{{ t }}]{% for v in t.columns[0].values() %}x{% endfor %}|{{ t | length }}|{{ t.rows[0]['a'].b() }}|{{ 'yes' if t else 'no' }}",
                p
            ),
            "[]|0||no"
        );
    }

    #[test]
    fn blank_sql() {
        assert!(is_blank_sql("  \n"));
        assert!(is_blank_sql("-- nothing\n/* at all */ ;\n -- really"));
        assert!(!is_blank_sql("-- a comment\nselect 1"));
        assert!(!is_blank_sql("; select 1"));
    }

    #[test]
    fn relation_columns() {
        let c = |t: &str| {
            RelationColumn::new(
                &Column {
                    name: "My Col".into(),
                    data_type: t.into(),
                    comment: None,
                },
                &crate::adapter::DuckDb::in_memory(),
            )
        };
        assert!(c("VARCHAR").is_string());
        assert_eq!(c("VARCHAR").string_size(), Some(256));
        assert_eq!(c("VARCHAR(12)").string_size(), Some(12));
        assert!(c("BIGINT").is_integer() && c("BIGINT").is_number());
        assert!(c("DOUBLE").is_float() && !c("DOUBLE").is_integer());
        assert!(c("DECIMAL(18,2)").is_numeric() && c("DECIMAL(18,2)").is_number());
        assert!(!c("DATE").is_number() && !c("DATE").is_string());
        let v = c("DECIMAL(18,2)").into_value();
        assert_eq!(
            render(
                "{{ t.name }}|{{ t.column }}|{{ t.quoted }}|{{ t.dtype }}|{{ t.numeric_precision }},{{ t.numeric_scale }}|{{ t.is_numeric() }}",
                v
            ),
            "My Col|My Col|\"My Col\"|DECIMAL(18,2)|18,2|True"
        );
        let env = Environment::new();
        let err = env
            .render_str(
                "{{ t.string_size() }}",
                minijinja::context! { t => c("INTEGER").into_value() },
            )
            .expect_err("not a string");
        assert!(err.to_string().contains("not a string"), "{err}");
    }
}
