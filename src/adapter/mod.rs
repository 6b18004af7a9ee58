//! One trait per warehouse. Everything that differs between engines is a method here (or a
//! dispatched macro), never an `if duckdb` elsewhere. This issue needs only the compile-time part:
//! quoting, dispatch order, the SQL dialect and how sources read external files; execution methods
//! arrive with the DuckDB and Athena runners.

mod athena;
mod duckdb;

pub use athena::Athena;
pub use duckdb::DuckDb;

use crate::jinja::relation::Policy;
use crate::project::SourceNode;
use crate::project::profiles::{EngineTarget, Target};
use std::fmt::Debug;
use std::sync::Arc;

pub trait Adapter: Send + Sync + Debug {
    /// dbt's adapter type name: `duckdb`, `athena`.
    fn adapter_type(&self) -> &'static str;

    /// The character that quotes identifiers.
    fn quote_char(&self) -> char {
        '"'
    }

    /// Quotes one identifier.
    fn quote(&self, identifier: &str) -> String {
        let q = self.quote_char();
        format!("{q}{}{q}", identifier.replace(q, &format!("{q}{q}")))
    }

    /// Which parts of a relation name are quoted unless the project's `quoting:` says otherwise.
    fn default_quote_policy(&self) -> Policy {
        Policy::ALL
    }

    /// Macro prefixes `adapter.dispatch` tries, most specific first (always ending in `default`).
    fn dispatch_prefixes(&self) -> &'static [&'static str];

    /// The sqlparser dialect compiled SQL is checked against.
    fn sql_dialect(&self) -> Box<dyn sqlparser::dialect::Dialect>;

    /// How a source whose data lives in files (`external_location`) is read, if the engine reads
    /// files directly; `None` means the source is a table like any other.
    fn external_source_sql(&self, _source: &SourceNode) -> Option<String> {
        None
    }
}

/// The adapter for a target.
pub fn for_target(target: &Target) -> Arc<dyn Adapter> {
    match &target.engine {
        EngineTarget::DuckDb(_) => Arc::new(DuckDb),
        EngineTarget::Athena(_) => Arc::new(Athena),
    }
}
