//! AWS Athena (Trino engine). Parsed and compiled now; execution arrives in a later issue.

use super::Adapter;

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
}
