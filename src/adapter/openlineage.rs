//! How OpenLineage names the datasets of each engine (OpenLineage's `naming.md`), so lineage
//! events from kiln join with those of other tools reading or writing the same tables:
//!
//! - DuckDB is not in OpenLineage's table; openlineage-dbt's form is used: namespace
//!   `duckdb://<database file>` (here the absolute path), name `<database>.<schema>.<table>`.
//! - Athena: namespace `awsathena://athena.<region>.amazonaws.com`, name
//!   `<catalog>.<database>.<table>` (dbt-athena's database is the catalog, its schema the Glue
//!   database).
//! - An engine without a rule: `<type>://<database>`.

use super::{AthenaTarget, DuckDbTarget};
use crate::project::profiles::ProfileTarget;
use std::path::Path;

/// The namespace of the datasets a target holds.
pub fn dataset_namespace(target: &ProfileTarget, project_dir: &Path) -> String {
    let fields = &target.fields;
    match target.adapter_type.as_str() {
        "duckdb" => match DuckDbTarget::read(fields, project_dir) {
            Ok(t) if t.path == ":memory:" => "duckdb://memory".into(),
            Ok(t) => {
                let path = std::path::absolute(&t.path)
                    .map_or(t.path.clone(), |p| p.display().to_string());
                format!("duckdb://{path}")
            }
            Err(_) => "duckdb://".into(),
        },
        "athena" => match AthenaTarget::read(fields) {
            Ok(t) => format!("awsathena://athena.{}.amazonaws.com", t.region_name),
            Err(_) => "awsathena://".into(),
        },
        other => format!("{other}://{}", target.database),
    }
}

/// The name of a relation in its namespace: its non-empty parts joined with dots.
pub fn dataset_name(database: &str, schema: &str, identifier: &str) -> String {
    [database, schema, identifier]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(adapter_type: &str, fields: serde_json::Value) -> ProfileTarget {
        ProfileTarget {
            profile_name: "p".into(),
            name: "dev".into(),
            adapter_type: adapter_type.into(),
            database: "db".into(),
            schema: "main".into(),
            threads: 1,
            fields: fields.as_object().cloned().unwrap_or_default(),
            details: vec![],
            profiles_path: "profiles.yml".into(),
        }
    }

    #[test]
    fn datasets_are_named_as_openlineage_names_them() {
        let duck = target("duckdb", json!({"type": "duckdb", "path": "dev.duckdb"}));
        assert_eq!(
            dataset_namespace(&duck, Path::new("/work/project")),
            "duckdb:///work/project/dev.duckdb"
        );
        let memory = target("duckdb", json!({"type": "duckdb"}));
        assert_eq!(
            dataset_namespace(&memory, Path::new("/p")),
            "duckdb://memory"
        );
        let athena = target(
            "athena",
            json!({"type": "athena", "s3_staging_dir": "s3://b/", "region_name": "eu-west-1",
                   "schema": "analytics"}),
        );
        assert_eq!(
            dataset_namespace(&athena, Path::new("/p")),
            "awsathena://athena.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            dataset_name("awsdatacatalog", "analytics", "orders"),
            "awsdatacatalog.analytics.orders"
        );
        assert_eq!(dataset_name("", "main", "orders"), "main.orders");
    }
}
