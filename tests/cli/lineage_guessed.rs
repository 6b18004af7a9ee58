//! Models over relations known only by their YAML columns (a source nothing has built: its
//! columns may be only some of them, and untyped ones would be VARCHAR guesses in the binder's
//! database) are read without the binder: their types are only what is known (YAML's
//! `data_type`, a column passed through from a relation the engine typed), while the errors and
//! contract checks a user gets stay, and the binder's database gets stand-in tables only for the
//! relations the models it describes read.

use crate::support::TestProject;
use serde_json::Value;

fn lineage_nodes(p: &TestProject) -> Value {
    let v: Value =
        serde_json::from_str(&p.read("target/lineage.json")).expect("lineage.json is JSON");
    v["nodes"].clone()
}

/// The debug lines of the lineage pass that start with `prefix`.
fn debug_line(stdout: &str, prefix: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.find(prefix).map(|i| l[i..].trim().to_string()))
        .unwrap_or_else(|| panic!("no line {prefix:?} in\n{stdout}"))
}

fn types(node: &Value) -> Vec<Value> {
    node["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["type"].clone())
        .collect()
}

/// A source declared in YAML (one column typed there), a seed, a model joining both and a model
/// over the seed alone.
fn payments() -> TestProject {
    TestProject::minimal()
        .file("seeds/raw_rates.csv", "code,rate\nA,1.5\nB,2.0\n")
        .file(
            "models/sources.yml",
            "version: 2\nsources:\n  - name: shop\n    schema: raw\n    tables:\n      - name: payments\n        columns:\n          - name: id\n            data_type: integer\n          - name: amount\n          - name: method\n",
        )
        .file(
            "models/stg_payments.sql",
            "select p.id, p.amount, p.method, lower(p.method) as method_key, r.rate\nfrom {{ source('shop', 'payments') }} as p\nleft join {{ ref('raw_rates') }} as r on r.code = p.method\n",
        )
        .file(
            "models/rates.sql",
            "select code, round(rate * 2, 1) as doubled from {{ ref('raw_rates') }}\n",
        )
        .file(
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: stg_payments\n    columns:\n      - name: amount\n        data_type: decimal(10,2)\n",
        )
}

/// The binder would accept `stg_payments` over VARCHAR stand-ins and report VARCHAR for
/// `amount`, `method` and `method_key`: guesses. kiln does not ask it; the types it reports
/// are YAML's (the source's `id`, the model's own `amount`) and the seed's, which the engine
/// read, for `rate`; the rest is unknown (null). The model over the seed alone is described
/// (`round` lies outside what kiln types itself).
#[test]
fn a_model_over_yaml_columns_is_read_without_the_binder_and_typed_only_from_what_is_known() {
    let p = payments();
    let run = p.kiln(&["compile", "--debug"]).run();
    run.assert_success();
    assert_eq!(
        debug_line(&run.stdout, "Lineage: 1 of 2 models"),
        "Lineage: 1 of 2 models described by the binder, 1 read without it (an upstream's columns are YAML's), the rest from kiln_lineage_cache.json"
    );
    let nodes = lineage_nodes(&p);
    let stg = &nodes["model.shop.stg_payments"];
    assert_eq!(stg["complete"], true, "{stg}");
    assert_eq!(stg["binder_checked"], false, "{stg}");
    assert_eq!(
        types(stg),
        [
            Value::from("integer"),
            Value::from("decimal(10,2)"),
            Value::Null,
            Value::Null,
            Value::from("DOUBLE"),
        ],
        "{stg}"
    );
    let rates = &nodes["model.shop.rates"];
    assert_eq!(rates.get("binder_checked"), None, "{rates}");
    assert_eq!(
        types(rates),
        [Value::from("VARCHAR"), Value::from("DOUBLE")],
        "{rates}"
    );
    // A second compile reads nothing again, and writes the same lineage.
    let again = p.kiln(&["compile", "--debug"]).run();
    again.assert_success();
    assert_eq!(
        debug_line(&again.stdout, "Lineage: 0 of 2 models"),
        "Lineage: 0 of 2 models described by the binder, the rest from kiln_lineage_cache.json"
    );
    assert_eq!(lineage_nodes(&p), nodes);
}

/// Only the seed `rates` reads becomes a table in the binder's database: the source and the
/// other seed are read only by the model kiln reads without the binder.
#[test]
fn the_binder_gets_stand_in_tables_only_for_what_described_models_read() {
    let p = payments()
        .file("seeds/raw_regions.csv", "code,region\nA,north\n")
        .file(
            "models/stg_payments.sql",
            "select p.id, p.amount, g.region\nfrom {{ source('shop', 'payments') }} as p\njoin {{ ref('raw_regions') }} as g on g.code = p.method\n",
        );
    let run = p.kiln(&["compile", "--debug"]).run();
    run.assert_success();
    // Known: the source, both seeds and both models; created: raw_rates.
    assert_eq!(
        debug_line(&run.stdout, "Lineage: 1 of 5 relations"),
        "Lineage: 1 of 5 relations created as stand-in tables in the binder's database"
    );
}

/// A staging model that passes the source's YAML columns through by name is read without the
/// binder, and its names are what its SQL says: a mart that misspells one still fails compile
/// (exit 2), in its own file, with the did-you-mean, as when the binder described the staging
/// model over VARCHAR stand-ins.
#[test]
fn a_misspelled_column_of_a_model_read_without_the_binder_still_fails_compile() {
    let p = TestProject::minimal()
        .file(
            "models/sources.yml",
            "version: 2\nsources:\n  - name: shop\n    schema: raw\n    tables:\n      - name: customers\n        columns:\n          - name: id\n          - name: name\n",
        )
        .file(
            "models/stg_customers.sql",
            "select id, name from {{ source('shop', 'customers') }}\n",
        )
        .file(
            "models/customer_names.sql",
            "select id,\n    nmae\nfrom {{ ref('stg_customers') }}\n",
        );
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("model customer_names selects column `nmae`, which `stg_customers` (model.shop.stg_customers) does not have"),
        "{all}"
    );
    assert!(all.contains("customer_names.sql:2:5"), "{all}");
    assert!(all.contains("did you mean `name`?"), "{all}");
}

