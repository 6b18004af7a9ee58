//! What `kiln compile` and `kiln docs generate` write beside the column lineage (the compiled
//! files and manifest.json, written on a thread of their own while the lineage runs): the same
//! files as when the stages ran one after another, the manifest put in place only when the
//! lineage let the command go on, and no temporary file left behind.

use crate::support::TestProject;
use serde_json::Value;

fn manifest(p: &TestProject) -> Value {
    serde_json::from_str(&p.read("target/manifest.json")).expect("manifest.json is JSON")
}

fn no_temporary_files(p: &TestProject) {
    let left: Vec<String> = std::fs::read_dir(p.dir().join("target"))
        .expect("target/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "left in target/: {left:?}");
}

/// A model, and YAML that declares a column its SQL does not produce (a warning, an error with
/// `--warn-error`).
fn declared_but_missing() -> TestProject {
    TestProject::minimal()
        .file("models/orders.sql", "select 1 as id, 2 as amount\n")
        .file(
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n      - name: status\n",
        )
}

/// From a clean target/ the compiled files are written without being read back first; they are
/// still scrubbed of secrets, equal the manifest's `compiled_code`, and a later compile of a
/// changed model rewrites its file (the compare-first path).
#[test]
fn a_clean_compile_writes_scrubbed_files_that_a_later_compile_updates() {
    let p = TestProject::minimal()
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n      api_token: \"{{ env_var('DBT_ENV_SECRET_API_TOKEN') }}\"\n",
        )
        .file(
            "models/token_length.sql",
            "select length('{{ target.api_token }}') as n\n",
        )
        .file("models/orders.sql", "select 1 as id\n");
    assert!(!p.exists("target"));
    let first = p
        .kiln(&["compile"])
        .env("DBT_ENV_SECRET_API_TOKEN", "hush-api-token")
        .run();
    first.assert_success();
    let sql = p.read("target/compiled/shop/models/token_length.sql");
    assert_eq!(sql, "select length('*****') as n");
    let m = manifest(&p);
    for (id, file) in [
        ("model.shop.token_length", "token_length.sql"),
        ("model.shop.orders", "orders.sql"),
    ] {
        assert_eq!(
            m["nodes"][id]["compiled_code"].as_str(),
            Some(
                p.read(&format!("target/compiled/shop/models/{file}"))
                    .as_str()
            ),
            "{id}"
        );
    }
    no_temporary_files(&p);

    p.write("models/orders.sql", "select 2 as id\n");
    let second = p
        .kiln(&["compile"])
        .env("DBT_ENV_SECRET_API_TOKEN", "hush-api-token")
        .run();
    second.assert_success();
    assert_eq!(
        p.read("target/compiled/shop/models/orders.sql"),
        "select 2 as id"
    );
    assert_eq!(
        p.read("target/compiled/shop/models/token_length.sql"),
        "select length('*****') as n"
    );
    assert_eq!(
        manifest(&p)["nodes"]["model.shop.orders"]["compiled_code"],
        "select 2 as id"
    );
    no_temporary_files(&p);
}

/// A lineage warning made an error by `--warn-error` stops the command before the manifest is
/// put in place: the previous manifest.json stays whole and current, its temporary file is
/// removed; the compiled files were written, as before.
#[test]
fn a_compile_stopped_by_a_lineage_warning_keeps_the_previous_manifest() {
    let p = declared_but_missing();
    let first = p.kiln(&["compile"]).run();
    first.assert_success();
    assert!(
        first.stderr.contains("declares column `status`"),
        "{}",
        first.stderr
    );
    let before = manifest(&p);
    assert_eq!(
        before["nodes"]["model.shop.orders"]["compiled_code"],
        "select 1 as id, 2 as amount"
    );

    p.write("models/orders.sql", "select 3 as id, 4 as amount\n");
    let strict = p.kiln(&["compile", "--warn-error"]).run();
    strict.assert_code(2);
    assert!(
        format!("{}{}", strict.stdout, strict.stderr).contains("declares column `status`"),
        "{}\n{}",
        strict.stdout,
        strict.stderr
    );
    assert_eq!(manifest(&p), before);
    assert_eq!(
        p.read("target/compiled/shop/models/orders.sql"),
        "select 3 as id, 4 as amount"
    );
    no_temporary_files(&p);

    // docs generate stops the same way.
    let docs = p
        .kiln(&["docs", "generate", "--empty-catalog", "--warn-error"])
        .run();
    docs.assert_code(2);
    assert_eq!(manifest(&p), before);
    no_temporary_files(&p);
}

/// A compile-time SQL error the lineage finds (a misspelled column) fails the command with exit 2
/// after the manifest is written, as before: it holds the new compiled code.
#[test]
fn a_compile_with_a_lineage_error_still_writes_the_manifest() {
    let p = TestProject::minimal()
        .file("models/orders.sql", "select 1 as id, 2 as amount\n")
        .file(
            "models/totals.sql",
            "select sum(amount) as total from {{ ref('orders') }}\n",
        );
    p.kiln(&["compile"]).run().assert_success();
    p.write(
        "models/totals.sql",
        "select sum(amonut) as total from {{ ref('orders') }}\n",
    );
    let bad = p.kiln(&["compile"]).run();
    bad.assert_code(2);
    let text = format!("{}{}", bad.stdout, bad.stderr);
    assert!(text.contains("amonut") && text.contains("amount"), "{text}");
    assert_eq!(
        manifest(&p)["nodes"]["model.shop.totals"]["compiled_code"],
        "select sum(amonut) as total from \"dev\".\"main\".\"orders\""
    );
    no_temporary_files(&p);
}
