//! DuckDB results read into exact [`Cell`]s.
//!
//! duckdb-rs hands results over as Arrow batches, and Arrow has no place for some DuckDB types:
//! by default a HUGEINT arrives as a 38-digit decimal (its 39th digit lost) and a TIMETZ without
//! its offset. So kiln's connections set `arrow_lossless_conversion`, under which DuckDB hands
//! such values over as its own bytes (HUGEINT, UHUGEINT, TIMETZ, BIT, BIGNUM; UUID as 16
//! bytes; BOOLEAN as one), and each column is read with its DuckDB logical type
//! ([`DuckType`], taken from the statement) beside its Arrow array. Every value is converted
//! here, by hand: Arrow's display formatter printed `?` for a timestamp with a time zone it did
//! not know.
//!
//! Values print as dbt-duckdb's Python values do where that is exact (dates `2024-05-27`,
//! timestamps `2024-05-27 13:45:01.123456`, TIMESTAMPTZ with `+00:00`); where Python would lose
//! something, the exact DuckDB text wins (nanoseconds, intervals of months, infinite dates).

use super::{Cell, Column, Rows};
use ::duckdb::arrow::array::{Array, AsArray};
use ::duckdb::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, DurationMicrosecondType,
    DurationMillisecondType, DurationNanosecondType, DurationSecondType, Float32Type, Float64Type,
    Int8Type, Int16Type, Int32Type, Int64Type, IntervalDayTimeType, IntervalMonthDayNanoType,
    IntervalUnit, IntervalYearMonthType, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use ::duckdb::arrow::record_batch::RecordBatch;
use ::duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};
use ::duckdb::core::{LogicalTypeHandle, LogicalTypeId};
use std::fmt::Write as _;

/// A DuckDB logical type, copied out of the statement so it outlives it.
#[derive(Debug, Clone, PartialEq)]
pub struct DuckType {
    pub id: LogicalTypeId,
    pub width: u8,
    pub scale: u8,
    /// A named alias such as `JSON`.
    pub alias: Option<String>,
    /// Fields of a STRUCT or UNION (named), the element of a LIST or ARRAY, key and value of a
    /// MAP (unnamed).
    pub children: Vec<(String, DuckType)>,
}

impl DuckType {
    pub fn of(handle: &LogicalTypeHandle) -> DuckType {
        let id = handle.id();
        let (width, scale) = if id == LogicalTypeId::Decimal {
            (handle.decimal_width(), handle.decimal_scale())
        } else {
            (0, 0)
        };
        let named = matches!(id, LogicalTypeId::Struct | LogicalTypeId::Union);
        let children = (0..handle.num_children())
            .map(|i| {
                let name = if named {
                    handle.child_name(i)
                } else {
                    String::new()
                };
                (name, DuckType::of(&handle.child(i)))
            })
            .collect();
        DuckType {
            id,
            width,
            scale,
            alias: handle.get_alias(),
            children,
        }
    }

    fn child(&self, i: usize) -> Option<&DuckType> {
        self.children.get(i).map(|(_, t)| t)
    }

    fn field(&self, name: &str) -> Option<&DuckType> {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
    }

