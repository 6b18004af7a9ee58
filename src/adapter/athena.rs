//! AWS Athena (Trino engine). Parsed and compiled now; execution arrives in a later issue.
//!
//! What Athena lacks shows in its capabilities: no transactions, no `rename` of a table (dbt-athena
//! renames through the Glue API), no temporary tables, no `comment on`. Its expressions are
//! Trino's. The DDL of its tables (Hive or Iceberg, with `with (...)` properties) comes with
//! execution.

use super::{Adapter, Connection, DbError};
use crate::project::profiles::{FieldError, TargetDefaults, TargetFields};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A `type: athena` target of profiles.yml (dbt-athena's settings).
#[derive(Debug, Clone, Deserialize)]
pub struct AthenaTarget {
    pub s3_staging_dir: String,
    #[serde(default)]
    pub s3_data_dir: Option<String>,
    #[serde(default)]
    pub s3_data_naming: Option<String>,
    pub region_name: String,
    #[serde(default = "default_catalog")]
    pub database: String,
    pub schema: String,
    #[serde(default)]
    pub work_group: Option<String>,
    #[serde(default)]
    pub aws_profile_name: Option<String>,
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default)]
    pub num_retries: Option<u32>,
    #[serde(default)]
    pub poll_interval: Option<f64>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

fn default_catalog() -> String {
    "awsdatacatalog".into()
}

impl AthenaTarget {
    /// Reads a target's fields.
    pub fn read(fields: &Map<String, Value>) -> Result<Self, FieldError> {
        serde_json::from_value(Value::Object(fields.clone())).map_err(|e| FieldError {
            message: e.to_string(),
            required: "athena targets need s3_staging_dir, region_name and schema",
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Athena {
    target: Option<AthenaTarget>,
}

impl Athena {
    /// The adapter of a `type: athena` target (the registry's constructor).
    pub fn from_profile(target: TargetFields<'_>) -> Result<Self, FieldError> {
        Ok(Athena {
            target: Some(AthenaTarget::read(target.fields)?),
        })
    }
}

impl Adapter for Athena {
    fn adapter_type(&self) -> &'static str {
        "athena"
    }

    fn target_defaults(&self) -> TargetDefaults {
        match &self.target {
            Some(t) => TargetDefaults {
                database: t.database.clone(),
                schema: t.schema.clone(),
                threads: t.threads,
                details: vec![format!(
                    "athena region: {}  work group: {}  staging: {}",
                    t.region_name,
                    t.work_group.as_deref().unwrap_or("primary"),
                    t.s3_staging_dir
                )],
            },
            None => TargetDefaults {
                database: default_catalog(),
                schema: String::new(),
                threads: None,
                details: vec![],
            },
        }
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

    /// dbt-athena renames through the Glue API, not in SQL.
    fn supports_rename(&self) -> bool {
        false
    }

    fn supports_temporary_tables(&self) -> bool {
        false
    }

    /// Trino's `md5` takes and returns varbinary.
    fn hash_sql(&self, expr: &str) -> String {
        format!("lower(to_hex(md5(to_utf8({expr}))))")
    }

    fn epoch_seconds_sql(&self, expr: &str) -> String {
        format!("to_unixtime({expr})")
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
