//! Column lineage of one compiled query: for each output column, the upstream columns it comes
//! from and how (OpenLineage's transformation types), the inputs that affect every row, and the
//! columns the query names that its upstreams do not have.
//!
//! ```text
//! // once per compile, in DAG order: every upstream relation with its columns
//! let mut schema = Schema::new();
//! schema.add_relation(RelationName::new(["db", "main", "orders"]), columns);
//! // a source read through `external_location` is known by that call
//! schema.add_table_function("read_csv('data/x.csv')", dialect, RelationName::new([..]), columns)?;
//! // per model: its compiled SQL
//! let mut lineage = analyze(compiled_sql, dialect, &schema, &Options::default());
//! lineage.reconcile(&describe_names);   // the binder's output names (DuckDB: DESCRIBE)
//! for unknown in &lineage.unknown_columns { /* the compile-time error */ }
//! ```
//!
//! One [`Schema`] serves a whole project (a relation is found by its full name, as compiled SQL
//! writes refs, or by a unique suffix); it is `Send + Sync`, so models can be read in parallel
//! once their upstreams' columns are known. A caller that has parsed the SQL already calls
//! [`analyze_statement`].
//!
//! The query is parsed once (sqlparser, in the adapter's dialect) and read once, bottom-up, in
//! scopes as sqlglot's `lineage` does (`engine.rs`: scopes and name resolution; `scope.rs`:
//! queries, FROM, select lists, clauses; `expr.rs`: expressions; `deps.rs`: how
//! transformations compose). Names resolve as DuckDB resolves them: a FROM item's columns
//! before the select list's aliases (lateral column aliases in the select list, WHERE, GROUP
//! BY, HAVING, QUALIFY), aliases first in ORDER BY, then the enclosing queries (correlated
//! subqueries); case-insensitively. A `USING`/`NATURAL` column is one column of both sides.
//!
//! The answer is never a guess: a name that two FROM items have, a `*` over a relation the
//! schema does not know, a form kiln does not read (PIVOT, `COLUMNS` with a lambda, a
//! statement that is not a query, SQL sqlparser cannot parse) make the lineage *incomplete*,
//! with the reason, and the caller falls back to table-level lineage. A name nothing in scope
//! has (the schema knowing every relation in scope) is an [`UnknownColumn`] with did-you-mean
//! candidates, for the compile-time check.

mod deps;
mod engine;
mod expr;
mod functions;
mod model;
mod schema;
mod scope;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_athena;
pub mod types;

pub use model::{
    Incomplete, InputField, Lineage, OutputColumn, Position, Searched, Subtype, Transformation,
    TransformationType, UnknownColumn, UnknownKind,
};
pub use schema::{Column, Lookup, RelationName, Schema, SchemaProvider, table_function_key};

use deps::Deps;
use engine::{Engine, QueryOut, Unit};
use sqlparser::ast::Statement;
use sqlparser::dialect::Dialect;
use std::collections::BTreeMap;

/// How to read queries.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Functions that mask a value, beyond the built-in hashes (`md5`, `sha1`, `sha256`,
    /// `hash`, ...): the name a project's HMAC macro renders to, a UDF. Any case.
    pub masking_functions: Vec<String>,
    /// When true, only `masking_functions` and `masked_ranges` mask: the built-in hashes do not
    /// (an unkeyed hash of an e-mail is not anonymous; a PII policy opts them in by name).
    pub declared_masking_only: bool,
    /// Byte ranges of the SQL that a masking macro rendered: a function called inside one
    /// masks its arguments.
    pub masked_ranges: Vec<std::ops::Range<usize>>,
}

/// The column lineage of `sql`, one SELECT (or other query) in `dialect`, against `schema`.
pub fn analyze(
    sql: &str,
    dialect: &dyn Dialect,
    schema: &dyn SchemaProvider,
    options: &Options,
) -> Lineage {
    match crate::sql::parse(sql, dialect) {
        Ok(statements) => match statements.as_slice() {
            [statement] => analyze_statement(statement, sql, schema, options),
            [] => unknown("the SQL has no statement".to_string(), None),
            many => unknown(
                format!("the SQL has {} statements, not one query", many.len()),
                None,
            ),
        },
        Err(e) => {
            let message = e.to_string();
            let at = parse_error_position(sql, &message);
            unknown(format!("sqlparser cannot parse the SQL: {message}"), at)
        }
    }
}

