//! Tables on an engine whose tables are files published through a catalog (Athena: S3 and
//! Glue; [`Adapter::supports_catalog_publish`]). Never lose data:
//!
//! 1. recover: finish or roll back what an interrupted build left (`__ha`, `__bkp`,
//!    `__dbt_tmp` tables, files no table reads), before anything else;
//! 2. build aside: `create table <t>__ha` under a fresh location of its own (the table's
//!    folder, a new build id), while readers still read the previous version;
//! 3. publish: one catalog update points `<t>` at the new data (or creates it); then the
//!    staged entry goes; then, last, the previous version's files are deleted, only inside the
//!    folder kiln owns for the table.
//!
//! A crash or failure at any point leaves the previous version what readers see (or, after
//! step 3's catalog update, the new one), and the next run's step 1 cleans up. A table with
//! no previous version is created in place (one `create table as`, which registers the table
//! only when it succeeded).

use super::PlanError;
use super::plan::{Plan, Step};
use super::relation::RelationTarget;
use crate::adapter::{
    Adapter, CatalogName, RelationKind, StorageCall, TableLocation, TableStorage,
};
use crate::project::Node;
use serde_json::Value as Json;

/// The suffix of the table a new version is built under.
pub const STAGED_SUFFIX: &str = "__ha";
/// The suffix of the table an incremental step stages its new rows in, and a seed its CSV.
pub const STAGE_SUFFIX: &str = "__dbt_tmp";

