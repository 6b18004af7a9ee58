//! Athena's catalog rows, read from Glue (`GetTables`, every page, one listing per schema), never
//! `information_schema` (slow on big catalogs, Tomme/dbt-athena#79): what `kiln docs generate`
//! writes catalog.json from and what the column lineage reads upstream relations' columns from
//! (`Connection::catalog`).
//!
//! Per table: its kind (`table`, `view`, as dbt-athena names them), Glue's description and owner,
//! the data columns then the partition keys with Glue's types (lower case, as Athena shows them)
//! and comments, and the statistics Glue keeps in the table's parameters (row count, size,
//! files, last change) plus its partition keys, as catalog.json `stats`.

use super::super::aws::{GlueTable, TableKind};
use super::super::{CatalogColumn, CatalogStat};
use serde_json::Value;

/// The statistics Glue keeps in a table's parameters: (parameter, id, label, description).
/// Numbers stay numbers; the first parameter present of a repeated id wins.
const STATS: &[(&str, &str, &str, &str)] = &[
    (
        "numRows",
        "num_rows",
        "# Rows",
        "Approximate count of rows in this table (Glue's numRows)",
    ),
    (
        "recordCount",
        "num_rows",
        "# Rows",
        "Approximate count of rows in this table (Glue's recordCount, from a crawler)",
    ),
    (
        "totalSize",
        "num_bytes",
        "Approximate Size",
        "Approximate size of the table's data in bytes (Glue's totalSize)",
    ),
    (
        "rawDataSize",
        "num_bytes",
        "Approximate Size",
        "Approximate size of the table's data in bytes (Glue's rawDataSize)",
    ),
    (
        "sizeKey",
        "num_bytes",
        "Approximate Size",
        "Approximate size of the table's data in bytes (Glue's sizeKey, from a crawler)",
    ),
    (
        "numFiles",
        "num_files",
        "# Files",
        "Number of data files (Glue's numFiles)",
    ),
    (
        "averageRecordSize",
        "average_record_size",
        "Average Row Size",
        "Average size of a row in bytes (Glue's averageRecordSize, from a crawler)",
    ),
    (
        "transient_lastDdlTime",
        "last_modified",
        "Last Modified",
        "When the table's definition last changed, in seconds since 1970 (Glue's transient_lastDdlTime)",
    ),
];

/// The catalog rows of `tables` (one Glue database's), named as the project names the
/// relations' database and schema (`database`, `schema`), in table and column order.
pub fn catalog_rows(database: &str, schema: &str, tables: &[GlueTable]) -> Vec<CatalogColumn> {
    let mut sorted: Vec<&GlueTable> = tables.iter().collect();
    sorted.sort_by(|a, b| a.name().cmp(b.name()));
    let mut out = vec![];
    for t in sorted {
        let sdk = t.sdk();
        let table_type = match t.kind() {
            TableKind::View => "view",
            TableKind::Table | TableKind::Iceberg => "table",
        };
        let stats = table_stats(t);
        let data = sdk
            .storage_descriptor()
            .map(|s| s.columns())
            .unwrap_or_default();
        for (i, c) in data.iter().chain(sdk.partition_keys()).enumerate() {
            out.push(CatalogColumn {
                database: database.to_string(),
                schema: schema.to_string(),
                table: t.name().to_string(),
                table_type: table_type.to_string(),
                table_comment: sdk.description().map(str::to_string),
                table_owner: sdk.owner().map(str::to_string),
                column: c.name().to_string(),
                index: i as i64 + 1,
                data_type: c.r#type().unwrap_or_default().to_string(),
                comment: c.comment().map(str::to_string),
                table_stats: stats.clone(),
            });
        }
    }
    out
}

/// A table's statistics from its Glue parameters and partition keys.
fn table_stats(t: &GlueTable) -> Vec<CatalogStat> {
    let params = t.parameters();
    let mut out: Vec<CatalogStat> = vec![];
    for (param, id, label, description) in STATS {
        if out.iter().any(|s| s.id == *id) {
            continue;
        }
        let Some(raw) = params.get(param) else {
            continue;
        };
        let value = raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| raw.trim().parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::from(raw.to_string()));
        // Glue writes -1 for "not computed".
        if value.as_f64().is_some_and(|v| v < 0.0) {
            continue;
        }
        out.push(CatalogStat {
            id: id.to_string(),
            label: label.to_string(),
            value,
            description: description.to_string(),
        });
    }
    let keys = t.partition_keys();
    if !keys.is_empty() {
        out.push(CatalogStat {
            id: "partition_keys".into(),
            label: "Partitioned By".into(),
            value: Value::from(keys.join(", ")),
            description: "The table's partition keys (Glue's PartitionKeys)".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_glue::types::{Column as GlueColumn, StorageDescriptor, Table};

    fn column(name: &str, ty: &str, comment: Option<&str>) -> GlueColumn {
        GlueColumn::builder()
            .name(name)
            .r#type(ty)
            .set_comment(comment.map(str::to_string))
            .build()
            .expect("a Glue column")
    }

    #[test]
    fn rows_carry_types_comments_partition_keys_and_stats() {
        let orders = Table::builder()
            .name("orders")
            .description("One row per order")
            .owner("analytics")
            .table_type("EXTERNAL_TABLE")
            .storage_descriptor(
                StorageDescriptor::builder()
                    .columns(column("order_id", "bigint", Some("the key")))
                    .columns(column("amount", "decimal(18,2)", None))
                    .build(),
            )
            .partition_keys(column("order_date", "date", None))
            .parameters("numRows", "42")
            .parameters("recordCount", "40")
            .parameters("totalSize", "-1")
            .parameters("numFiles", "3")
            .build()
            .expect("a Glue table");
        let view = Table::builder()
            .name("a_view")
            .table_type("VIRTUAL_VIEW")
            .storage_descriptor(
                StorageDescriptor::builder()
                    .columns(column("id", "integer", None))
                    .build(),
            )
            .build()
            .expect("a Glue view");
        let tables = [GlueTable::from_sdk(orders), GlueTable::from_sdk(view)];
        let rows = catalog_rows("awsdatacatalog", "Analytics", &tables);
        let shown: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{}.{}.{} {} #{} {} {} {:?} {:?} {:?}",
                    r.database,
                    r.schema,
                    r.table,
                    r.table_type,
                    r.index,
                    r.column,
                    r.data_type,
                    r.comment,
                    r.table_comment,
                    r.table_owner
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "awsdatacatalog.Analytics.a_view view #1 id integer None None None",
                "awsdatacatalog.Analytics.orders table #1 order_id bigint Some(\"the key\") Some(\"One row per order\") Some(\"analytics\")",
                "awsdatacatalog.Analytics.orders table #2 amount decimal(18,2) None Some(\"One row per order\") Some(\"analytics\")",
                "awsdatacatalog.Analytics.orders table #3 order_date date None Some(\"One row per order\") Some(\"analytics\")",
            ]
        );
        assert!(rows[0].table_stats.is_empty());
        // numRows before the crawler's recordCount; -1 (not computed) left out.
        let stats: Vec<(String, Value)> = rows[1]
            .table_stats
            .iter()
            .map(|s| (s.id.clone(), s.value.clone()))
            .collect();
        assert_eq!(
            stats,
            [
                ("num_rows".to_string(), Value::from(42)),
                ("num_files".to_string(), Value::from(3)),
                ("partition_keys".to_string(), Value::from("order_date")),
            ]
        );
    }
}
