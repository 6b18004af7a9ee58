//! `kiln run --target athena` end to end against moto's server (a local AWS emulator,
//! `aws/moto.rs`), through the recording proxy (`aws/proxy.rs`), whose log is the exact list
//! of API calls kiln made. moto runs no SQL: the proxy plays the engine (`Rule::Engine`: a
//! CTAS registers its table in Glue and writes a file under its location, a view registers the
//! view), so what is asserted is what kiln asked for and what moto then holds: Glue tables,
//! their locations, S3 keys.
#![cfg(feature = "athena")]

#[path = "athena/docs.rs"]
mod docs;
#[path = "athena/external.rs"]
mod external;
#[path = "aws/http.rs"]
mod http;
#[path = "athena/lineage.rs"]
mod lineage;
#[path = "aws/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "aws/proxy.rs"]
mod proxy;
#[path = "athena/snapshot.rs"]
mod snapshot;
#[path = "cli/support.rs"]
mod support;
#[path = "athena/unit.rs"]
mod unit;
#[path = "athena/whole.rs"]
mod whole;

#[path = "athena/crash.rs"]
mod crash;
#[path = "athena/demo.rs"]
mod demo;
#[path = "athena/erase.rs"]
mod erase;
#[path = "athena/grammar.rs"]
mod grammar;
#[path = "athena/harness.rs"]
mod harness;
#[path = "athena/init.rs"]
mod init;
#[path = "athena/interrupt.rs"]
mod interrupt;
#[path = "athena/jaffle.rs"]
mod jaffle;
#[path = "athena/live.rs"]
mod live;
#[path = "athena/naming.rs"]
mod naming;

use moto::Account;
use proxy::{Proxy, Rule};
use serde_json::{Value, json};
use support::TestProject;

const SECRET: &str = "kilnAthenaSecretKey/wJalrXUtnFEMI+K7MDENGbPxRfiCY";

/// One test's account, proxy and bucket on the shared moto server, and a project whose
/// `athena` target points at them.
struct Warehouse {
    account: String,
    key_id: String,
    bucket: String,
    proxy: Proxy,
    project: TestProject,
}

/// The harness's view of moto's state (not recorded).
impl Account for Warehouse {
    fn account(&self) -> &str {
        &self.account
    }
}

impl Warehouse {
    fn new(models: &[(&str, &str)]) -> Warehouse {
        let moto = moto::moto();
        let account = moto::unique_account();
        let proxy = Proxy::start(moto.addr, &account);
        proxy.rule(Rule::Engine);
        let bucket = moto::unique("kiln-athena-");
        let mut project = TestProject::minimal().file(
            "profiles.yml",
            &format!(
                "shop:\n  target: athena\n  outputs:\n    athena:\n      type: athena\n      \
                 region_name: us-east-1\n      s3_staging_dir: s3://{bucket}/staging/\n      \
                 s3_data_dir: s3://{bucket}/data/\n      schema: analytics\n      \
                 endpoint_url: {}\n      num_retries: 1\n      poll_interval: 0.01\n      threads: 1\n      \
                 aws_access_key_id: \"{{{{ env_var('KILN_TEST_KEY_ID') }}}}\"\n      \
                 aws_secret_access_key: \"{{{{ env_var('KILN_TEST_SECRET') }}}}\"\n",
                proxy.url()
            ),
        );
        for (path, sql) in models {
            project = project.file(path, sql);
        }
        Warehouse::with_bucket(account, proxy, bucket, "AKIAKILNATHENA", project)
    }

    /// The warehouse of `account` behind `proxy`, its access key id new (`key_prefix` and a
    /// unique tail) and its `bucket` created in moto.
    fn with_bucket(
        account: String,
        proxy: Proxy,
        bucket: String,
        key_prefix: &str,
        project: TestProject,
    ) -> Warehouse {
        let w = Warehouse {
            key_id: moto::unique(key_prefix).to_uppercase(),
            account,
            bucket,
            proxy,
            project,
        };
        let r = w.raw("s3", "PUT", &format!("/{}", w.bucket), &[], b"");
        assert_eq!(r.status(), 200, "create bucket: {}", r.text());
        w
    }