    /// The type's name as DuckDB prints it (`DECIMAL(18,2)`, `VARCHAR[]`,
    /// `STRUCT(x INTEGER, y VARCHAR)`); `arrow` supplies what the logical type does not expose
    /// (an ARRAY's length).
    pub fn name(&self, arrow: &DataType) -> String {
        use LogicalTypeId as T;
        if let Some(alias) = &self.alias {
            return alias.to_ascii_uppercase();
        }
        let child_arrow = |i: usize| -> DataType {
            match arrow {
                DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                    f.data_type().clone()
                }
                DataType::Map(f, _) => match f.data_type() {
                    DataType::Struct(fields) => fields
                        .get(i)
                        .map_or(DataType::Null, |f| f.data_type().clone()),
                    _ => DataType::Null,
                },
                _ => DataType::Null,
            }
        };
        let field_arrow = |name: &str| -> DataType {
            match arrow {
                DataType::Struct(fields) => fields
                    .iter()
                    .find(|f| f.name() == name)
                    .map_or(DataType::Null, |f| f.data_type().clone()),
                DataType::Union(fields, _) => fields
                    .iter()
                    .find(|(_, f)| f.name() == name)
                    .map_or(DataType::Null, |(_, f)| f.data_type().clone()),
                _ => DataType::Null,
            }
        };
        let fields = |kind: &str| -> String {
            let parts: Vec<String> = self
                .children
                .iter()
                .map(|(n, t)| format!("{} {}", field_name(n), t.name(&field_arrow(n))))
                .collect();
            format!("{kind}({})", parts.join(", "))
        };
        match self.id {
            T::Boolean => "BOOLEAN".into(),
            T::Tinyint => "TINYINT".into(),
            T::Smallint => "SMALLINT".into(),
            T::Integer => "INTEGER".into(),
            T::Bigint => "BIGINT".into(),
            T::Hugeint => "HUGEINT".into(),
            T::UTinyint => "UTINYINT".into(),
            T::USmallint => "USMALLINT".into(),
            T::UInteger => "UINTEGER".into(),
            T::UBigint => "UBIGINT".into(),
            T::UHugeint => "UHUGEINT".into(),
            T::Float => "FLOAT".into(),
            T::Double => "DOUBLE".into(),
            T::Decimal => format!("DECIMAL({},{})", self.width, self.scale),
            T::Varchar => "VARCHAR".into(),
            T::Blob => "BLOB".into(),
            T::Date => "DATE".into(),
            T::Time => "TIME".into(),
            T::TimeNs => "TIME_NS".into(),
            T::TimeTZ => "TIME WITH TIME ZONE".into(),
            T::Timestamp => "TIMESTAMP".into(),
            T::TimestampS => "TIMESTAMP_S".into(),
            T::TimestampMs => "TIMESTAMP_MS".into(),
            T::TimestampNs => "TIMESTAMP_NS".into(),
            T::TimestampTZ => "TIMESTAMP WITH TIME ZONE".into(),
            T::Interval => "INTERVAL".into(),
            T::Uuid => "UUID".into(),
            T::Enum => "ENUM".into(),
            T::Bit => "BIT".into(),
            T::Bignum => "BIGNUM".into(),
            T::SqlNull => "\"NULL\"".into(),
            T::List => match self.child(0) {
                Some(c) => format!("{}[]", c.name(&child_arrow(0))),
                None => "LIST".into(),
            },
            T::Array => match (self.child(0), arrow) {
                (Some(c), DataType::FixedSizeList(_, n)) => {
                    format!("{}[{n}]", c.name(&child_arrow(0)))
                }
                (Some(c), _) => format!("{}[]", c.name(&child_arrow(0))),
                (None, _) => "ARRAY".into(),
            },
            T::Map => match (self.child(0), self.child(1)) {
                (Some(k), Some(v)) => {
                    format!(
                        "MAP({}, {})",
                        k.name(&child_arrow(0)),
                        v.name(&child_arrow(1))
                    )
                }
                _ => "MAP".into(),
            },
            T::Struct => fields("STRUCT"),
            T::Union => fields("UNION"),
            _ => super::duckdb::duckdb_type_name(arrow),
        }
    }
}

/// A struct field's name as DuckDB writes it in a type: bare when it is a plain identifier.
fn field_name(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Arrow batches as rows of exact cells; `types[i]` is column `i`'s DuckDB type when known.
pub fn rows_from_arrow(
    schema: &::duckdb::arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
    types: &[Option<DuckType>],
) -> Rows {
    let columns: Vec<Column> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| Column {
            name: f.name().clone(),
            data_type: match types.get(i).and_then(Option::as_ref) {
                Some(t) => t.name(f.data_type()),
                None => super::duckdb::duckdb_type_name(f.data_type()),
            },
            comment: None,
        })
        .collect();
    let mut rows = vec![];
    for batch in batches {
        let n = batch.num_rows();
        let start = rows.len();
        rows.extend((0..n).map(|_| Vec::with_capacity(batch.num_columns())));
        for (c, array) in batch.columns().iter().enumerate() {
            let ty = types.get(c).and_then(Option::as_ref);
            for (i, row) in rows[start..].iter_mut().enumerate() {
                row.push(cell_at(array.as_ref(), i, ty));
            }
        }
    }
    Rows { columns, rows }
}

