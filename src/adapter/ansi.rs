//! The default text of the longer statements of [`Adapter`]: plain SQL an engine overrides only
//! where it spells things differently.

use super::{Adapter, TypeClass};
use crate::project::contract::{Constraint, ConstraintKind};

/// `"a", "b"`: columns quoted and listed.
pub(super) fn quoted_list<A: Adapter + ?Sized>(adapter: &A, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| adapter.quote(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` and (<predicate>)` for each incremental predicate, as written against `DBT_INTERNAL_DEST`.
fn predicates_sql(predicates: &[String]) -> String {
    predicates.iter().map(|p| format!(" and ({p})")).collect()
}

/// `DBT_INTERNAL_SOURCE."k" = DBT_INTERNAL_DEST."k" and ...`.
fn key_match<A: Adapter + ?Sized>(adapter: &A, unique_key: &[String]) -> String {
    unique_key
        .iter()
        .map(|k| {
            let q = adapter.quote(k);
            format!("DBT_INTERNAL_SOURCE.{q} = DBT_INTERNAL_DEST.{q}")
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// delete+insert's delete: by `in` for one key column, by `exists` for several.
pub(super) fn delete_matching<A: Adapter + ?Sized>(
    adapter: &A,
    target: &str,
    source: &str,
    unique_key: &[String],
    predicates: &[String],
) -> String {
    let extra = predicates_sql(predicates);
    if unique_key.len() == 1 {
        let keys = quoted_list(adapter, unique_key);
        format!(
            "delete from {target} as DBT_INTERNAL_DEST where ({keys}) in (select {keys} from {source}){extra}"
        )
    } else {
        format!(
            "delete from {target} as DBT_INTERNAL_DEST where exists (select 1 from {source} as DBT_INTERNAL_SOURCE where {}){extra}",
            key_match(adapter, unique_key)
        )
    }
}

/// `merge into`: matched rows get every non-key column, the others are inserted.
pub(super) fn merge<A: Adapter + ?Sized>(
    adapter: &A,
    target: &str,
    source: &str,
    unique_key: &[String],
    columns: &[String],
    predicates: &[String],
) -> String {
    let cols = quoted_list(adapter, columns);
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !unique_key.iter().any(|k| k.eq_ignore_ascii_case(c)))
        .map(|c| {
            let q = adapter.quote(c);
            format!("{q} = DBT_INTERNAL_SOURCE.{q}")
        })
        .collect();
    let values = columns
        .iter()
        .map(|c| format!("DBT_INTERNAL_SOURCE.{}", adapter.quote(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let matched = if updates.is_empty() {
        String::new()
    } else {
        format!("\nwhen matched then update set {}", updates.join(", "))
    };
    format!(
        "merge into {target} as DBT_INTERNAL_DEST using {source} as DBT_INTERNAL_SOURCE on {}{}{matched}\nwhen not matched then insert ({cols}) values ({values})",
        key_match(adapter, unique_key),
        predicates_sql(predicates)
    )
}

/// dbt's `default__snapshot_merge_sql`, with the meta column names as configured.
pub(super) fn snapshot_merge<A: Adapter + ?Sized>(
    adapter: &A,
    target: &str,
    source: &str,
    keys: &super::SnapshotMergeKeys<'_>,
    columns: &[String],
) -> String {
    let cols = quoted_list(adapter, columns);
    let values = columns
        .iter()
        .map(|c| format!("DBT_INTERNAL_SOURCE.{}", adapter.quote(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let (scd, valid_to, change) = (
        adapter.quote(keys.scd_id),
        adapter.quote(keys.valid_to),
        adapter.quote(keys.change_type),
    );
    format!(
        "merge into {target} as DBT_INTERNAL_DEST\nusing {source} as DBT_INTERNAL_SOURCE\non DBT_INTERNAL_SOURCE.{scd} = DBT_INTERNAL_DEST.{scd}\nwhen matched and {current} and DBT_INTERNAL_SOURCE.{change} in ('update', 'delete')\n    then update set {valid_to} = DBT_INTERNAL_SOURCE.{valid_to}\nwhen not matched and DBT_INTERNAL_SOURCE.{change} = 'insert'\n    then insert ({cols}) values ({values})",
        current = keys.current,
    )
}

/// A column-level constraint as DDL after the column's type.
pub(super) fn column_constraint(c: &Constraint, parent: Option<&str>) -> Option<String> {
    let expr = c.expression.as_deref().unwrap_or("").trim();
    let text = match c.kind {
        ConstraintKind::Check if !expr.is_empty() => format!("check ({expr})"),
        ConstraintKind::Check => return None,
        ConstraintKind::NotNull => format!("not null {expr}"),
        ConstraintKind::Unique => format!("unique {expr}"),
        ConstraintKind::PrimaryKey => format!("primary key {expr}"),
        ConstraintKind::ForeignKey => match parent {
            Some(to) if !c.to_columns.is_empty() => {
                format!("references {to} ({})", c.to_columns.join(", "))
            }
            _ if !expr.is_empty() => format!("references {expr}"),
            _ => return None,
        },
        ConstraintKind::Custom if !expr.is_empty() => expr.to_string(),
        ConstraintKind::Custom => return None,
    };
    Some(text.trim().to_string())
}

/// A model-level constraint as a table constraint of the DDL.
pub(super) fn model_constraint(c: &Constraint, parent: Option<&str>) -> Option<String> {
    let name = c
        .name
        .as_ref()
        .map_or_else(String::new, |n| format!("constraint {n} "));
    let columns = c.columns.join(", ");
    let expr = c
        .expression
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let with_expr = expr.map_or_else(String::new, |e| format!(" {e}"));
    Some(match c.kind {
        ConstraintKind::Check => format!("{name}check ({})", expr?),
        ConstraintKind::Unique => format!("{name}unique{with_expr} ({columns})"),
        ConstraintKind::PrimaryKey => format!("{name}primary key{with_expr} ({columns})"),
        ConstraintKind::ForeignKey => match parent {
            Some(to) if !c.to_columns.is_empty() => format!(
                "{name}foreign key ({columns}) references {to} ({})",
                c.to_columns.join(", ")
            ),
            _ => format!("{name}foreign key ({columns}) references {}", expr?),
        },
        ConstraintKind::Custom => format!("{name}{}", expr?),
        ConstraintKind::NotNull => return None,
    })
}

/// A letter or `_`, then letters, digits and `_` (ASCII).
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `word` is a keyword of any SQL dialect sqlparser knows.
pub(super) fn is_keyword(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    sqlparser::keywords::ALL_KEYWORDS
        .binary_search(&upper.as_str())
        .is_ok()
}

/// A type's name without its parameters, lower case: `decimal`, `character varying`.
pub(super) fn base_type(data_type: &str) -> String {
    data_type
        .split('(')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The class of a (base, lower-case) type name under ANSI SQL and its common aliases.
pub(super) fn type_class(base: &str) -> TypeClass {
    match base {
        "text" | "varchar" | "character varying" | "character" | "char" | "bpchar" | "string"
        | "nvarchar" | "nchar" => TypeClass::Text,
        "tinyint" | "smallint" | "integer" | "int" | "bigint" | "int2" | "int4" | "int8"
        | "smallserial" | "serial" | "bigserial" => TypeClass::Integer,
        "real" | "float" | "float4" | "float8" | "double" | "double precision" => TypeClass::Float,
        "numeric" | "decimal" => TypeClass::Decimal,
        _ => TypeClass::Other,
    }
}