    /// A Glue API call straight to moto ([`moto::Account::glue`], here without importing it).
    fn glue(&self, target: &str, body: Value) -> http::Message {
        Account::glue(self, target, body)
    }

    /// A Glue table of the `analytics` database, as moto holds it.
    fn table(&self, name: &str) -> Option<Value> {
        let r = self.glue(
            "GetTable",
            json!({"DatabaseName": "analytics", "Name": name}),
        );
        (r.status() == 200).then(|| r.json()["Table"].clone())
    }

    fn location(&self, name: &str) -> String {
        let t = self
            .table(name)
            .unwrap_or_else(|| panic!("no Glue table {name}"));
        t["StorageDescriptor"]["Location"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Every Glue table name of `analytics`.
    fn tables(&self) -> Vec<String> {
        let r = self.glue("GetTables", json!({"DatabaseName": "analytics"}));
        let mut names: Vec<String> = r.json()["TableList"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t["Name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn put(&self, key: &str) {
        let r = self.raw(
            "s3",
            "PUT",
            &format!("/{}/{key}", self.bucket),
            &[],
            b"data",
        );
        assert_eq!(r.status(), 200, "put {key}: {}", r.text());
    }

    /// Every key of the bucket outside `staging/` (query results).
    fn keys(&self) -> Vec<String> {
        let r = self.raw(
            "s3",
            "GET",
            &format!("/{}?list-type=2", self.bucket),
            &[],
            b"",
        );
        let text = r.text();
        let mut keys: Vec<String> = text
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .filter(|k| !k.starts_with("staging/"))
            .map(str::to_string)
            .collect();
        keys.sort();
        keys
    }

    fn kiln(&self, args: &[&str]) -> support::Run {
        self.kiln_with(args, &[])
    }

    /// [`Warehouse::kiln`] with more environment variables.
    fn kiln_with(&self, args: &[&str], env: &[(&str, &str)]) -> support::Run {
        let mut k = self
            .project
            .kiln(args)
            .env("KILN_TEST_KEY_ID", &self.key_id)
            .env("KILN_TEST_SECRET", SECRET)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (key, value) in env {
            k = k.env(key, value);
        }
        k.run()
    }

    /// The API calls kiln made since the last `clear`, as `op` or `op name` for Glue table
    /// calls and `op key` for S3 object calls, with the build ids replaced.
    fn calls(&self) -> Vec<String> {
        let ids =
            regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
                .expect("regex");
        self.proxy
            .calls()
            .iter()
            .map(|c| {
                let body = c.json();
                let detail = match c.op.as_str() {
                    "GetTable" | "DeleteTable" => body["Name"].as_str().map(str::to_string),
                    "CreateTable" | "UpdateTable" => body["TableInput"]["Name"].as_str().map(|n| {
                        format!(
                            "{n} -> {}",
                            body["TableInput"]["StorageDescriptor"]["Location"]
                                .as_str()
                                .unwrap_or("")
                        )
                    }),
                    "StartQueryExecution" => body["QueryString"]
                        .as_str()
                        .and_then(|q| q.lines().next())
                        .map(str::to_string),
                    "ListObjectsV2" => c
                        .path
                        .split("prefix=")
                        .nth(1)
                        .map(|p| p.split('&').next().unwrap_or("").replace("%2F", "/")),
                    "DeleteObjects" => {
                        let text = String::from_utf8_lossy(&c.body).to_string();
                        Some(
                            text.split("<Key>")
                                .skip(1)
                                .filter_map(|s| s.split("</Key>").next())
                                .collect::<Vec<_>>()
                                .join(" "),
                        )
                    }
                    _ => None,
                };
                let line = match detail {
                    Some(d) => format!("{} {d}", c.op),
                    None => c.op.clone(),
                };
                ids.replace_all(&line.replace(&self.bucket, "BUCKET"), "[BUILD]")
                    .into_owned()
            })
            .filter(|l| !l.starts_with("GetQueryExecution"))
            .collect()
    }
}

const VIEW: &str = "{{ config(materialized='view') }}\nselect 1 as id";
const TABLE: &str = "{{ config(materialized='table') }}\nselect 1 as id";

/// A table is built aside and published through Glue; the previous version's files go only
/// after the publish, only inside the table's own folder: a sibling `orders_v2/` and another
/// team's folder survive every run.
#[test]
fn tables_are_built_aside_and_published_through_glue() {
    let w = Warehouse::new(&[("models/orders.sql", TABLE), ("models/v_orders.sql", VIEW)]);
    w.put("data/analytics/orders_v2/part-0.parquet");
    w.put("other-team/export.csv");

    // first run: the schema, the table created in place, the view
    let run = w.kiln(&["run"]);
    run.assert_success();
    assert_eq!(w.tables(), ["orders", "v_orders"]);
    let first = w.location("orders");
    assert!(
        first.starts_with(&format!("s3://{}/data/analytics/orders/", w.bucket))
            && first.ends_with('/'),
        "{first}"
    );
    assert_eq!(
        w.table("v_orders").expect("the view")["TableType"],
        "VIRTUAL_VIEW"
    );
    insta::assert_snapshot!("first_run", w.calls().join("\n"));

    // second run: built aside under a new location, published, old files deleted after
    w.proxy.clear();
    w.kiln(&["run", "-s", "orders"]).assert_success();
    let second = w.location("orders");
    assert_ne!(first, second);
    assert_eq!(w.tables(), ["orders", "v_orders"], "no __ha left");
    let first_key = format!(
        "{}part-00000.parquet",
        first.trim_start_matches(&format!("s3://{}/", w.bucket))
    );
    let second_key = format!(
        "{}part-00000.parquet",
        second.trim_start_matches(&format!("s3://{}/", w.bucket))
    );
    assert_eq!(
        w.keys(),
        [
            second_key.as_str(),
            "data/analytics/orders_v2/part-0.parquet",
            "other-team/export.csv"
        ]
    );
    assert!(!w.keys().contains(&first_key));
    let calls = w.calls();
    // the publish (UpdateTable) comes before any delete
    let publish = calls
        .iter()
        .position(|c| c.starts_with("UpdateTable orders "))
        .expect("a publish");
    let delete = calls
        .iter()
        .position(|c| c.starts_with("DeleteObjects"))
        .expect("a delete");
    assert!(publish < delete, "{calls:#?}");
    insta::assert_snapshot!("second_run", calls.join("\n"));
}

/// What an interrupted build left is finished or rolled back on the next run: a staged
/// `orders__ha` that was never published goes with its files; one the table already points
/// at (killed between the publish and the cleanup) loses only its catalog entry.
#[test]
fn leftovers_of_an_interrupted_build_are_recovered() {
    let w = Warehouse::new(&[("models/orders.sql", TABLE)]);
    w.kiln(&["run"]).assert_success();
    let live = w.location("orders");
    let prefix = format!("s3://{}/", w.bucket);
    // killed after the CTAS of __ha, before the publish
    let stale = format!("{prefix}data/analytics/orders/stale-build/");
    w.put("data/analytics/orders/stale-build/part-00000.parquet");
    let create = |name: &str, location: &str| {
        harness::create_hive_table(&w, name, &[("id", "bigint")], location);
    };
    create("orders__ha", &stale);
    // killed after a publish, before the staged entry went
    create("orders__dbt_tmp", &live);
    w.proxy.clear();
    w.kiln(&["run"]).assert_success();
    assert_eq!(w.tables(), ["orders"]);
    let now = w.location("orders");
    assert_ne!(now, live);
    let keys = w.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with(now.trim_start_matches(&prefix)),
        "{keys:?}"
    );
    let calls = w.calls();
    assert!(
        calls.contains(&"DeleteTable orders__ha".to_string()),
        "{calls:#?}"
    );
    assert!(
        calls.contains(&"DeleteTable orders__dbt_tmp".to_string()),
        "{calls:#?}"
    );
}

/// A table kiln did not create (its data outside the folder kiln owns for it) is neither
/// replaced nor dropped, and its data is left alone: the model fails saying so.
#[test]
fn a_table_kiln_did_not_create_is_never_replaced() {
    let w = Warehouse::new(&[("models/legacy.sql", TABLE), ("models/old_view.sql", VIEW)]);
    w.kiln(&["run", "-s", "old_view"]).assert_success();
    w.put("other-team/legacy/part-0.parquet");
    w.put("data/analytics/legacy_v2/part-0.parquet");
    let location = format!("s3://{}/other-team/legacy/", w.bucket);
    for name in ["legacy", "old_view_as_table"] {
        harness::create_hive_table(&w, name, &[("id", "bigint")], &location);
    }
    let run = w.kiln(&["run", "-s", "legacy"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains(
            "kiln refuses to replace or drop the table analytics.legacy: its data is at s3://"
        ) && run.stdout.contains("/other-team/legacy/, outside s3://"),
        "{}",
        run.stdout
    );
    assert_eq!(
        w.location("legacy"),
        format!("s3://{}/other-team/legacy/", w.bucket)
    );
    assert!(
        w.keys()
            .contains(&"other-team/legacy/part-0.parquet".to_string())
    );
    assert!(
        w.keys()
            .contains(&"data/analytics/legacy_v2/part-0.parquet".to_string())
    );
    assert!(
        !w.calls().iter().any(|c| c.starts_with("DeleteObjects")
            || c.starts_with("DeleteTable")
            || c.starts_with("StartQueryExecution create table")),
        "{:#?}",
        w.calls()
    );
}

/// Iceberg tables (`table_type: iceberg`) are built aside the same way: the CTAS says
/// `table_type='iceberg'` and `location`, and the publish carries the new metadata location.
#[test]
fn iceberg_tables_publish_their_new_metadata() {
    let w = Warehouse::new(&[(
        "models/events.sql",
        "{{ config(materialized='table', table_type='iceberg', partitioned_by=['day(ts)']) }}\nselect 1 as id",
    )]);
    w.kiln(&["run"]).assert_success();
    let first = w.table("events").expect("events")["Parameters"]["metadata_location"].clone();
    w.proxy.clear();
    w.kiln(&["run"]).assert_success();
    let table = w.table("events").expect("events");
    assert_eq!(table["Parameters"]["table_type"], "ICEBERG");
    assert_ne!(table["Parameters"]["metadata_location"], first);
    let calls = w.calls();
    let ctas = calls
        .iter()
        .find(|c| c.starts_with("StartQueryExecution create table"))
        .expect("a CTAS");
    assert_eq!(
        ctas,
        r#"StartQueryExecution create table "awsdatacatalog"."analytics"."events__ha""#
    );
    let sql = harness::queries(&w)
        .into_iter()
        .find(|q| q.starts_with("create table"))
        .expect("a CTAS");
    assert!(
        sql.contains("table_type='iceberg'") && sql.contains("partitioning=ARRAY['day(ts)']"),
        "{sql}"
    );
}

/// A CTAS that fails (Athena's FAILED state, injected: moto has none) fails the model with the
/// query id and Athena's reason, publishes nothing and deletes nothing: readers still see the
/// previous version. The next run rolls back what the failed build left and publishes.
#[test]
fn a_failed_build_leaves_the_previous_version_published() {
    let w = Warehouse::new(&[("models/orders.sql", TABLE)]);
    w.kiln(&["run"]).assert_success();
    let first = w.location("orders");
    let keys = w.keys();
    w.proxy.rule(Rule::FailQueries {
        times: 1,
        reason: "HIVE_BAD_DATA: Error parsing field value 'x' for field 0".into(),
    });
    w.proxy.clear();
    let run = w.kiln(&["run"]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("HIVE_BAD_DATA: Error parsing field value 'x' for field 0")
            && run.stdout.contains("query id"),
        "{}",
        run.stdout
    );
    assert_eq!(w.location("orders"), first);
    let calls = w.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("UpdateTable") || c.starts_with("DeleteObjects")),
        "{calls:#?}"
    );
    // the engine had registered the failed build's table and written a file: both go next time
    assert!(w.tables().contains(&"orders__ha".to_string()));
    w.kiln(&["run"]).assert_success();
    assert_eq!(w.tables(), ["orders"]);
    assert_ne!(w.location("orders"), first);
    assert_eq!(w.keys().len(), keys.len(), "{:?}", w.keys());
}

/// A seed (dbt-athena's upload recipe): its CSV file uploaded under the seed's own folder, an
/// external table of strings over it, the typed table built from it with casts and published;
/// the external table and the uploaded file are gone after the run. The second run publishes
/// a new version and deletes the first one's files.
#[test]
fn seeds_upload_their_csv_under_their_own_folder() {
    let w = Warehouse::new(&[]);
    w.project.write(
        "seeds/plans.csv",
        "id,name,price,starts\n1,basic,9.5,2024-01-01\n2,\"pro, yearly\",99,\n",
    );
    w.put("data/analytics/plans_v2/part-0.parquet");
    w.kiln(&["seed"]).assert_success();
    assert_eq!(w.tables(), ["plans"]);
    let first = w.location("plans");
    let sql = harness::statements(&w).join(";\n\n");
    insta::assert_snapshot!("seed_statements", sql);
    let uploads: Vec<String> = w
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("PutObject") || c.starts_with("DeleteObjects"))
        .collect();
    // the CSV uploaded, then deleted with the external table once the seed is published
    assert_eq!(
        uploads,
        [
            "PutObject",
            "DeleteObjects data/analytics/plans/[BUILD]-csv/plans.csv"
        ]
    );
    let put = w
        .proxy
        .calls()
        .into_iter()
        .find(|c| c.op == "PutObject")
        .expect("an upload");
    assert!(
        put.path
            .starts_with(&format!("/{}/data/analytics/plans/", w.bucket))
            && put
                .path
                .split('?')
                .next()
                .is_some_and(|p| p.ends_with("-csv/plans.csv")),
        "{}",
        put.path
    );
    // the uploaded file went with the external table
    let keys = w.keys();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|k| !k.ends_with(".csv")), "{keys:?}");
    w.proxy.clear();
    w.kiln(&["seed"]).assert_success();
    assert_ne!(w.location("plans"), first);
    assert_eq!(w.tables(), ["plans"]);
    let keys = w.keys();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.contains(&"data/analytics/plans_v2/part-0.parquet".to_string()));
}