/// Where the staging model's SQL does not bind over the guessed VARCHARs (`sum` of one), its
/// names were never the binder's: a mart naming a column it lacks is no error (the lineage says
/// what it could not find), as before.
#[test]
fn a_name_missing_from_a_model_whose_sql_does_not_bind_over_guesses_is_no_error() {
    let p = TestProject::minimal()
        .file(
            "models/sources.yml",
            "version: 2\nsources:\n  - name: shop\n    schema: raw\n    tables:\n      - name: payments\n        columns:\n          - name: id\n          - name: amount\n",
        )
        .file(
            "models/totals.sql",
            "select id, sum(amount) as total from {{ source('shop', 'payments') }} group by id\n",
        )
        .file(
            "models/report.sql",
            "select id, totl from {{ ref('totals') }}\n",
        );
    let run = p.kiln(&["compile", "--debug"]).run();
    run.assert_success();
    // The report is described (an error was at stake), the totals are not.
    assert!(
        run.stdout
            .contains("Lineage: 1 of 2 models described by the binder, 1 read without it"),
        "{}",
        run.stdout
    );
    let nodes = lineage_nodes(&p);
    let report = &nodes["model.shop.report"];
    assert_eq!(report["complete"], false, "{report}");
    assert_eq!(report["incomplete"][0]["reason"], "unknown column `totl`");
}

/// An enforced contract on a model over YAML columns is checked at compile as before: the
/// binder is asked about it.
#[test]
fn an_enforced_contract_over_yaml_columns_is_still_checked_at_compile() {
    let p = TestProject::minimal()
        .file(
            "models/sources.yml",
            "version: 2\nsources:\n  - name: shop\n    schema: raw\n    tables:\n      - name: customers\n        columns:\n          - name: id\n            data_type: integer\n          - name: name\n            data_type: varchar\n",
        )
        .file(
            "models/dim_customers.sql",
            "{{ config(materialized='table', contract={'enforced': true}) }}\nselect id, name from {{ source('shop', 'customers') }}\n",
        )
        .file(
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: dim_customers\n    columns:\n      - name: id\n        data_type: integer\n      - name: name\n        data_type: varchar\n      - name: email\n        data_type: varchar\n",
        );
    let run = p.kiln(&["compile", "--debug"]).run();
    run.assert_code(2);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("model dim_customers has an enforced contract that its SQL does not keep"),
        "{all}"
    );
    assert!(all.contains("email"), "{all}");
    assert!(
        all.contains("Lineage: 1 of 1 models described by the binder"),
        "{all}"
    );
}
