//! Glue's batch partition calls (`create_partitions`, `update_partitions`, `delete_partitions`),
//! which `insert_overwrite` and `kiln erase` publish partitions with: one call per batch of
//! Glue's limit (100, 100 and 25 partitions), and a partition Glue refuses is an error saying
//! how many it refused, which first and Glue's reason.

use super::*;
use aws_sdk_glue::types::Partition;

/// The partition `dt=<value>` at `location`.
fn partition(value: &str, location: &str) -> Partition {
    Partition::builder()
        .values(value)
        .storage_descriptor(StorageDescriptor::builder().location(location).build())
        .build()
}

/// `n` partitions of `dt` under `folder` (`<folder>dt=<value>/`).
fn partitions(n: usize, folder: &str) -> Vec<Partition> {
    (0..n)
        .map(|i| {
            let value = format!("2024-{i:03}");
            partition(&value, &format!("{folder}dt={value}/"))
        })
        .collect()
}

/// Partitions as (value, location), sorted.
fn pairs(parts: &[Partition]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = parts
        .iter()
        .map(|p| {
            (
                p.values().join("/"),
                p.storage_descriptor()
                    .and_then(|s| s.location())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `database.table`'s partitions as Glue holds them, as [`pairs`].
fn held(c: &AwsClient, database: &str, table: &str) -> Vec<(String, String)> {
    pairs(
        &c.get_partitions(database, table)
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

#[test]
fn partitions_go_in_batches_of_glues_limit_and_a_refused_one_is_named() {
    let aws = Aws::new();
    let c = aws.client();
    let db = moto::unique("kiln_parts_");
    let loc = format!("s3://{}/data/{db}/events/", aws.bucket);
    c.create_database(&db, None)
        .unwrap_or_else(|e| panic!("{e}"));
    c.create_table(&db, &table_input("events", &loc))
        .unwrap_or_else(|e| panic!("{e}"));

    // registered: 130 partitions in two calls
    let first = partitions(130, &loc);
    aws.proxy.clear();
    c.create_partitions(&db, "events", &first)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(aws.proxy.ops(), ["BatchCreatePartition"; 2]);
    assert_eq!(held(&c, &db, "events"), pairs(&first));

    // repointed: the same values at new folders, in two calls
    let moved = partitions(130, &format!("{loc}kiln-build-0/"));
    aws.proxy.clear();
    c.update_partitions(&db, "events", &moved)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(aws.proxy.ops(), ["BatchUpdatePartition"; 2]);
    assert_eq!(held(&c, &db, "events"), pairs(&moved));

    // refused: a partition registered again is named, with Glue's reason
    let err = c
        .create_partitions(&db, "events", &moved[..1])
        .expect_err("the partition exists");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "Glue did not register 1 partition(s) of {db}.events; first (2024-000): "
        )) && !text.ends_with("no reason given"),
        "{text}"
    );
    // and one that does not exist cannot be updated
    let missing = [partition("2025-000", &format!("{loc}dt=2025-000/"))];
    let err = c
        .update_partitions(&db, "events", &missing)
        .expect_err("no such partition");
    assert!(
        err.to_string().contains(&format!(
            "Glue did not update 1 partition(s) of {db}.events; first (2025-000): "
        )),
        "{err}"
    );

    // removed: 60 partitions in three calls (25 each), their entries only
    aws.proxy.clear();
    c.delete_partitions(&db, "events", &moved[..60])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(aws.proxy.ops(), ["BatchDeletePartition"; 3]);
    assert_eq!(held(&c, &db, "events"), pairs(&moved[60..]));

    // nothing to do is no call at all
    aws.proxy.clear();
    c.create_partitions(&db, "events", &[])
        .unwrap_or_else(|e| panic!("{e}"));
    c.update_partitions(&db, "events", &[])
        .unwrap_or_else(|e| panic!("{e}"));
    c.delete_partitions(&db, "events", &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(aws.proxy.ops().is_empty(), "{:?}", aws.proxy.ops());
}