/// An incremental `append` step: the new rows staged as `__dbt_tmp` under the table's own
/// folder, inserted into the table where it stands (its location unchanged), the stage then
/// dropped with its files.
#[test]
fn incremental_append_inserts_in_place_and_drops_its_stage() {
    let w = Warehouse::new(&[(
        "models/events.sql",
        "{{ config(materialized='incremental', incremental_strategy='append') }}\nselect 1 as id",
    )]);
    w.kiln(&["run"]).assert_success();
    let location = w.location("events");
    w.proxy.clear();
    w.kiln(&["run"]).assert_success();
    assert_eq!(w.location("events"), location);
    assert_eq!(w.tables(), ["events"]);
    let prefix = location
        .trim_start_matches(&format!("s3://{}/", w.bucket))
        .to_string();
    let keys = w.keys();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with(&prefix)), "{keys:?}");
    insta::assert_snapshot!("incremental_append", w.calls().join("\n"));
}

/// `merge` on a Hive table is refused before anything runs (Athena cannot update Hive
/// tables); on an Iceberg table it is Athena's `merge into`.
#[test]
fn incremental_merge_needs_iceberg() {
    let model = |table_type: &str| {
        format!(
            "{{{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', table_type='{table_type}') }}}}\nselect 1 as id"
        )
    };
    let w = Warehouse::new(&[
        ("models/hive_events.sql", &model("hive")),
        ("models/ice_events.sql", &model("iceberg")),
    ]);
    w.kiln(&["run"]).assert_success();
    w.proxy.clear();
    let run = w.kiln(&["run"]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("incremental_strategy 'merge' needs an Iceberg table on Athena"),
        "{}",
        run.stdout
    );
    let merges: Vec<String> = harness::queries(&w)
        .into_iter()
        .filter(|q| q.starts_with("merge into"))
        .collect();
    assert_eq!(merges.len(), 1, "{merges:?}");
    assert!(
        merges[0].starts_with("merge into \"awsdatacatalog\".\"analytics\".\"ice_events\" as target\nusing \"awsdatacatalog\".\"analytics\".\"ice_events__dbt_tmp\" as src\non "),
        "{}",
        merges[0]
    );
    assert_eq!(w.tables(), ["hive_events", "ice_events"]);
}

