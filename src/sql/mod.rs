//! SQL understanding: compiled SQL read as a tree (sqlparser's AST, in the adapter's dialect)
//! instead of sniffed as text.
//!
//! - [`cte`]: ephemeral models injected as CTEs into the `with` of the query that needs them.
//! - [`statement`]: what a statement is (transaction control, its command tag).
//! - [`round_trip`]: parse → print → parse, the check the tests run over every compiled node and
//!   every materialization statement.
//! - [`lineage`]: column lineage of a compiled query (OpenLineage's transformation types), and
//!   the columns it names that its upstreams do not have.
//!
//! The tree decides *where*; the text is spliced, never re-printed: an analyst's compiled SQL
//! keeps its formatting and comments (dbt does the same; only a `WITH` the CTEs merge into is
//! rewritten `with`, as kiln always did), and compiled SQL stays byte-for-byte what it was
//! before kiln parsed it. SQL that sqlparser cannot parse (DuckDB has
//! syntax outside sqlparser's grammar) is never an error here: each function says what it falls
//! back to.
//!
//! Parsing costs time, so callers parse only when a question needs the answer: a compile parses
//! the models that receive CTEs, not every model. This module imports nothing from the rest of
//! kiln.

pub mod cte;
pub mod lineage;
pub mod statement;

pub use cte::{Injected, inject_ctes};
pub use statement::{TransactionControl, command_tag, transaction_control};

use sqlparser::ast::Statement;
use sqlparser::dialect::Dialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Location;
use std::fmt;

/// Parses `sql` (one or more statements) in `dialect`.
pub fn parse(sql: &str, dialect: &dyn Dialect) -> Result<Vec<Statement>, ParserError> {
    Parser::parse_sql(dialect, sql)
}

/// The byte offset of a sqlparser [`Location`] (1-based line, 1-based column counted in
/// characters) in `sql`; `None` for an empty location or one past the text.
pub(crate) fn offset_of(sql: &str, at: Location) -> Option<usize> {
    let line = usize::try_from(at.line).ok()?.checked_sub(1)?;
    let column = usize::try_from(at.column).ok()?.checked_sub(1)?;
    let line_start = if line == 0 {
        0
    } else {
        sql.match_indices('\n').nth(line - 1)?.0 + 1
    };
    let line_text = sql[line_start..].split('\n').next().unwrap_or("");
    line_text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(line_text.len()))
        .nth(column)
        .map(|i| line_start + i)
}

/// Why SQL did not survive [`round_trip`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundTripError {
    /// The SQL itself does not parse.
    Parse(String),
    /// sqlparser printed SQL it cannot parse back.
    Reparse { printed: String, error: String },
    /// The printed SQL parses to another tree (the printer lost or changed something).
    Changed { printed: String, reprinted: String },
}

impl fmt::Display for RoundTripError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoundTripError::Parse(e) => write!(f, "does not parse: {e}"),
            RoundTripError::Reparse { printed, error } => {
                write!(f, "prints as SQL that does not parse ({error}):\n{printed}")
            }
            RoundTripError::Changed { printed, reprinted } => write!(
                f,
                "prints as SQL that parses to another tree:\nprinted:   {printed}\nreprinted: {reprinted}"
            ),
        }
    }
}

/// Parses `sql`, prints the tree, parses the print, and checks the second tree is the first
/// (sqlparser's own `verified_stmt` discipline, without requiring the analyst's text to be in
/// sqlparser's canonical form). Returns the statements.
pub fn round_trip(sql: &str, dialect: &dyn Dialect) -> Result<Vec<Statement>, RoundTripError> {
    let first = parse(sql, dialect).map_err(|e| RoundTripError::Parse(e.to_string()))?;
    let printed = join(&first);
    let second = parse(&printed, dialect).map_err(|e| RoundTripError::Reparse {
        printed: printed.clone(),
        error: e.to_string(),
    })?;
    if first != second {
        return Err(RoundTripError::Changed {
            reprinted: join(&second),
            printed,
        });
    }
    Ok(first)
}

fn join(statements: &[Statement]) -> String {
    statements
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::{DuckDbDialect, GenericDialect};

    fn at(line: u64, column: u64) -> Location {
        Location { line, column }
    }

    #[test]
    fn locations_become_byte_offsets() {
        let sql = "-- é\nselect 'ü', x\nfrom t";
        assert_eq!(offset_of(sql, at(1, 1)), Some(0));
        assert_eq!(offset_of(sql, at(2, 1)), Some(sql.find("select").unwrap()));
        // columns count characters, not bytes
        assert_eq!(offset_of(sql, at(2, 11)), Some(sql.find(", x").unwrap()));
        assert_eq!(offset_of(sql, at(3, 7)), Some(sql.len()));
        assert_eq!(offset_of(sql, at(3, 9)), None);
        assert_eq!(offset_of(sql, at(4, 1)), None);
        assert_eq!(offset_of(sql, at(0, 0)), None);
    }

    #[test]
    fn round_trips_report_what_went_wrong() {
        let duck = DuckDbDialect {};
        assert_eq!(
            round_trip("select a, b from t where a > 1", &duck)
                .map(|s| s.len())
                .unwrap(),
            1
        );
        assert!(matches!(
            round_trip("select from where", &duck),
            Err(RoundTripError::Parse(_))
        ));
        // several statements are checked together
        assert_eq!(
            round_trip("begin; select 1; commit;", &GenericDialect {})
                .unwrap()
                .len(),
            3
        );
    }
}
