//! A seed's settings: declared column types, quoting, the CSV delimiter. Loading the CSV is
//! `materialize::seed`'s business.

use super::{ConfigProblem, Problems, flag, shown};
use crate::project::config::Config;
use crate::project::node::Node;
use serde_json::Value;

/// A seed's configuration, with dbt's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedConfig {
    /// `column_types`: column name and SQL type, as written, in the order written.
    pub column_types: Vec<(String, String)>,
    /// `quote_columns`: quote every column name (default false).
    pub quote_columns: bool,
    /// `delimiter`: the field separator (default `,`).
    pub delimiter: char,
    /// `full_refresh` as configured; `None` follows `--full-refresh`.
    pub full_refresh: Option<bool>,
}

impl Default for SeedConfig {
    fn default() -> Self {
        SeedConfig {
            column_types: vec![],
            quote_columns: false,
            delimiter: ',',
            full_refresh: None,
        }
    }
}

impl SeedConfig {
    /// The config the parse phase settled for `node`, which the materialization reads.
    pub fn of(node: &Node) -> Result<Self, String> {
        node.settings
            .seed
            .clone()
            .ok_or_else(|| super::unsettled(node, "seed"))
    }

    /// Reads and checks a seed's config; every wrong value is reported.
    pub fn parse(c: &Config) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        let mut cfg = SeedConfig::default();
        match c.get("column_types") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (col, ty) in m {
                    match ty {
                        Value::String(s) if !s.trim().is_empty() => {
                            cfg.column_types.push((col.clone(), s.trim().to_string()));
                        }
                        other => problems.push(ConfigProblem::new(
                            &["column_types", col],
                            format!(
                                "column_types: the type of column '{col}' must be a SQL type name such as varchar or decimal(12,2), not {}",
                                shown(other)
                            ),
                            format!("write the SQL type of '{col}', e.g. {col}: varchar"),
                        )),
                    }
                }
            }
            Some(other) => problems.push(ConfigProblem::new(
                &["column_types"],
                format!(
                    "column_types must map column names to SQL types (e.g. {{id: bigint}}), not {}",
                    shown(other)
                ),
                "write one `column: type` pair per line under column_types",
            )),
        }
        if let Some(q) = problems.take(flag(c, &["quote_columns"], false)) {
            cfg.quote_columns = q;
        }
        match c.get("delimiter") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(d), None) if d != '"' && d != '\n' && d != '\r' => cfg.delimiter = d,
                    _ => problems.push(ConfigProblem::new(
                        &["delimiter"],
                        format!(
                            "delimiter must be one character other than a quote or a line break (e.g. ';' or '|'), not {}",
                            Value::String(s.clone())
                        ),
                        "write the one character that separates the fields, e.g. delimiter: ';'",
                    )),
                }
            }
            Some(other) => problems.push(ConfigProblem::new(
                &["delimiter"],
                format!("delimiter must be one character such as ';', not {other}"),
                "write the one character that separates the fields, e.g. delimiter: ';'",
            )),
        }
        cfg.full_refresh = c.get("full_refresh").and_then(Value::as_bool);
        problems.finish(|| cfg)
    }
}

impl SeedConfig {
    /// Whether this load is a full refresh: the config wins over the `--full-refresh` flag.
    pub fn full_refresh(&self, flag: bool) -> bool {
        self.full_refresh.unwrap_or(flag)
    }

    /// The declared type of a column: an exact name match first, then case-insensitive.
    pub fn declared_type(&self, column: &str) -> Option<&str> {
        self.column_types
            .iter()
            .find(|(c, _)| c == column)
            .or_else(|| {
                self.column_types
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(column))
            })
            .map(|(_, t)| t.as_str())
    }
}