/// How the node's table is stored, from its config (dbt-athena's keys).
pub fn storage_of(node: &Node) -> TableStorage {
    let text = |k: &str| {
        node.config
            .get(k)
            .and_then(Json::as_str)
            .map(str::to_string)
    };
    let list = |k: &str| match node.config.get(k) {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    };
    let table_properties = match node.config.get("table_properties") {
        Some(Json::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Json::String(s) => crate::adapter::string_literal(s),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        _ => vec![],
    };
    TableStorage {
        location: None,
        iceberg: text("table_type").is_some_and(|t| t.eq_ignore_ascii_case("iceberg")),
        format: text("format"),
        partitioned_by: list("partitioned_by"),
        bucketed_by: list("bucketed_by"),
        bucket_count: node.config.get("bucket_count").and_then(Json::as_u64),
        write_compression: text("write_compression"),
        field_delimiter: text("field_delimiter"),
        table_properties,
    }
}

/// The model's `external_location` (dbt-athena's), as a folder (`s3://bucket/path/`); a value
/// that is not an S3 folder below a bucket is an error.
fn external_location(node: &Node) -> Result<Option<String>, PlanError> {
    let Some(v) = node
        .config
        .get("external_location")
        .filter(|v| !v.is_null())
    else {
        return Ok(None);
    };
    let text = v.as_str().unwrap_or_default().trim();
    let rest = text.strip_prefix("s3://").unwrap_or_default();
    let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() || path.trim_matches('/').is_empty() {
        return Err(PlanError(format!(
            "{}: external_location {v} is not a folder inside an S3 bucket; write it \
             s3://bucket/path/ (kiln never writes to, or deletes from, a bucket's root)",
            node.original_file_path
        )));
    }
    Ok(Some(format!("{}/", text.trim_end_matches('/'))))
}

fn catalog_name(t: &RelationTarget) -> CatalogName {
    CatalogName {
        schema: t.schema.clone(),
        identifier: t.identifier.clone(),
    }
}

/// A fresh build id (a location no earlier build used).
pub fn build_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The plan of a table (or an incremental model's full build) on such an engine; `build` names
/// this build's location.
pub fn table(
    adapter: &dyn Adapter,
    node: &Node,
    sql: &str,
    existing: Option<RelationKind>,
    build: &str,
) -> Result<Plan, PlanError> {
    let target = RelationTarget::of(node);
    let name = catalog_name(&target);
    let loc = match external_location(node)? {
        Some(external) => {
            if storage_of(node).iceberg || node.materialized() != "table" {
                return Err(PlanError(format!(
                    "{}: external_location is honoured for Hive table models (each build \
                     under a folder of its own inside it); Iceberg tables and incremental \
                     models go where s3_data_dir and s3_data_naming say: remove \
                     external_location",
                    node.original_file_path
                )));
            }
            // Each build in a folder of its own inside the location the model names, which
            // kiln owns as the table's folder. Files kiln did not write there are never swept
            // (`shared`), and the location itself is never deleted (it holds the new build).
            TableLocation {
                location: format!("{external}{build}/"),
                owned: external,
                unique: true,
                shared: true,
            }
        }
        None => adapter
            .table_location(&target.schema, &target.identifier, build)
            .ok_or_else(|| {
                PlanError(format!(
                    "{}: the {} target has no S3 location for tables (s3_data_dir or s3_staging_dir)",
                    node.original_file_path,
                    adapter.adapter_type()
                ))
            })?,
    };
    let mut storage = storage_of(node);
    storage.location = Some(loc.location.clone());
    let mut steps = vec![Step::Storage(StorageCall::Recover {
        target: name.clone(),
        owned: loc.owned.clone(),
        sweep: !loc.shared,
    })];
    match existing {
        None => {
            steps.push(Step::Execute(adapter.create_table_as_stored_sql(
                &target.sql(adapter),
                sql,
                &storage,
            )));
        }
        Some(_) if loc.unique && loc.location == loc.owned => {
            return Err(PlanError(format!(
                "{}: s3_data_naming 'unique' puts each build of {} in a folder of its own \
                 directly under s3_data_dir, so kiln cannot tell the previous version's files \
                 from other tables' and will not replace it; use schema_table_unique (the \
                 default) or table_unique",
                node.original_file_path, target.identifier
            )));
        }
        Some(_) if !loc.unique => {
            return Err(PlanError(format!(
                "{}: s3_data_naming gives every build of {} the same location, so kiln cannot \
                 build the new version beside the one readers see (and will not delete it \
                 first); use schema_table_unique (the default) or table_unique",
                node.original_file_path, target.identifier
            )));
        }
        Some(_) => {
            let staged = target.suffixed(STAGED_SUFFIX);
            steps.push(Step::Execute(adapter.create_table_as_stored_sql(
                &staged.sql(adapter),
                sql,
                &storage,
            )));
            steps.push(Step::Storage(StorageCall::Publish {
                staged: catalog_name(&staged),
                target: name,
                owned: loc.owned,
            }));
        }
    }
    Ok(Plan::new(steps))
}

/// The plan of a seed on such an engine (dbt-athena's upload recipe, built aside and published
/// as a table is): the CSV file uploaded under the seed's own folder, an external table of
/// strings over it (`<seed>__dbt_tmp`), the typed table built from it with casts, the
/// external table and its file dropped last.
pub fn seed(
    adapter: &dyn Adapter,
    node: &Node,
    path: &std::path::Path,
    columns: &[(String, String, bool)],
    delimiter: char,
    existing: Option<RelationKind>,
    build: &str,
) -> Result<Plan, PlanError> {
    let target = RelationTarget::of(node);
    let Some(loc) = adapter.table_location(&target.schema, &target.identifier, build) else {
        return Err(PlanError(format!(
            "{}: the {} target has no S3 location for tables",
            node.original_file_path,
            adapter.adapter_type()
        )));
    };
    let csv_folder = format!("{}{build}-csv/", loc.owned);
    let file_name = path
        .file_name()
        .map_or_else(|| "seed.csv".into(), |f| f.to_string_lossy().into_owned());
    let tmp = target.suffixed(STAGE_SUFFIX);
    let names: Vec<String> = columns.iter().map(|(n, _, _)| n.clone()).collect();
    let Some(external) = adapter.csv_table_sql(&tmp.sql(adapter), &names, &csv_folder, delimiter)
    else {
        return Err(PlanError(format!(
            "{}: the {} adapter reads no CSV files from storage",
            node.original_file_path,
            adapter.adapter_type()
        )));
    };
    let casts: Vec<String> = columns
        .iter()
        .map(|(name, data_type, trim)| {
            let col = adapter.quote(name);
            let value = if *trim {
                // dbt's NULLs: '' and 'null' in any case
                format!("nullif(nullif(lower(trim({col})), ''), 'null')")
            } else {
                col.clone()
            };
            if data_type.eq_ignore_ascii_case("varchar") {
                format!("{value} as {col}")
            } else {
                format!("{} as {col}", adapter.cast_sql(&value, data_type))
            }
        })
        .collect();
    let select = format!(
        "select\n    {}\nfrom {}",
        casts.join(",\n    "),
        tmp.sql(adapter)
    );
    let built = table(adapter, node, &select, existing, build)?;
    let mut steps = vec![];
    let mut rest = built.steps.into_iter();
    // (the recover step first, then the upload and the external table, then the build)
    steps.extend(rest.next());
    steps.push(Step::Storage(StorageCall::Upload {
        file: path.display().to_string(),
        key: format!("{csv_folder}{file_name}"),
        owned: loc.owned.clone(),
    }));
    steps.push(Step::Execute(external));
    steps.extend(rest);
    steps.push(Step::Storage(StorageCall::Drop {
        target: catalog_name(&tmp),
        owned: loc.owned,
    }));
    Ok(Plan::new(steps))
}

/// The plan of a view on such an engine: `create or replace view`, after dropping a table of
/// that name through the catalog (its files with it, inside its own folder only).
pub fn view(adapter: &dyn Adapter, node: &Node, sql: &str, existing: Option<RelationKind>) -> Plan {
    let target = RelationTarget::of(node);
    let create = adapter.replace_view_sql(&target.sql(adapter), sql);
    match (
        existing,
        adapter.table_location(&target.schema, &target.identifier, ""),
    ) {
        (Some(RelationKind::Table), Some(loc)) => Plan::new(vec![
            Step::Storage(StorageCall::Drop {
                target: catalog_name(&target),
                owned: loc.owned,
            }),
            Step::Execute(create),
        ]),
        _ => Plan::executes(vec![create]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::Athena;
    use crate::project::ResourceType;
    use serde_json::json;

    #[test]
    fn replacing_needs_a_location_of_its_own() {
        let node = Node::sample(
            ResourceType::Model,
            "orders",
            json!({"materialized": "table"}),
        );
        let athena = Athena::sample();
        // a new table: created in place
        assert!(table(&athena, &node, "select 1", None, "b1").is_ok());
        // an external_location is the table's folder: each build inside it
        let ext = Node::sample(
            ResourceType::Model,
            "orders",
            json!({"materialized": "table", "external_location": "s3://x/y"}),
        );
        let plan =
            table(&athena, &ext, "select 1", Some(RelationKind::Table), "b1").expect("planned");
        insta::assert_snapshot!(plan.script(&athena), @r#"
        -- kiln: recover main.orders (owned s3://x/y/)

        create table "warehouse"."main"."orders__ha"
        with (
            table_type='hive',
            external_location='s3://x/y/b1/',
            format='parquet'
        )
        as
        select 1;

        -- kiln: publish main.orders__ha as main.orders (owned s3://x/y/)
        "#);
        // but not for Iceberg tables, nor at a bucket's root
        for (config, message) in [
            (
                json!({"materialized": "table", "table_type": "iceberg", "external_location": "s3://x/y/"}),
                "external_location is honoured for Hive table models",
            ),
            (
                json!({"materialized": "table", "external_location": "s3://x/"}),
                "is not a folder inside an S3 bucket",
            ),
        ] {
            let node = Node::sample(ResourceType::Model, "orders", config);
            let e = table(&athena, &node, "select 1", None, "b1").expect_err("refused");
            assert!(e.0.contains(message), "{}", e.0);
        }
    }
}
