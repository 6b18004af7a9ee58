//! `external_location` on Athena's Hive tables: the folder the model names is the table's own,
//! each build published from a folder of its own inside it, the previous build's folder
//! deleted after the publish; files kiln did not write there, and the location itself, are
//! never deleted.

use super::Warehouse;
use super::harness::{create_analytics, create_hive_table};

#[test]
fn external_location_holds_each_build_and_keeps_what_kiln_did_not_write() {
    let model = |folder: &str| {
        format!(
            "{{{{ config(materialized='table', external_location='s3://' ~ env_var('KILN_TEST_BUCKET') ~ '/{folder}') }}}}\nselect 1 as id"
        )
    };
    let w = Warehouse::new(&[
        ("models/exported.sql", &model("exports/orders")),
        ("models/legacy.sql", &model("exports/legacy/")),
    ]);
    w.put("exports/orders/README.txt");
    w.put("exports/orders_v2/part-0.parquet");
    // a table another tool made at exactly the location `legacy` names
    w.put("exports/legacy/part-0.parquet");
    create_analytics(&w);
    create_hive_table(
        &w,
        "legacy",
        &[("id", "bigint")],
        &format!("s3://{}/exports/legacy/", w.bucket),
    );
    let run = |w: &Warehouse| {
        w.project
            .kiln(&["run"])
            .env("KILN_TEST_KEY_ID", &w.key_id)
            .env("KILN_TEST_SECRET", super::SECRET)
            .env("KILN_TEST_BUCKET", &w.bucket)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .run()
    };
    run(&w).assert_success();
    let first = w.location("exported");
    let prefix = format!("s3://{}/exports/orders/", w.bucket);
    assert!(first.starts_with(&prefix) && first != prefix, "{first}");
    run(&w).assert_success();
    let second = w.location("exported");
    assert!(second.starts_with(&prefix) && second != first, "{second}");
    let legacy = w.location("legacy");
    assert!(
        legacy.starts_with(&format!("s3://{}/exports/legacy/", w.bucket)),
        "{legacy}"
    );
    let bucket = format!("s3://{}/", w.bucket);
    let keys = w.keys();
    let mut want = vec![
        "exports/legacy/part-0.parquet".to_string(),
        format!("{}part-00000.parquet", legacy.trim_start_matches(&bucket)),
        "exports/orders/README.txt".to_string(),
        format!("{}part-00000.parquet", second.trim_start_matches(&bucket)),
        "exports/orders_v2/part-0.parquet".to_string(),
    ];
    want.sort();
    assert_eq!(keys, want, "the first build's files went, nothing else did");
    // nothing was ever deleted outside a build folder of the model's location
    for c in w.calls().iter().filter(|c| c.starts_with("DeleteObjects")) {
        for key in c.trim_start_matches("DeleteObjects ").split(' ') {
            assert!(
                key.starts_with("exports/orders/[BUILD]/")
                    || key.starts_with("exports/legacy/[BUILD]/"),
                "{c}"
            );
        }
    }
}