/// Value `i` of `array`, read according to its DuckDB type `ty` (when known).
fn cell_at(array: &dyn Array, i: usize, ty: Option<&DuckType>) -> Cell {
    use LogicalTypeId as T;
    let id = ty.map(|t| t.id);
    // A union holds its nulls in its members.
    if let DataType::Union(fields, _) = array.data_type() {
        let u = array.as_union();
        let type_id = u.type_id(i);
        let name = fields
            .iter()
            .find(|(t, _)| *t == type_id)
            .map(|(_, f)| f.name().clone())
            .unwrap_or_default();
        let member_ty = ty.and_then(|t| t.field(&name));
        return cell_at(u.child(type_id).as_ref(), u.value_offset(i), member_ty);
    }
    if array.is_null(i) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Null => Cell::Null,
        DataType::Boolean => Cell::Bool(array.as_boolean().value(i)),
        // (a lossless export carries BOOLEAN as one byte)
        DataType::Int8 if id == Some(T::Boolean) => {
            Cell::Bool(array.as_primitive::<Int8Type>().value(i) != 0)
        }
        DataType::Int8 => Cell::Int(i64::from(array.as_primitive::<Int8Type>().value(i))),
        DataType::Int16 => Cell::Int(i64::from(array.as_primitive::<Int16Type>().value(i))),
        DataType::Int32 => Cell::Int(i64::from(array.as_primitive::<Int32Type>().value(i))),
        DataType::Int64 => Cell::Int(array.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Cell::Int(i64::from(array.as_primitive::<UInt8Type>().value(i))),
        DataType::UInt16 => Cell::Int(i64::from(array.as_primitive::<UInt16Type>().value(i))),
        DataType::UInt32 => Cell::Int(i64::from(array.as_primitive::<UInt32Type>().value(i))),
        DataType::UInt64 => Cell::unsigned(u128::from(array.as_primitive::<UInt64Type>().value(i))),
        DataType::Float32 => Cell::Float(f64::from(array.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => Cell::Float(array.as_primitive::<Float64Type>().value(i)),
        DataType::Decimal128(_, scale) => {
            let v = array.as_primitive::<Decimal128Type>().value(i);
            match id {
                // (without a lossless export)
                Some(T::Hugeint) => Cell::integer(v),
                Some(T::UHugeint) => Cell::unsigned(v.cast_unsigned()),
                _ => Cell::Decimal(decimal_text(v, *scale)),
            }
        }
        DataType::Utf8 => text_cell(array.as_string::<i32>().value(i), id),
        DataType::LargeUtf8 => text_cell(array.as_string::<i64>().value(i), id),
        DataType::Utf8View => text_cell(array.as_string_view().value(i), id),
        DataType::Binary => bytes_cell(array.as_binary::<i32>().value(i), id),
        DataType::LargeBinary => bytes_cell(array.as_binary::<i64>().value(i), id),
        DataType::BinaryView => bytes_cell(array.as_binary_view().value(i), id),
        DataType::FixedSizeBinary(_) => bytes_cell(array.as_fixed_size_binary().value(i), id),
        DataType::Date32 => Cell::Date(date_text(i64::from(
            array.as_primitive::<Date32Type>().value(i),
        ))),
        DataType::Date64 => Cell::Date(date_text(
            array.as_primitive::<Date64Type>().value(i) / 86_400_000,
        )),
        DataType::Time32(unit) => {
            let v = i64::from(match unit {
                TimeUnit::Second => array.as_primitive::<Time32SecondType>().value(i),
                _ => array.as_primitive::<Time32MillisecondType>().value(i),
            });
            let nanos = match unit {
                TimeUnit::Second => v * 1_000_000_000,
                _ => v * 1_000_000,
            };
            Cell::Text(time_text(nanos))
        }
        DataType::Time64(unit) => {
            let nanos = match unit {
                TimeUnit::Nanosecond => array.as_primitive::<Time64NanosecondType>().value(i),
                _ => array.as_primitive::<Time64MicrosecondType>().value(i) * 1000,
            };
            Cell::Text(time_text(nanos))
        }
        DataType::Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(i),
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(i),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(i),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(i),
            };
            Cell::Timestamp(timestamp_text(v, *unit, tz.is_some()))
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = array.as_primitive::<IntervalMonthDayNanoType>().value(i);
            Cell::Text(interval_text(v.months, v.days, v.nanoseconds))
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            let v = array.as_primitive::<IntervalDayTimeType>().value(i);
            Cell::Text(interval_text(
                0,
                v.days,
                i64::from(v.milliseconds) * 1_000_000,
            ))
        }
        DataType::Interval(IntervalUnit::YearMonth) => Cell::Text(interval_text(
            array.as_primitive::<IntervalYearMonthType>().value(i),
            0,
            0,
        )),
        DataType::Duration(unit) => {
            let nanos = match unit {
                TimeUnit::Second => {
                    array.as_primitive::<DurationSecondType>().value(i) * 1_000_000_000
                }
                TimeUnit::Millisecond => {
                    array.as_primitive::<DurationMillisecondType>().value(i) * 1_000_000
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<DurationMicrosecondType>().value(i) * 1000
                }
                TimeUnit::Nanosecond => array.as_primitive::<DurationNanosecondType>().value(i),
            };
            Cell::Text(interval_text(0, 0, nanos))
        }
        DataType::List(_) => {
            let child = ty.and_then(|t| t.child(0));
            list_cell(array.as_list::<i32>().value(i).as_ref(), child)
        }
        DataType::LargeList(_) => {
            let child = ty.and_then(|t| t.child(0));
            list_cell(array.as_list::<i64>().value(i).as_ref(), child)
        }
        DataType::FixedSizeList(..) => {
            let child = ty.and_then(|t| t.child(0));
            list_cell(array.as_fixed_size_list().value(i).as_ref(), child)
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            Cell::Struct(
                fields
                    .iter()
                    .zip(s.columns())
                    .map(|(f, col)| {
                        let fty = ty.and_then(|t| t.field(f.name()));
                        (f.name().clone(), cell_at(col.as_ref(), i, fty))
                    })
                    .collect(),
            )
        }
        DataType::Map(..) => {
            let entries = array.as_map().value(i);
            let (kty, vty) = (ty.and_then(|t| t.child(0)), ty.and_then(|t| t.child(1)));
            let keys = entries.column(0);
            let values = entries.column(1);
            Cell::Map(
                (0..entries.len())
                    .map(|j| {
                        (
                            cell_at(keys.as_ref(), j, kty),
                            cell_at(values.as_ref(), j, vty),
                        )
                    })
                    .collect(),
            )
        }
        DataType::Dictionary(..) => {
            let Some(dict) = array.as_any_dictionary_opt() else {
                return formatted(array, i);
            };
            match dict.normalized_keys().get(i) {
                Some(&k) => cell_at(dict.values().as_ref(), k, None),
                None => Cell::Null,
            }
        }
        _ => formatted(array, i),
    }
}