/// Data tests run on Athena as on DuckDB: the test's query (dbt's `failures`, `should_warn`,
/// `should_error`) through StartQueryExecution, its typed result read back. moto runs no SQL,
/// so the result Athena would give is queued in moto first (its static results API).
#[test]
fn data_tests_read_their_verdict_from_athena() {
    let w = Warehouse::new(&[("models/orders.sql", TABLE)]);
    w.project.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
    );
    w.kiln(&["run"]).assert_success();
    let queue = |failures: &str, fail: &str| {
        harness::queue_table(
            &w,
            &[
                ("failures", "bigint"),
                ("should_warn", "boolean"),
                ("should_error", "boolean"),
            ],
            &[vec![Some(failures), Some(fail), Some(fail)]],
        );
    };
    queue("0", "false");
    w.proxy.clear();
    w.kiln(&["test"]).assert_success();
    let queries = harness::queries(&w);
    assert_eq!(queries.len(), 1, "{queries:?}");
    assert!(
        queries[0].starts_with("select\n    count(*) as failures,")
            && queries[0].contains(r#"from "awsdatacatalog"."analytics"."orders""#),
        "{}",
        queries[0]
    );
    queue("2", "true");
    let run = w.kiln(&["test"]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("Got 2 results, configured to fail if != 0"),
        "{}",
        run.stdout
    );
}

