//! Column lineage, PII and catalog.json on the Athena target (issues 15 and 16 on Athena).
//!
//! Athena has no binder: upstream columns come from YAML (`columns:` with `data_type`), seeds'
//! CSV files (typed by dbt's inference in Rust) and Glue (`GetTables`, one listing per schema),
//! and each model's columns from kiln's own reading of its SQL, marked `binder_checked: false`
//! in lineage.json. The demo compiles for Athena with no AWS reachable (no credentials, so
//! nothing is sent), with the same PII verdicts as on DuckDB; the Glue tests run against moto
//! through the recording proxy ([`super::Warehouse`]).

use super::Warehouse;
use super::support::{self, TestProject};
use serde_json::{Value, json};

/// The demo's `kiln <args> --target athena` with no AWS credentials (the environment is
/// cleared, IMDS off): nothing can be sent, so Glue is never reached.
fn demo_athena(p: &TestProject, args: &[&str]) -> support::Run {
    let mut all = args.to_vec();
    all.extend(["--target", "athena"]);
    p.kiln(&all)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("DBT_ENV_SECRET_KILN_PII_KEY", "a-test-key")
        .run()
}

fn read_json(p: &TestProject, rel: &str) -> Value {
    serde_json::from_str(&p.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `model.column`'s inputs in lineage.json as `node.column TYPE/SUBTYPE` strings.
fn inputs(lineage: &Value, node: &str, column: &str) -> Vec<String> {
    let cols = lineage["nodes"][node]["columns"]
        .as_array()
        .unwrap_or_else(|| panic!("no columns for {node}: {}", lineage["nodes"][node]));
    let col = cols
        .iter()
        .find(|c| c["name"] == column)
        .unwrap_or_else(|| panic!("{node} has no column {column}"));
    col["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| {
            let t: Vec<String> = i["transformations"]
                .as_array()
                .expect("transformations")
                .iter()
                .map(|t| {
                    format!(
                        "{}/{}{}",
                        t["type"].as_str().unwrap_or_default(),
                        t["subtype"].as_str().unwrap_or_default(),
                        if t["masking"] == true { "/masked" } else { "" }
                    )
                })
                .collect();
            format!(
                "{}.{} {}",
                i["node"].as_str().unwrap_or_default(),
                i["column"].as_str().unwrap_or_default(),
                t.join(",")
            )
        })
        .collect()
}

fn column_type(lineage: &Value, node: &str, column: &str) -> Value {
    lineage["nodes"][node]["columns"]
        .as_array()
        .and_then(|cols| cols.iter().find(|c| c["name"] == column))
        .map(|c| c["type"].clone())
        .unwrap_or_else(|| panic!("{node} has no column {column}"))
}

/// The demo compiles for Athena without AWS: every model's lineage is complete, read from the
/// sources' YAML columns and the seeds' CSV files, and says that no binder checked it.
#[test]
fn the_demo_compiles_for_athena_without_aws() {
    let p = TestProject::demo();
    let run = demo_athena(&p, &["compile"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("the warehouse's catalog could not be read")
            || run
                .stderr
                .contains("the warehouse's catalog could not be read"),
        "says Glue was not read: {}",
        run.snapshot()
    );
    let lineage = read_json(&p, "target/kiln/lineage.json");
    let nodes = lineage["nodes"].as_object().expect("nodes");
    assert_eq!(nodes.len(), 34, "32 models and 2 snapshots");
    for (id, n) in nodes {
        assert_eq!(n["complete"], true, "{id}: {}", n["incomplete"]);
        assert_eq!(n["binder_checked"], false, "{id}");
    }
    // The example: a contact id traced to the CRM export.
    assert_eq!(
        inputs(&lineage, "model.kiln_demo.stg_crm__contacts", "contact_id"),
        ["source.kiln_demo.crm.contacts.contact_id DIRECT/TRANSFORMATION"]
    );
    // The hashed e-mail reads the key table, masked, on Athena (hmac_sha256 with the key).
    assert_eq!(
        inputs(&lineage, "model.kiln_demo.stg_crm__contacts", "email_hash"),
        [
            "source.kiln_demo.crm.contacts.email DIRECT/TRANSFORMATION/masked",
            "source.kiln_demo.security.pii_hmac_key.hmac_key DIRECT/AGGREGATION/masked"
        ]
    );
    // Types: a seed column passed through has the CSV's inferred type (`tier_rank`: integers),
    // a source column passed through YAML's.
    assert_eq!(
        column_type(&lineage, "model.kiln_demo.stg_billing__plans", "tier_rank"),
        json!("integer")
    );
    assert_eq!(
        column_type(&lineage, "model.kiln_demo.stg_crm__contacts", "updated_at"),
        json!("timestamp")
    );
    // A computed column without a YAML type has none (nothing is guessed).
    assert_eq!(
        column_type(&lineage, "model.kiln_demo.stg_crm__contacts", "email_hash"),
        Value::Null
    );

    // `kiln lineage` reads it back.
    let run = demo_athena(&p, &["lineage", "-s", "stg_crm__contacts.contact_id"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("<- source crm.contacts.contact_id  [DIRECT TRANSFORMATION]"),
        "{}",
        run.snapshot()
    );
}

/// The PII policy gives the same verdicts on Athena as on DuckDB: pii.json's classification
/// of every node is the same for both targets.
#[test]
fn pii_verdicts_are_the_same_on_athena_and_duckdb() {
    let p = TestProject::demo();
    p.kiln(&["compile"])
        .env("DBT_ENV_SECRET_KILN_PII_KEY", "a-test-key")
        .run()
        .assert_success();
    let duckdb = read_json(&p, "target/kiln/pii.json")["nodes"].clone();
    demo_athena(&p, &["compile"]).assert_success();
    let athena = read_json(&p, "target/kiln/pii.json")["nodes"].clone();
    assert!(
        duckdb
            .as_object()
            .is_some_and(|n| n.contains_key("model.kiln_demo.stg_crm__contacts")),
        "{duckdb:#}"
    );
    assert_eq!(athena, duckdb);
    assert_eq!(
        athena["model.kiln_demo.stg_crm__contacts"]["columns"]["email_hash"]["status"],
        "pseudonymised"
    );
}

/// The "raw e-mail in a reporting model" fails the Athena compile too (exit 2, the
/// lineage path); the hash passes.
#[test]
fn a_reporting_model_with_a_raw_email_fails_on_athena_too() {
    let p = TestProject::demo().file(
        "models/reporting/rpt_contact_emails.sql",
        "select contact_id, email as contact_email\nfrom {{ source('crm', 'contacts') }}\n",
    );
    let run = demo_athena(&p, &["compile"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "error[pii]: model rpt_contact_emails outputs PII in column contact_email (email): source crm.contacts.email → rpt_contact_emails.contact_email. PII may not go there: it is under models/reporting (vars.kiln.pii.forbid.paths)"
        ),
        "{}",
        run.snapshot()
    );

    p.write(
        "models/reporting/rpt_contact_emails.sql",
        "select contact_id, email_hash\nfrom {{ ref('stg_crm__contacts') }}\n",
    );
    demo_athena(&p, &["compile"]).assert_success();
}

/// A source YAML declares no columns of and Glue does not have: `select *` of it leaves the
/// model's lineage incomplete, saying why, and the model downstream too; a declared source in
/// the same project is read from YAML.
#[test]
fn an_undeclared_source_unknown_to_glue_is_incomplete() {
    let w = Warehouse::new(&[
        (
            "models/sources.yml",
            "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: events\n      - name: users\n        columns:\n          - name: user_id\n            data_type: bigint\n          - name: email\n            data_type: varchar\n",
        ),
        (
            "models/stg_events.sql",
            "select * from {{ source('raw', 'events') }}\n",
        ),
        (
            "models/stg_users.sql",
            "select user_id, lower(email) as email from {{ source('raw', 'users') }}\n",
        ),
    ]);
    w.kiln(&["compile"]).assert_success();
    let lineage = read_json(&w.project, "target/lineage.json");
    let events = &lineage["nodes"]["model.shop.stg_events"];
    assert_eq!(events["complete"], false, "{events}");
    let reasons = events["incomplete"].to_string();
    assert!(reasons.contains("whose columns are unknown"), "{reasons}");
    // Incomplete: `binder_checked` is not written (the reasons say it all).
    assert_eq!(events.get("binder_checked"), None);
    let users = &lineage["nodes"]["model.shop.stg_users"];
    assert_eq!(users["complete"], true, "{users}");
    assert_eq!(users["binder_checked"], false);
    assert_eq!(
        inputs(&lineage, "model.shop.stg_users", "user_id"),
        ["source.shop.raw.users.user_id DIRECT/IDENTITY"]
    );
    assert_eq!(
        column_type(&lineage, "model.shop.stg_users", "user_id"),
        json!("bigint")
    );
}

/// A Glue table in moto, in `database`.
fn glue_table(w: &Warehouse, database: &str, table: Value) {
    let r = w.glue(
        "CreateDatabase",
        json!({"DatabaseInput": {"Name": database}}),
    );
    assert!(
        r.status() == 200 || r.text().contains("AlreadyExists"),
        "CreateDatabase: {}",
        r.text()
    );
    let r = w.glue(
        "CreateTable",
        json!({"DatabaseName": database, "TableInput": table}),
    );
    assert_eq!(r.status(), 200, "CreateTable: {}", r.text());
}

/// A source with no YAML columns that Glue has: its columns come from Glue, which is asked
/// once per schema (`GetTables`), never table by table; Glue's columns win over YAML's.
#[test]
fn glue_columns_are_listed_once_per_schema() {
    let w = Warehouse::new(&[
        (
            "models/sources.yml",
            "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: events\n      - name: users\n        columns:\n          - name: user_id\n            data_type: varchar\n",
        ),
        (
            "models/stg_events.sql",
            "select * from {{ source('raw', 'events') }}\n",
        ),
        (
            "models/stg_users.sql",
            "select * from {{ source('raw', 'users') }}\n",
        ),
    ]);
    let columns = |cols: &[(&str, &str)]| -> Value {
        cols.iter()
            .map(|(n, t)| json!({"Name": n, "Type": t}))
            .collect()
    };
    glue_table(
        &w,
        "raw",
        json!({
            "Name": "events",
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {"Columns": columns(&[("event_id", "bigint"), ("user_id", "bigint")])},
            "PartitionKeys": columns(&[("event_date", "date")]),
        }),
    );
    glue_table(
        &w,
        "raw",
        json!({
            "Name": "users",
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {"Columns": columns(&[("user_id", "bigint"), ("email", "string")])},
        }),
    );
    w.kiln(&["compile"]).assert_success();
    let lineage = read_json(&w.project, "target/lineage.json");
    let names = |node: &str| -> Vec<String> {
        lineage["nodes"][node]["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        names("model.shop.stg_events"),
        ["event_id", "user_id", "event_date"],
        "data columns, then the partition key"
    );
    assert_eq!(names("model.shop.stg_users"), ["user_id", "email"]);
    assert_eq!(
        column_type(&lineage, "model.shop.stg_users", "user_id"),
        json!("BIGINT"),
        "Glue's type, not YAML's"
    );
    let calls = w.calls();
    let listings: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("GetTables") || c.starts_with("GetTable "))
        .collect();
    // `raw` once for both sources, `analytics` once for the models (not built yet).
    assert_eq!(
        listings
            .iter()
            .filter(|c| c.as_str() == "GetTables")
            .count(),
        listings.len(),
        "{calls:#?}"
    );
    assert!(listings.len() <= 2, "{calls:#?}");
    assert!(
        !calls.iter().any(|c| c.starts_with("StartQueryExecution")),
        "compile runs no query: {calls:#?}"
    );
}

/// `kiln docs generate --target athena`: catalog.json from Glue (`GetTables`, never
/// `information_schema`), with kinds, columns and their types, comments, the partition keys and
/// the statistics Glue keeps; valid against dbt's catalog v1 schema.
#[test]
fn docs_generate_reads_the_catalog_from_glue() {
    let w = Warehouse::new(&[
        (
            "models/sources.yml",
            "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: events\n      - name: missing\n",
        ),
        (
            "models/stg_events.sql",
            "{{ config(materialized='table') }}\nselect event_id from {{ source('raw', 'events') }}\n",
        ),
    ]);
    glue_table(
        &w,
        "raw",
        json!({
            "Name": "events",
            "Description": "Raw click events",
            "Owner": "ingest",
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"numRows": "1200", "numFiles": "4", "totalSize": "-1"},
            "StorageDescriptor": {"Columns": [
                {"Name": "event_id", "Type": "bigint", "Comment": "the event's id"},
                {"Name": "payload", "Type": "string"}
            ]},
            "PartitionKeys": [{"Name": "event_date", "Type": "date"}],
        }),
    );
    w.kiln(&["run"]).assert_success();
    w.proxy.clear();
    let run = w.kiln(&["docs", "generate"]);
    run.assert_success();
    // The source Glue does not have is named, not written.
    assert!(
        run.stdout.contains("source.shop.raw.missing"),
        "{}",
        run.snapshot()
    );
    let catalog = read_json(&w.project, "target/catalog.json");
    let problems = support::schema_problems("catalog-v1.json", &catalog);
    assert!(problems.is_empty(), "{problems:#?}");

    let events = &catalog["sources"]["source.shop.raw.events"];
    assert_eq!(
        events["metadata"],
        json!({"type": "table", "schema": "raw", "name": "events", "database": "awsdatacatalog",
               "comment": "Raw click events", "owner": "ingest"})
    );
    assert_eq!(
        events["columns"],
        json!({
            "event_id": {"type": "bigint", "index": 1, "name": "event_id", "comment": "the event's id"},
            "payload": {"type": "string", "index": 2, "name": "payload", "comment": null},
            "event_date": {"type": "date", "index": 3, "name": "event_date", "comment": null},
        })
    );
    let stats = &events["stats"];
    assert_eq!(stats["num_rows"]["value"], 1200);
    assert_eq!(stats["num_files"]["value"], 4);
    assert_eq!(stats["partition_keys"]["value"], "event_date");
    assert_eq!(stats.get("num_bytes"), None, "Glue's -1 means not computed");
    assert_eq!(stats["has_stats"]["value"], true);

    let model = &catalog["nodes"]["model.shop.stg_events"];
    assert_eq!(model["metadata"]["type"], "table", "{model}");
    assert_eq!(model["metadata"]["schema"], "analytics");
    // What moto holds for the table the proxy's engine created.
    assert_eq!(model["columns"]["id"]["type"], "bigint", "{model}");
    assert_eq!(catalog["sources"].get("source.shop.raw.missing"), None);

    let calls = w.calls();
    assert!(
        calls.iter().any(|c| c == "GetTables"),
        "the catalog is Glue's listing: {calls:#?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.to_lowercase().contains("information_schema")),
        "never information_schema: {calls:#?}"
    );
}
