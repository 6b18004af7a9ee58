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