/// A partitioned Hive table (`partitioned_by`): the CTAS says so, and the publish moves the
/// partitions too, so the table reads the new version's partitions (at the new location) and
/// none of the old ones, whose files are deleted after the publish.
#[test]
fn partitioned_tables_publish_their_partitions() {
    let w = Warehouse::new(&[(
        "models/daily.sql",
        "{{ config(materialized='table', partitioned_by=['dt']) }}\nselect 1 as id, '2024-01-01' as dt",
    )]);
    let partitions = || harness::partitions(&w, "daily");
    w.kiln(&["run"]).assert_success();
    let first = w.location("daily");
    assert_eq!(
        partitions(),
        [("2024-01-01".to_string(), format!("{first}dt=2024-01-01/"))]
    );
    w.proxy.clear();
    w.kiln(&["run"]).assert_success();
    let second = w.location("daily");
    assert_ne!(first, second);
    assert_eq!(
        partitions(),
        [("2024-01-01".to_string(), format!("{second}dt=2024-01-01/"))]
    );
    let prefix = format!("s3://{}/", w.bucket);
    assert_eq!(
        w.keys(),
        [format!(
            "{}dt=2024-01-01/part-00000.parquet",
            second.trim_start_matches(&prefix)
        )]
    );
    let calls = w.calls();
    let tail: Vec<&str> = calls
        .iter()
        .skip_while(|c| !c.starts_with("StartQueryExecution create table"))
        .map(|c| c.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        tail,
        [
            "StartQueryExecution",
            "GetTable",
            "GetTable",
            "GetPartitions",
            "GetPartitions",
            "UpdateTable",
            "BatchDeletePartition",
            "BatchCreatePartition",
            "DeleteTable",
            "ListObjectsV2",
            "DeleteObjects",
            // the OpenLineage schema facet reads the published table's columns
            "GetTable"
        ]
    );
}

/// With a naming without the schema (`table_unique`), a table's folder may also hold the same
/// table of another schema (another target): kiln then deletes only its own table's previous
/// files, and sweeps nothing else from the folder.
#[test]
fn a_folder_shared_with_another_schema_is_not_swept() {
    let w = Warehouse::new(&[("models/orders.sql", TABLE)]);
    let profiles = w.project.read("profiles.yml");
    w.project.write(
        "profiles.yml",
        &format!("{profiles}      s3_data_naming: table_unique\n"),
    );
    // the `orders` of another schema, in the same folder
    w.put("data/orders/prod-build/part-00000.parquet");
    w.kiln(&["run"]).assert_success();
    let first = w.location("orders");
    assert!(
        first.starts_with(&format!("s3://{}/data/orders/", w.bucket)),
        "{first}"
    );
    w.kiln(&["run"]).assert_success();
    let second = w.location("orders");
    let prefix = format!("s3://{}/", w.bucket);
    assert_eq!(
        w.keys(),
        [
            "data/orders/prod-build/part-00000.parquet".to_string(),
            format!("{}part-00000.parquet", second.trim_start_matches(&prefix)),
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
}

#[path = "athena/incremental.rs"]
mod incremental;
