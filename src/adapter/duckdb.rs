//! DuckDB (embedded). dbt-duckdb quotes every part of a relation name with double quotes and
//! reads sources configured with `external_location` straight from their files.

use super::Adapter;
use crate::project::SourceNode;

#[derive(Debug, Clone, Copy, Default)]
pub struct DuckDb;

impl Adapter for DuckDb {
    fn adapter_type(&self) -> &'static str {
        "duckdb"
    }

    fn dispatch_prefixes(&self) -> &'static [&'static str] {
        &["duckdb", "default"]
    }

    fn sql_dialect(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::DuckDbDialect {})
    }

    /// dbt-duckdb's `external_location`: a path or glob, formatted with the table's `name` and
    /// `identifier`; a plain path is quoted as a string literal (DuckDB reads files named that
    /// way), while a function call such as `read_parquet(...)` is used as written.
    fn external_source_sql(&self, source: &SourceNode) -> Option<String> {
        let loc = source.external.as_ref()?.as_str()?;
        let formatted = loc
            .replace("{name}", &source.name)
            .replace("{identifier}", &source.identifier)
            .replace("{source_name}", &source.source_name);
        if formatted.contains('(') {
            Some(formatted)
        } else {
            Some(format!("'{}'", formatted.replace('\'', "''")))
        }
    }
}