/// A value of a type not read above, as Arrow prints it.
fn formatted(array: &dyn Array, i: usize) -> Cell {
    match ArrayFormatter::try_new(array, &FormatOptions::default()) {
        Ok(f) => Cell::Text(f.value(i).to_string()),
        Err(e) => Cell::Text(format!("<{}: {e}>", array.data_type())),
    }
}

fn list_cell(values: &dyn Array, ty: Option<&DuckType>) -> Cell {
    Cell::List((0..values.len()).map(|j| cell_at(values, j, ty)).collect())
}

fn text_cell(s: &str, _id: Option<LogicalTypeId>) -> Cell {
    Cell::Text(s.to_string())
}

/// Binary data: a BLOB, or a value Arrow carries as DuckDB's own bytes (the connection sets
/// `arrow_lossless_conversion`): BIT, UUID, BIGNUM, HUGEINT and UHUGEINT (16 bytes, little
/// endian), TIMETZ (its time and offset packed in 8 bytes).
fn bytes_cell(bytes: &[u8], id: Option<LogicalTypeId>) -> Cell {
    match id {
        Some(LogicalTypeId::Hugeint) => match <[u8; 16]>::try_from(bytes) {
            Ok(b) => Cell::integer(i128::from_le_bytes(b)),
            Err(_) => Cell::Blob(bytes.to_vec()),
        },
        Some(LogicalTypeId::UHugeint) => match <[u8; 16]>::try_from(bytes) {
            Ok(b) => Cell::unsigned(u128::from_le_bytes(b)),
            Err(_) => Cell::Blob(bytes.to_vec()),
        },
        Some(LogicalTypeId::TimeTZ) => match <[u8; 8]>::try_from(bytes) {
            Ok(b) => Cell::Text(time_tz_text(u64::from_le_bytes(b))),
            Err(_) => Cell::Blob(bytes.to_vec()),
        },
        Some(LogicalTypeId::Bit) => Cell::Text(bit_text(bytes)),
        Some(LogicalTypeId::Uuid) if bytes.len() == 16 => Cell::Text(uuid_text(bytes)),
        // text, as dbt-duckdb hands it over
        Some(LogicalTypeId::Bignum) => match bignum_text(bytes) {
            Some(digits) => Cell::Text(digits),
            None => Cell::Blob(bytes.to_vec()),
        },
        _ => Cell::Blob(bytes.to_vec()),
    }
}

