//! `kiln docs generate` on the demo: target/catalog.json against what dbt-core 1.11 + dbt-duckdb
//! wrote on a copy of it (`tests/dbt_recorded/catalog.json` and `catalog_select.txt`, recorded by
//! `tests/dbt_recorded/record.sh`), field by field wherever the value does not depend on the
//! run, and against dbt's published catalog v1 schema.

use super::{TestProject, demo, kiln_ok};
use serde_json::{Value, json};
use std::path::Path;

fn recorded(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/dbt_recorded")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn catalog(p: &TestProject) -> Value {
    catalog_at(p, "target/kiln/catalog.json")
}

fn catalog_at(p: &TestProject, path: &str) -> Value {
    serde_json::from_str(&p.read(path)).expect("catalog.json is JSON")
}

fn assert_valid(catalog: &Value) {
    let problems = super::support::schema_problems("catalog-v1.json", catalog);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The `(section, unique_id)` pairs of a catalog, in the file's order.
fn entries(catalog: &Value) -> Vec<String> {
    ["nodes", "sources"]
        .iter()
        .flat_map(|section| {
            catalog[section]
                .as_object()
                .expect("a map")
                .keys()
                .map(move |id| format!("{section} {id}"))
        })
        .collect()
}

#[test]
fn docs_generate_writes_the_catalog_dbt_writes() {
    let p = demo();
    // Nothing built yet: every relation is named as missing, and none is in the file.
    let before = kiln_ok(&p, &["docs", "generate"]);
    let first = catalog(&p);
    assert_valid(&first);
    assert_eq!(first["nodes"], json!({}));
    assert_eq!(first["sources"], json!({}));
    assert!(
        before
            .stdout
            .contains("38 selected relations are not in the warehouse yet, so not in catalog.json (build them first):"),
        "{}",
        before.snapshot()
    );
    assert!(
        before
            .stdout
            .contains("  model.kiln_demo.exec_weekly (\"demo\".\"main\".\"exec_weekly\")"),
        "{}",
        before.snapshot()
    );

    kiln_ok(&p, &["build"]);
    // The build's OpenLineage events validate against OpenLineage's schemas, and the revenue
    // figures of exec_weekly come with their column lineage.
    let events: Vec<Value> = p
        .read("target/kiln/openlineage.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    super::openlineage_schema::assert_valid(&events);
    let weekly = events
        .iter()
        .find(|e| e["eventType"] == "COMPLETE" && e["job"]["name"] == "model.kiln_demo.exec_weekly")
        .expect("exec_weekly's COMPLETE event");
    let fields = weekly["outputs"][0]["facets"]["columnLineage"]["fields"]
        .as_object()
        .expect("a columnLineage facet");
    assert!(!fields.is_empty(), "{weekly:#}");
    assert!(
        fields.values().all(|f| f["inputFields"]
            .as_array()
            .is_some_and(|i| i.iter().all(|i| i["namespace"]
                .as_str()
                .is_some_and(|n| n.starts_with("duckdb://") || n == "file")))),
        "{weekly:#}"
    );
    let run = kiln_ok(&p, &["docs", "generate"]);
    assert!(
        run.stdout.contains("Building catalog"),
        "{}",
        run.snapshot()
    );
    // Only the PII key table is missing: it exists on Athena only (models/staging/security).
    assert!(
        run.stdout.contains("Catalog written to ")
            && run.stdout.contains(
                "1 selected relation is not in the warehouse yet, so not in catalog.json (build it first):\n  source.kiln_demo.security.pii_hmac_key (\"demo\".\"security\".\"pii_hmac_key\")\n"
            ),
        "{}",
        run.snapshot()
    );
    let ours = catalog(&p);
    assert_valid(&ours);
    let dbt: Value = serde_json::from_str(&recorded("catalog.json")).expect("dbt's catalog");

    // The metadata: the same keys; the schema, and the invocation's own values.
    let (m, d) = (&ours["metadata"], &dbt["metadata"]);
    assert_eq!(
        m.as_object().unwrap().keys().collect::<Vec<_>>(),
        d.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    assert_eq!(m["dbt_schema_version"], d["dbt_schema_version"]);
    assert_eq!(m["env"], json!({}));
    let manifest: Value =
        serde_json::from_str(&p.read("target/kiln/manifest.json")).expect("manifest.json");
    assert_eq!(m["invocation_id"], manifest["metadata"]["invocation_id"]);
    assert_eq!(ours["errors"], Value::Null);

    // Every node and source, in dbt's order, equal field by field (types, 1-based indexes,
    // null comments and owners, `has_stats`).
    assert_eq!(entries(&ours), entries(&dbt));
    for section in ["nodes", "sources"] {
        for (id, theirs) in dbt[section].as_object().unwrap() {
            assert_eq!(&ours[section][id], theirs, "{section} {id}");
            // Key order too: readers that diff catalogs see no noise.
            assert_eq!(
                serde_json::to_string(&ours[section][id]).unwrap(),
                serde_json::to_string(theirs).unwrap(),
                "{section} {id}"
            );
        }
    }
    // One line, as dbt writes it (Python's json.dumps separators).
    let text = p.read("target/kiln/catalog.json");
    assert!(
        text.starts_with("{\"metadata\": {\"dbt_schema_version\": "),
        "{}",
        &text[..80]
    );
    assert_eq!(text.lines().count(), 1);

    // --select limits the catalog to the selected relations, as dbt does.
    kiln_ok(&p, &["docs", "generate", "-s", "billing_plans", "+growth"]);
    let selected = catalog(&p);
    assert_valid(&selected);
    let expected: Vec<String> = recorded("catalog_select.txt")
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(entries(&selected), expected);

    // --empty-catalog asks the warehouse nothing.
    let empty = kiln_ok(&p, &["docs", "generate", "--empty-catalog"]);
    assert!(
        !empty.stdout.contains("Building catalog"),
        "{}",
        empty.snapshot()
    );
    let c = catalog(&p);
    assert_valid(&c);
    assert_eq!((&c["nodes"], &c["sources"]), (&json!({}), &json!({})));

    // --no-compile leaves the manifest alone.
    std::fs::remove_file(p.dir().join("target/kiln/manifest.json")).expect("remove manifest");
    kiln_ok(&p, &["docs", "generate", "--no-compile", "-s", "growth"]);
    assert!(!p.exists("target/kiln/manifest.json"));
    assert_eq!(
        entries(&catalog(&p)),
        vec!["nodes model.kiln_demo.growth".to_string()]
    );
}

/// The schema check has teeth: an entry without its columns' `index` fails it.
#[test]
fn the_catalog_schema_check_rejects_a_malformed_entry() {
    let mut dbt: Value = serde_json::from_str(&recorded("catalog.json")).expect("dbt's catalog");
    assert_valid(&dbt);
    dbt["nodes"]["model.kiln_demo.growth"]["columns"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .for_each(|c| {
            c.as_object_mut().unwrap().remove("name");
        });
    let problems = super::support::schema_problems("catalog-v1.json", &dbt);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("/nodes/model.kiln_demo.growth/columns/")),
        "{problems:#?}"
    );
}

/// On Athena without AWS credentials, `docs generate` says what failed (Glue could not be read)
/// and `--empty-catalog` works without the warehouse.
#[test]
fn docs_generate_on_athena_without_aws_names_what_failed() {
    let p = TestProject::empty()
        .file(
            "dbt_project.yml",
            "name: a\nversion: '1.0.0'\nconfig-version: 2\nprofile: a\n",
        )
        .file(
            "profiles.yml",
            "a:\n  target: prod\n  outputs:\n    prod:\n      type: athena\n      s3_staging_dir: s3://b/x/\n      region_name: eu-west-1\n      schema: analytics\n",
        )
        .file("models/m.sql", "select 1 as x\n");
    // Athena's catalog is Glue's (tests/athena/lineage.rs reads it from moto); with no
    // credentials it cannot be read: dbt's catalog failure (exit 1, `errors`), saying why.
    let run = p
        .kiln(&["docs", "generate"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .run();
    run.assert_code(1);
    assert!(
        run.stdout.contains(
            "the catalog of schema analytics in database awsdatacatalog could not be read: Glue GetTables failed: no credentials found in chain"
        ),
        "{}",
        run.snapshot()
    );
    let c = catalog_at(&p, "target/catalog.json");
    assert_valid(&c);
    assert!(
        c["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("Glue GetTables")),
        "{c}"
    );
    kiln_ok(&p, &["docs", "generate", "--empty-catalog"]);
    let c = catalog_at(&p, "target/catalog.json");
    assert_valid(&c);
    assert_eq!((&c["nodes"], &c["sources"]), (&json!({}), &json!({})));
}
