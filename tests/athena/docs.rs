//! `persist_docs` on Athena through Glue (`UpdateTable` of the published table's definition,
//! its other properties kept), and `versions_to_keep` (old Glue versions of the table's
//! definition deleted with `DeleteTableVersion`).

use super::Warehouse;
use serde_json::json;

const DOCUMENTED: &str = "{{ config(materialized='table', persist_docs={'relation': true, 'columns': true}, versions_to_keep=2) }}\nselect 1 as id";

const SCHEMA: &str = "version: 2\nmodels:\n  - name: orders\n    description: One row per order.\n    columns:\n      - name: id\n        description: The order's key.\n      - name: gone\n        description: Not a column of the table.\n";

fn versions(w: &Warehouse, name: &str) -> usize {
    let r = w.glue(
        "GetTableVersions",
        json!({"DatabaseName": "analytics", "TableName": name}),
    );
    assert_eq!(r.status(), 200, "{}", r.text());
    r.json()["TableVersions"].as_array().map_or(0, Vec::len)
}

#[test]
fn persist_docs_writes_descriptions_into_glue_and_versions_are_expired() {
    let w = Warehouse::new(&[
        ("models/orders.sql", DOCUMENTED),
        (
            "models/plain.sql",
            "{{ config(materialized='table') }}\nselect 1 as id",
        ),
    ]);
    w.project.write("models/schema.yml", SCHEMA);
    w.kiln(&["run"]).assert_success();
    let t = w.table("orders").expect("orders");
    assert_eq!(t["Description"], "One row per order.");
    assert_eq!(t["Parameters"]["comment"], "One row per order.");
    // the table's other properties are kept
    assert_eq!(t["Parameters"]["classification"], "parquet");
    assert_eq!(t["TableType"], "EXTERNAL_TABLE");
    assert!(
        w.location("orders")
            .starts_with(&format!("s3://{}/data/analytics/orders/", w.bucket))
    );
    assert_eq!(
        t["StorageDescriptor"]["Columns"],
        json!([{"Name": "id", "Type": "bigint", "Comment": "The order's key."}])
    );
    // the first build created the table in place: the one update is the description's, at
    // the same location; an undocumented model gets none
    let calls = w.calls();
    let updates: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("UpdateTable"))
        .collect();
    assert_eq!(
        updates,
        ["UpdateTable orders -> s3://BUCKET/data/analytics/orders/[BUILD]/"],
        "{calls:#?}"
    );

    // three more builds: each publishes and describes (two versions each); Glue keeps 2
    for _ in 0..3 {
        w.kiln(&["run"]).assert_success();
    }
    assert_eq!(versions(&w, "orders"), 2);
    assert!(
        versions(&w, "plain") > 2,
        "no versions_to_keep: Glue keeps every version"
    );
    let t = w.table("orders").expect("orders");
    assert_eq!(t["Description"], "One row per order.");
    assert_eq!(
        t["StorageDescriptor"]["Columns"][0]["Comment"],
        "The order's key."
    );
    let calls = w.calls();
    assert!(
        calls.iter().any(|c| c == "DeleteTableVersion"),
        "{calls:#?}"
    );
    // the describe and the expiry come after the publish
    let publish = calls
        .iter()
        .rposition(|c| c.starts_with("DeleteTable orders__ha"))
        .expect("a publish");
    let expire = calls
        .iter()
        .rposition(|c| c == "GetTableVersions")
        .expect("an expiry");
    assert!(publish < expire, "{calls:#?}");
}
