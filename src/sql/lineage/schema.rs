//! The upstream relations' columns: what the engine resolves names against.
//!
//! The engine asks a [`SchemaProvider`] for each relation a query's FROM names (its parts as
//! written, quotes removed) and for each table function it reads (`read_csv(...)`: a dbt source
//! with an `external_location`), by the function call's printed SQL. [`Schema`] is a ready
//! provider: relations registered by name parts, looked up without regard to case (DuckDB's and
//! Athena's identifiers are case-insensitive, even quoted), the full name first and otherwise by
//! a unique suffix (`main.orders` or `orders` finds `db.main.orders` when only one relation ends
//! so).

use serde::Serialize;
use sqlparser::ast::{FunctionArg, SetExpr, Statement, TableFactor};
use sqlparser::dialect::Dialect;
use std::collections::HashMap;
use std::fmt;

/// An upstream column: its name and type as the database reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub data_type: String,
}

impl Column {
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            data_type: data_type.into(),
        }
    }
}

/// A relation's name, part by part (`["db", "main", "orders"]`), as registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RelationName(Vec<String>);

impl RelationName {
    pub fn new<I, S>(parts: I) -> RelationName
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RelationName(parts.into_iter().map(Into::into).collect())
    }

    pub fn parts(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for RelationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// The answer to a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'s> {
    Found(&'s RelationName, &'s [Column]),
    /// Nothing registered answers to the name.
    Missing,
    /// Several registered relations answer to it (a suffix shared by two of them).
    Ambiguous(Vec<&'s RelationName>),
}

/// Where the engine finds upstream columns.
pub trait SchemaProvider {
    /// The relation a FROM names, by its parts as written (quotes removed, case kept).
    fn relation(&self, parts: &[&str]) -> Lookup<'_>;

    /// The relation a table function call in a FROM stands for (`read_csv('x.csv', ...)`), by
    /// the call as sqlparser prints it (see [`table_function_key`]). None by default.
    fn table_function(&self, _key: &str) -> Lookup<'_> {
        Lookup::Missing
    }
}

/// A map of relations to their columns.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    relations: Vec<(RelationName, Vec<Column>)>,
    /// Lower-cased last part → indexes into `relations`.
    by_last: HashMap<String, Vec<usize>>,
    /// Lower-cased full name → index.
    by_name: HashMap<Vec<String>, usize>,
    /// Table function key → index.
    functions: HashMap<String, usize>,
}

impl Schema {
    pub fn new() -> Schema {
        Schema::default()
    }

    /// Registers `name` with its ordered columns; a second registration of the same name (in any
    /// case) replaces the first.
    pub fn add_relation(&mut self, name: RelationName, columns: Vec<Column>) {
        self.insert(name, columns);
    }

    fn insert(&mut self, name: RelationName, columns: Vec<Column>) -> usize {
        let key: Vec<String> = name.0.iter().map(|p| p.to_lowercase()).collect();
        if let Some(&at) = self.by_name.get(&key) {
            self.relations[at] = (name, columns);
            return at;
        }
        let at = self.relations.len();
        if let Some(last) = key.last() {
            self.by_last.entry(last.clone()).or_default().push(at);
        }
        self.by_name.insert(key, at);
        self.relations.push((name, columns));
        at
    }

    /// Registers a table function call (`sql`, e.g. a dbt source's `external_location`,
    /// `read_csv('data/x.csv', header = true)`) as the relation `name` with `columns`: a FROM
    /// that makes the same call (same arguments, any spacing) reads that relation. `sql` is
    /// parsed in `dialect`, the dialect of the queries; an error says why it is not a call.
    pub fn add_table_function(
        &mut self,
        sql: &str,
        dialect: &dyn Dialect,
        name: RelationName,
        columns: Vec<Column>,
    ) -> Result<(), String> {
        let statements = crate::sql::parse(&format!("select * from {sql}"), dialect)
            .map_err(|e| format!("`{sql}` is not a table function call: {e}"))?;
        let key = match statements.as_slice() {
            [Statement::Query(query)] => match query.body.as_ref() {
                SetExpr::Select(select) => match select.from.as_slice() {
                    [from] if from.joins.is_empty() => table_function_key(&from.relation),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        let key = key.ok_or_else(|| format!("`{sql}` is not a table function call"))?;
        let at = self.insert(name, columns);
        self.functions.insert(key, at);
        Ok(())
    }
}

impl SchemaProvider for Schema {
    fn relation(&self, parts: &[&str]) -> Lookup<'_> {
        let wanted: Vec<String> = parts.iter().map(|p| p.to_lowercase()).collect();
        if let Some(&at) = self.by_name.get(&wanted) {
            let (name, columns) = &self.relations[at];
            return Lookup::Found(name, columns);
        }
        let Some(last) = wanted.last() else {
            return Lookup::Missing;
        };
        let matches: Vec<usize> = self
            .by_last
            .get(last)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&at| {
                let have = &self.relations[at].0.0;
                have.len() > wanted.len()
                    && have[have.len() - wanted.len()..]
                        .iter()
                        .zip(&wanted)
                        .all(|(a, b)| a.to_lowercase() == *b)
            })
            .collect();
        match matches.as_slice() {
            [] => Lookup::Missing,
            [at] => {
                let (name, columns) = &self.relations[*at];
                Lookup::Found(name, columns)
            }
            many => Lookup::Ambiguous(many.iter().map(|&at| &self.relations[at].0).collect()),
        }
    }

    fn table_function(&self, key: &str) -> Lookup<'_> {
        match self.functions.get(key) {
            Some(&at) => {
                let (name, columns) = &self.relations[at];
                Lookup::Found(name, columns)
            }
            None => Lookup::Missing,
        }
    }
}

/// The key a table function call in a FROM is known by: the call as sqlparser prints it, without
/// its alias (`read_csv('x.csv', header = true)`); DuckDB's file name in quotes (`from
/// 'data/users.csv'`, a replacement scan) is known by the quoted name. None for a FROM item that
/// is neither.
pub fn table_function_key(factor: &TableFactor) -> Option<String> {
    match factor {
        TableFactor::Table {
            name, args: None, ..
        } => match name.0.as_slice() {
            [part] => part
                .as_ident()
                .filter(|i| i.quote_style == Some('\''))
                .map(ToString::to_string),
            _ => None,
        },
        TableFactor::Table {
            name,
            args: Some(args),
            ..
        } => Some(format!("{name}({})", join_args(&args.args))),
        TableFactor::Function { name, args, .. } => Some(format!("{name}({})", join_args(args))),
        TableFactor::TableFunction { expr, .. } => Some(expr.to_string()),
        _ => None,
    }
}

fn join_args(args: &[FunctionArg]) -> String {
    args.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