/// The column lineage of a statement already parsed from `sql` (positions refer to `sql`).
pub fn analyze_statement(
    statement: &Statement,
    sql: &str,
    schema: &dyn SchemaProvider,
    options: &Options,
) -> Lineage {
    let Statement::Query(query) = statement else {
        let text = statement.to_string();
        let head: String = text
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        return unknown(format!("the statement (`{head} ...`) is not a query"), None);
    };
    let mut engine = Engine::new(sql, schema, options);
    engine.units.push(Unit::default());
    let out = engine.query(query, None, &None);
    let root = engine.units.pop().unwrap_or_default();
    finish(&mut engine, out, root)
}

/// The lineage of a query whose columns cannot be known at all.
fn unknown(reason: String, at: Option<Position>) -> Lineage {
    Lineage {
        columns: Vec::new(),
        dataset: Vec::new(),
        incomplete: vec![Incomplete { reason, at }],
        unknown_columns: Vec::new(),
    }
}

fn finish(engine: &mut Engine<'_>, out: QueryOut, root: Unit) -> Lineage {
    // The statement's diagnostics, and those of the CTEs it reads, directly or not.
    let mut incomplete: Vec<Incomplete> = Vec::new();
    let mut unknown_columns: Vec<UnknownColumn> = Vec::new();
    let mut seen = vec![false; engine.cte_units.len()];
    let mut queue = vec![root];
    while let Some(unit) = queue.pop() {
        for reason in unit.incomplete {
            if !incomplete.contains(&reason) {
                incomplete.push(reason);
            }
        }
        for unknown in unit.unknown {
            if !unknown_columns
                .iter()
                .any(|u| u.at == unknown.at && u.name == unknown.name)
            {
                unknown_columns.push(unknown);
            }
        }
        for id in unit.uses {
            if !seen[id] {
                seen[id] = true;
                if let Some(unit) = engine.cte_units[id].take() {
                    queue.push(unit);
                }
            }
        }
    }
    let by_offset = |at: &Option<Position>| at.map_or(usize::MAX, |p| p.offset);
    incomplete.sort_by_key(|i| by_offset(&i.at));
    unknown_columns.sort_by_key(|u| by_offset(&u.at));
    for unknown in &unknown_columns {
        let what = match unknown.kind {
            UnknownKind::Column => "column",
            UnknownKind::Qualifier => "table",
        };
        incomplete.push(Incomplete {
            reason: format!("unknown {what} `{}`", unknown.name),
            at: unknown.at,
        });
    }
    let columns = out
        .cols
        .unwrap_or_default()
        .into_iter()
        .map(|col| OutputColumn {
            name: col.name,
            named_by_expression: col.named_by_expression,
            inputs: inputs(engine, &col.deps),
        })
        .collect();
    Lineage {
        columns,
        dataset: inputs(engine, &out.dataset),
        incomplete,
        unknown_columns,
    }
}

/// Dependencies as OpenLineage input fields, sorted by relation and column.
fn inputs(engine: &Engine<'_>, deps: &Deps) -> Vec<InputField> {
    let mut fields: BTreeMap<(&RelationName, &str), Vec<Transformation>> = BTreeMap::new();
    for (field, set) in deps.iter() {
        let (rel, column) = &engine.fields[field as usize];
        let relation = &engine.relations[*rel as usize];
        let transformations = set
            .roles()
            .map(|role| Transformation::new(role.sub, role.masking));
        fields
            .entry((relation, column.as_str()))
            .or_default()
            .extend(transformations);
    }
    fields
        .into_iter()
        .map(|((relation, column), transformations)| InputField {
            relation: relation.clone(),
            column: column.to_string(),
            transformations,
        })
        .collect()
}

/// Names compare as DuckDB and Athena compare identifiers: without regard to case.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!(a.is_ascii() && b.is_ascii()) && a.to_lowercase() == b.to_lowercase())
}

/// Where sqlparser's message says the error is (`... at Line: 3, Column: 7`).
fn parse_error_position(sql: &str, message: &str) -> Option<Position> {
    let at = message.rfind("Line: ")?;
    let rest = &message[at + "Line: ".len()..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let location = sqlparser::tokenizer::Location {
        line: line.trim().parse().ok()?,
        column: column.parse().ok()?,
    };
    Some(Position {
        offset: crate::sql::offset_of(sql, location)?,
        line: location.line,
        column: location.column,
    })
}