/// DuckDB's TIMETZ storage: microseconds since midnight in the high 40 bits, and in the low
/// 24 the offset as `15:59:59 - offset` (in seconds), printed as Python prints such a time
/// (`13:45:01+02:00`).
fn time_tz_text(bits: u64) -> String {
    const MAX_OFFSET: i64 = 16 * 60 * 60 - 1;
    let micros = i64::try_from(bits >> 24).unwrap_or(0);
    let offset = MAX_OFFSET - i64::try_from(bits & 0xFF_FFFF).unwrap_or(0);
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.abs();
    let mut text = format!(
        "{}{sign}{:02}:{:02}",
        time_text(micros * 1000),
        abs / 3600,
        abs / 60 % 60
    );
    if abs % 60 != 0 {
        let _ = write!(text, ":{:02}", abs % 60);
    }
    text
}

/// DuckDB's BIGNUM storage: a 3-byte header (top bit set for a positive number, then the
/// number of bytes), then the magnitude big-endian; a negative number has every bit inverted.
fn bignum_text(bytes: &[u8]) -> Option<String> {
    let (header, data) = bytes.split_at_checked(3)?;
    let negative = header[0] & 0x80 == 0;
    // the magnitude in base 10^9, least significant limb first
    let mut limbs: Vec<u64> = vec![0];
    for &b in data {
        let mut carry = u64::from(if negative { !b } else { b });
        for limb in &mut limbs {
            let v = *limb * 256 + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push(carry % 1_000_000_000);
            carry /= 1_000_000_000;
        }
    }
    let mut digits = String::new();
    for (i, limb) in limbs.iter().rev().enumerate() {
        if i == 0 {
            let _ = write!(digits, "{limb}");
        } else {
            let _ = write!(digits, "{limb:09}");
        }
    }
    let zero = digits == "0";
    Some(if negative && !zero {
        format!("-{digits}")
    } else {
        digits
    })
}

/// DuckDB's BIT storage: a first byte counting the padding bits of the second, then the bits.
fn bit_text(bytes: &[u8]) -> String {
    let Some((&padding, bits)) = bytes.split_first() else {
        return String::new();
    };
    let mut out = String::with_capacity(bits.len() * 8);
    for (n, b) in bits.iter().enumerate() {
        let skip = if n == 0 { usize::from(padding) } else { 0 };
        for k in (0..8usize).rev().skip(skip) {
            out.push(if (b >> k) & 1 == 1 { '1' } else { '0' });
        }
    }
    out
}

fn uuid_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(36);
    for (n, b) in bytes.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The exact digits of a decimal with `scale` places: `1250, 2` → `12.50`.
pub fn decimal_text(v: i128, scale: i8) -> String {
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    let Ok(scale) = usize::try_from(scale) else {
        // a negative scale multiplies
        return format!(
            "{sign}{digits}{}",
            "0".repeat(usize::from(scale.unsigned_abs()))
        );
    };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// Days since 1970-01-01 as `2024-05-27`; DuckDB's infinite dates as `infinity`.
fn date_text(days: i64) -> String {
    if days >= i64::from(i32::MAX) {
        return "infinity".into();
    }
    if days <= -i64::from(i32::MAX) {
        return "-infinity".into();
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    match epoch.checked_add_signed(chrono::TimeDelta::days(days)) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => format!("{days} days after 1970-01-01"),
    }
}

/// Nanoseconds since midnight as Python prints a time: `13:45:01`, `13:45:01.123456`, with
/// nine digits when the value has nanoseconds.
fn time_text(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}{}", fraction(frac))
}

/// The fraction of a second: none, six digits, or nine when there are nanoseconds.
fn fraction(nanos: i64) -> String {
    if nanos == 0 {
        String::new()
    } else if nanos % 1000 == 0 {
        format!(".{:06}", nanos / 1000)
    } else {
        format!(".{nanos:09}")
    }
}

/// A timestamp in `unit`s since the epoch as Python prints a datetime
/// (`2024-05-27 13:45:01.123456`), with `+00:00` when it has a time zone (DuckDB hands
/// TIMESTAMPTZ over in UTC).
fn timestamp_text(v: i64, unit: TimeUnit, tz: bool) -> String {
    if v == i64::MAX {
        return "infinity".into();
    }
    if v == -i64::MAX {
        return "-infinity".into();
    }
    let per_sec: i64 = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let secs = v.div_euclid(per_sec);
    let nanos = v.rem_euclid(per_sec) * (1_000_000_000 / per_sec);
    let offset = if tz { "+00:00" } else { "" };
    let Some(dt) = chrono::DateTime::from_timestamp(secs, 0) else {
        return format!("{v} {unit:?}s after 1970-01-01{offset}");
    };
    format!(
        "{}{}{offset}",
        dt.naive_utc().format("%Y-%m-%d %H:%M:%S"),
        fraction(nanos)
    )
}

