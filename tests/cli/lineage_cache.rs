//! The lineage cache across commands: a `kiln compile` or `docs generate` right after another
//! reads no model again, also where an upstream's columns are YAML's (untyped where YAML gives
//! no type: such models are read without the binder), and lineage.json is the same whether its
//! nodes are read again or come from the cache.

use crate::support::TestProject;
use serde_json::Value;

/// A source whose YAML lists columns without types (nothing built), a staging model whose
/// arithmetic the binder rejects over those VARCHAR stand-ins, and a mart over it.
fn untyped_source() -> TestProject {
    TestProject::minimal()
        .file(
            "models/sources.yml",
            "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: orders\n        columns:\n          - name: id\n          - name: amount_cents\n          - name: created_at\n",
        )
        .file(
            "models/stg_orders.sql",
            "select\n    id,\n    (amount_cents / 100)::numeric(16, 2) as amount,\n    created_at + interval '1 day' as due_at\nfrom {{ source('raw', 'orders') }}\n",
        )
        .file(
            "models/orders_by_day.sql",
            "select due_at, sum(amount) as amount\nfrom {{ ref('stg_orders') }}\ngroup by due_at\n",
        )
}

fn described(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find(|l| l.contains("described by the binder"))
        .map(|l| l[l.find("Lineage:").unwrap_or(0)..].trim().to_string())
}

fn lineage_nodes(p: &TestProject) -> Value {
    let text = p.read("target/lineage.json");
    let v: Value = serde_json::from_str(&text).expect("lineage.json is JSON");
    v["nodes"].clone()
}

#[test]
fn compile_and_docs_generate_after_a_compile_bind_nothing_again() {
    let p = untyped_source();
    let first = p.kiln(&["compile", "--debug"]).run();
    first.assert_success();
    assert_eq!(
        described(&first.stdout).as_deref(),
        Some(
            "Lineage: 0 of 2 models described by the binder, 2 read without it (an upstream's columns are YAML's), the rest from kiln_lineage_cache.json"
        ),
        "{}",
        first.stdout
    );
    let fresh = lineage_nodes(&p);
    // The binder is not asked about the staging model over guessed types (it would reject its
    // arithmetic): its lineage stands, unchecked.
    let stg = &fresh["model.shop.stg_orders"];
    assert_eq!(stg["complete"], Value::Bool(true), "{stg}");
    assert_eq!(stg["binder_checked"], Value::Bool(false), "{stg}");
    let names: Vec<&str> = stg["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["id", "amount", "due_at"]);

    let again = p.kiln(&["compile", "--debug"]).run();
    again.assert_success();
    assert_eq!(
        described(&again.stdout).as_deref(),
        Some(
            "Lineage: 0 of 2 models described by the binder, the rest from kiln_lineage_cache.json"
        ),
        "{}",
        again.stdout
    );
    assert_eq!(lineage_nodes(&p), fresh);

    let docs = p
        .kiln(&["docs", "generate", "--empty-catalog", "--debug"])
        .run();
    docs.assert_success();
    assert_eq!(
        described(&docs.stdout).as_deref(),
        Some(
            "Lineage: 0 of 2 models described by the binder, the rest from kiln_lineage_cache.json"
        ),
        "{}",
        docs.stdout
    );
    assert_eq!(lineage_nodes(&p), fresh);
    // lineage.json is written whole, through a temporary file that does not stay behind.
    assert!(!p.exists("target/lineage.json.tmp"));
}

/// The staging model changes (not its columns): it alone is described again (the mart's key names
/// its upstream's columns, unchanged), and the lineage equals a compile from a clean target/.
#[test]
fn a_changed_model_is_described_again_and_its_lineage_equals_a_clean_compile() {
    let p = untyped_source();
    p.kiln(&["compile"]).run().assert_success();
    let p = p.file(
        "models/stg_orders.sql",
        "select\n    id,\n    (amount_cents / 100)::numeric(16, 2) as amount,\n    created_at + interval '2 days' as due_at\nfrom {{ source('raw', 'orders') }}\n",
    );
    let changed = p.kiln(&["compile", "--debug"]).run();
    changed.assert_success();
    assert_eq!(
        described(&changed.stdout).as_deref(),
        Some(
            "Lineage: 0 of 2 models described by the binder, 1 read without it (an upstream's columns are YAML's), the rest from kiln_lineage_cache.json"
        ),
        "{}",
        changed.stdout
    );
    let cached = lineage_nodes(&p);
    std::fs::remove_dir_all(p.dir().join("target")).expect("remove target/");
    p.kiln(&["compile"]).run().assert_success();
    assert_eq!(lineage_nodes(&p), cached);
}
