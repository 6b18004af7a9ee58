//! AWS Athena (Trino engine). Parsed and compiled now; execution arrives in a later issue.

use super::{Adapter, Connection, DbError};

#[derive(Debug, Clone, Copy, Default)]
pub struct Athena;

impl Adapter for Athena {
    fn adapter_type(&self) -> &'static str {
        "athena"
    }

    fn dispatch_prefixes(&self) -> &'static [&'static str] {
        &["athena", "default"]
    }

    /// Athena runs Trino's SQL, and sqlparser has no Trino (or Presto) dialect. `GenericDialect`
    /// is the closest: it reads everything `AnsiDialect` reads plus ANSI features Trino has and
    /// `AnsiDialect` lacks (`count(*) filter (where ...)`, `grouping sets`, checked with sqlparser
    /// 0.62), and Trino's own syntax kiln emits or dbt-athena users write (lambdas `x -> x + 1`,
    /// `array[...]`, `row(...)`, `try_cast`, `unnest ... with ordinality`, `create table ... with
    /// (format = ...)`). Being permissive suits what kiln parses for (placing CTEs, checking SQL
    /// prints back); neither dialect reads Trino's `cast(x as array(varchar))` type syntax.
    fn sql_dialect(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::GenericDialect {})
    }

    fn can_execute(&self) -> bool {
        false
    }

    fn connect(&self) -> Result<Box<dyn Connection>, DbError> {
        Err(DbError::open(
            "kiln cannot run against Athena yet: it compiles for Athena (`kiln compile --target <athena target>`), and runs on DuckDB",
        ))
    }

    fn cancel_all(&self) {}
}