/// An interval as DuckDB prints it: `1 year 2 months 3 days 04:05:06.789`, `01:30:00`.
fn interval_text(months: i32, days: i32, nanos: i64) -> String {
    let mut parts = vec![];
    let plural = |n: i64, unit: &str| {
        if n.abs() == 1 {
            format!("{n} {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let (years, months) = (months / 12, months % 12);
    if years != 0 {
        parts.push(plural(i64::from(years), "year"));
    }
    if months != 0 {
        parts.push(plural(i64::from(months), "month"));
    }
    if days != 0 {
        parts.push(plural(i64::from(days), "day"));
    }
    if nanos != 0 || parts.is_empty() {
        let sign = if nanos < 0 { "-" } else { "" };
        let total = nanos.unsigned_abs();
        let secs = total / 1_000_000_000;
        let frac = total % 1_000_000_000;
        let mut text = format!(
            "{sign}{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        if frac != 0 {
            let digits = format!("{frac:09}");
            text.push('.');
            text.push_str(digits.trim_end_matches('0'));
        }
        parts.push(text);
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_every_digit_and_their_scale() {
        assert_eq!(decimal_text(1250, 2), "12.50");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(0, 2), "0.00");
        assert_eq!(decimal_text(i128::MAX, 0), i128::MAX.to_string());
        assert_eq!(
            decimal_text(12_345_678_901_234_567_890_123_456_781_234_567_890, 10),
            "1234567890123456789012345678.1234567890"
        );
    }

    #[test]
    fn temporal_values_print_as_python_and_duckdb_do() {
        assert_eq!(date_text(19_870), "2024-05-27");
        assert_eq!(date_text(i64::from(i32::MAX)), "infinity");
        assert_eq!(time_text(49_501_123_456_000), "13:45:01.123456");
        assert_eq!(time_text(49_500_000_000_000), "13:45:00");
        assert_eq!(
            timestamp_text(1_716_817_501_123_456_789, TimeUnit::Nanosecond, false),
            "2024-05-27 13:45:01.123456789"
        );
        assert_eq!(
            timestamp_text(1_716_817_501_123, TimeUnit::Millisecond, true),
            "2024-05-27 13:45:01.123000+00:00"
        );
        assert_eq!(
            interval_text(14, 3, 14_706_789_000_000),
            "1 year 2 months 3 days 04:05:06.789"
        );
        assert_eq!(interval_text(0, 0, 5_400_000_000_000), "01:30:00");
        assert_eq!(interval_text(0, 0, 0), "00:00:00");
        assert_eq!(interval_text(1, 1, 0), "1 month 1 day");
    }

    #[test]
    fn bits_and_uuids() {
        // '10101': 3 padding bits, then 000 10101
        assert_eq!(bit_text(&[3, 0b0001_0101]), "10101");
        assert_eq!(
            uuid_text(&[
                0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4, 0xa7, 0x16, 0x44, 0x66, 0x55, 0x44,
                0x00, 0x00
            ]),
            "550e8400-e29b-41d4-a716-446655440000"
        );
        // '13:45:01+02', '00:00:00+00' and '00:00:01-01:30', as DuckDB stores them
        assert_eq!(time_tz_text(0x0B86_7D51_4000_C4DF), "13:45:01+02:00");
        assert_eq!(time_tz_text(0xE0FF), "00:00:00+00:00");
        assert_eq!(time_tz_text(0x0F42_4000_F617), "00:00:01-01:30");
        assert_eq!(bignum_text(&[0x80, 0, 1, 0]).as_deref(), Some("0"));
        assert_eq!(bignum_text(&[0x80, 0, 2, 1, 0]).as_deref(), Some("256"));
        assert_eq!(
            bignum_text(&[0x7F, 0xFF, 0xFD, 0xFE, 0xFF]).as_deref(),
            Some("-256")
        );
        assert_eq!(
            bignum_text(&[0x7F, 0xFF, 0xFE, 0xFE]).as_deref(),
            Some("-1")
        );
        assert_eq!(field_name("x"), "x");
        assert_eq!(field_name("my field"), "\"my field\"");
    }
}
