//! Column lineage at compile time: target/lineage.json, the compile-time column and contract
//! checks (exit 2, placed in the model's own file), YAML columns a model does not produce, the
//! incomplete fallback, and `kiln lineage`.

use crate::assert_run_snapshot;
use crate::support::TestProject;
use serde_json::Value;

/// A seed, a staging model, an ephemeral model, a mart that joins, filters and aggregates
/// through the ephemeral one, and a model whose SQL sqlparser cannot read (DuckDB's `using
/// sample`). Nothing is built: the binder reads the seed's CSV and describes each model.
fn shop() -> TestProject {
    TestProject::minimal()
        .file(
            "seeds/raw_orders.csv",
            "id,customer_id,amount,status\n1,10,12.5,placed\n2,11,20.0,shipped\n3,10,7.25,placed\n",
        )
        .file(
            "seeds/raw_customers.csv",
            "id,email\n10,a@example.com\n11,b@example.com\n",
        )
        .file(
            "models/stg_orders.sql",
            "-- One row per order.\nselect\n    id as order_id,\n    customer_id,\n    amount,\n    upper(status) as status\nfrom {{ ref('raw_orders') }}\n",
        )
        .file(
            "models/placed_orders.sql",
            "{{ config(materialized='ephemeral') }}\nselect order_id, customer_id, amount\nfrom {{ ref('stg_orders') }}\nwhere status = 'PLACED'\n",
        )
        .file(
            "models/customer_revenue.sql",
            "{% set measure = 'amount' %}\nselect\n    c.id as customer_id,\n    md5(c.email) as email_hash,\n    sum(o.{{ measure }}) as revenue\nfrom {{ ref('raw_customers') }} as c\njoin {{ ref('placed_orders') }} as o on o.customer_id = c.id\ngroup by all\n",
        )
        .file(
            "models/sampled.sql",
            "select order_id, amount\nfrom {{ ref('stg_orders') }} using sample 50%\n",
        )
        .file(
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: customer_revenue\n    columns:\n      - name: customer_id\n      - name: revenue\n      - name: discount\n        description: not in the SQL\n",
        )
}

fn lineage_nodes(p: &TestProject) -> Value {
    let v: Value =
        serde_json::from_str(&p.read("target/lineage.json")).expect("lineage.json is JSON");
    let meta = v["metadata"].as_object().expect("metadata");
    for key in ["kiln_version", "generated_at", "invocation_id"] {
        assert!(meta[key].is_string(), "metadata.{key}: {v}");
    }
    v["nodes"].clone()
}

/// `kiln compile` writes the lineage of every model, the ephemeral one through its CTE, with the
/// binder's types; the YAML column the SQL does not produce is a warning naming both.
#[test]
fn compile_writes_lineage_json_and_warns_of_declared_columns_the_sql_lacks() {
    let p = shop();
    let run = p.kiln(&["compile"]).run();
    run.assert_success();
    assert_run_snapshot!(run);
    let nodes = lineage_nodes(&p);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => true}, {
        insta::assert_json_snapshot!(nodes);
    });
    // The mart's revenue comes from the seed's amount through two models, summed.
    let revenue = &nodes["model.shop.customer_revenue"]["columns"][2];
    assert_eq!(revenue["name"], "revenue");
    assert_eq!(revenue["inputs"][0]["node"], "model.shop.stg_orders");
    assert_eq!(
        revenue["inputs"][0]["transformations"][0]["subtype"],
        "AGGREGATION"
    );
    // The hash masks.
    let email = &nodes["model.shop.customer_revenue"]["columns"][1];
    assert_eq!(email["inputs"][0]["transformations"][0]["masking"], true);
    // Fallback: what sqlparser cannot read is incomplete, with the binder's columns and no
    // inputs, and the place in the model's file.
    let sampled = &nodes["model.shop.sampled"];
    assert_eq!(sampled["complete"], false);
    assert_eq!(sampled["columns"][0]["name"], "order_id");
    assert_eq!(sampled["columns"][0]["inputs"], Value::Array(vec![]));
    assert_eq!(sampled["incomplete"][0]["line"], 2);
}

/// A misspelled column stops `kiln compile` (exit 2) at the line and column of the model's own
/// file (here a line Jinja rewrote), with the upstream's closest column; `kiln build` stops the
/// same way before anything runs.
#[test]
fn a_misspelled_column_fails_compile_and_build_before_anything_runs() {
    let p = shop().file(
        "models/customer_revenue.sql",
        "{% set measure = 'amout' %}\nselect\n    c.id as customer_id,\n    md5(c.email) as email_hash,\n    sum(o.{{ measure }}) as revenue\nfrom {{ ref('raw_customers') }} as c\njoin {{ ref('placed_orders') }} as o on o.customer_id = c.id\ngroup by all\n",
    )
    .file(
        "models/stg_orders.sql",
        "-- One row per order.\nselect\n    id as order_id,\n    customer_id,\n    amount,\n    upper(staus) as status\nfrom {{ ref('raw_orders') }}\n",
    );
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    assert_run_snapshot!(run);
    let build = p.kiln(&["build"]).run();
    build.assert_code(2);
    assert!(
        build.stderr.contains("models/stg_orders.sql:6:11"),
        "{}",
        build.snapshot()
    );
    assert!(
        !p.exists("target/run_results.json"),
        "nothing ran: {}",
        build.snapshot()
    );
}

/// An enforced contract whose types the SQL does not return fails `kiln compile`.
#[test]
fn an_enforced_contract_the_sql_breaks_fails_compile() {
    let p = shop().file(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: stg_orders\n    config:\n      contract: {enforced: true}\n    columns:\n      - name: order_id\n        data_type: integer\n      - name: customer_id\n        data_type: integer\n      - name: amount\n        data_type: varchar\n      - name: status\n        data_type: varchar\n",
    );
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    assert_run_snapshot!(run);
}

/// `kiln lineage` follows a column up to the seed columns and down to what reads it.
#[test]
fn lineage_traces_a_column_up_to_seeds_and_down_to_readers() {
    let p = shop();
    let up = p
        .kiln(&["lineage", "-s", "customer_revenue.revenue", "--upstream"])
        .run();
    up.assert_success();
    assert_run_snapshot!("upstream", up);
    let down = p
        .kiln(&["lineage", "-s", "raw_orders.amount", "--downstream"])
        .run();
    down.assert_success();
    assert_run_snapshot!("downstream", down);
    let bad = p.kiln(&["lineage", "-s", "customer_revenue.revenu"]).run();
    bad.assert_code(2);
    assert!(
        bad.stderr
            .contains("did you mean `customer_revenue.revenue`?"),
        "{}",
        bad.snapshot()
    );
}

/// `kiln ls --output json` keeps dbt's keys; `--output-keys column_lineage` (kiln's own key,
/// printed only when asked for) adds the node's entry of target/lineage.json.
#[test]
fn ls_json_shows_column_lineage_only_when_asked() {
    let p = shop();
    p.kiln(&["compile"]).run().assert_success();
    let plain = p
        .kiln(&["ls", "-s", "customer_revenue", "--output", "json", "-q"])
        .run();
    plain.assert_success();
    let line: Value = serde_json::from_str(plain.stdout.trim()).expect("one JSON line");
    assert!(line.get("column_lineage").is_none(), "{line}");
    let asked = p
        .kiln(&[
            "ls",
            "-s",
            "customer_revenue",
            "--output",
            "json",
            "--output-keys",
            "name",
            "column_lineage",
            "-q",
        ])
        .run();
    asked.assert_success();
    let line: Value = serde_json::from_str(asked.stdout.trim()).expect("one JSON line");
    assert_eq!(line["name"], "customer_revenue");
    assert_eq!(line["column_lineage"]["complete"], true);
    assert_eq!(
        line["column_lineage"]["columns"][2]["inputs"][0]["column"],
        "amount"
    );
}

/// A source nothing has built is known by the columns its YAML declares, which may be only some
/// of them and are untyped: a model that reads it keeps its lineage (without the binder's
/// types), and a column YAML does not list is no error (the lineage says what it could not
/// find, and the database decides at run time).
#[test]
fn a_source_known_only_by_its_yaml_gives_lineage_and_never_a_false_error() {
    let p = TestProject::minimal()
        .file(
            "models/sources.yml",
            "version: 2\nsources:\n  - name: shop\n    schema: raw\n    tables:\n      - name: payments\n        columns:\n          - name: id\n          - name: amount\n",
        )
        .file(
            "models/totals.sql",
            "select id, sum(amount) as total\nfrom {{ source('shop', 'payments') }}\ngroup by id\n",
        )
        .file(
            "models/methods.sql",
            "select id, payment_method\nfrom {{ source('shop', 'payments') }}\n",
        );
    p.kiln(&["compile"]).run().assert_success();
    let nodes = lineage_nodes(&p);
    let totals = &nodes["model.shop.totals"];
    assert_eq!(totals["complete"], true, "{totals}");
    assert_eq!(totals["columns"][1]["name"], "total");
    assert_eq!(totals["columns"][1]["type"], Value::Null);
    assert_eq!(
        totals["columns"][1]["inputs"][0]["node"],
        "source.shop.shop.payments"
    );
    let methods = &nodes["model.shop.methods"];
    assert_eq!(methods["complete"], false, "{methods}");
    assert_eq!(
        methods["incomplete"][0]["reason"],
        "unknown column `payment_method`"
    );
    assert_eq!(methods["incomplete"][0]["line"], 1);
}

/// The lineage cache (`target/kiln_lineage_cache.json`): a re-compile describes again only the
/// models whose compiled SQL or upstream columns changed, and its lineage.json is the one a
/// compile without the cache writes.
#[test]
fn a_recompile_describes_only_models_whose_sql_or_upstreams_changed() {
    let p = TestProject::minimal()
        .file("seeds/raw.csv", "id,amount\n1,2.5\n2,4.0\n")
        .file("models/a.sql", "select id, amount from {{ ref('raw') }}\n")
        .file(
            "models/b.sql",
            "select id, amount * 2 as doubled from {{ ref('a') }}\n",
        )
        .file(
            "models/c.sql",
            "select count(*) as n from {{ ref('raw') }}\n",
        );
    let described = |p: &TestProject| -> String {
        let run = p.kiln(&["compile", "--debug"]).run();
        run.assert_success();
        run.stdout
            .lines()
            .find_map(|l| l.split_once("Lineage: ").map(|(_, m)| m.to_string()))
            .expect("the lineage line")
    };
    // Simple models over a seed: kiln types them itself (the binder is not asked).
    assert!(described(&p).starts_with("0 of 3 models described by the binder, 3 typed by kiln,"));
    assert!(described(&p).starts_with("0 of 3 models described by the binder, the rest"));
    // a gains a column: a and b (whose upstream changed) are described again, c is not.
    p.write(
        "models/a.sql",
        "select id, amount, amount > 3 as big from {{ ref('raw') }}\n",
    );
    assert!(described(&p).starts_with("0 of 3 models described by the binder, 2 typed by kiln,"));
    let cached = lineage_nodes(&p);
    assert_eq!(cached["model.shop.a"]["columns"][2]["name"], "big");
    std::fs::remove_file(p.dir().join("target/kiln_lineage_cache.json")).expect("remove cache");
    assert!(described(&p).starts_with("0 of 3 models described by the binder, 3 typed by kiln,"));
    assert_eq!(cached, lineage_nodes(&p));
}

/// The seeds' CSVs are read from the project, not from the working directory: compiled from
/// another folder, the models still get the binder's types (they were all null, and every
/// later consumer of the types, e.g. OpenLineage's schema facet, fell back to catalog queries).
#[test]
fn compile_from_another_folder_reads_the_seeds_from_the_project() {
    let p = shop();
    let dir = p.dir();
    let elsewhere = dir.parent().expect("the project has a parent folder");
    p.kiln(&["compile"])
        .current_dir(elsewhere)
        .run()
        .assert_success();
    let nodes = lineage_nodes(&p);
    let stg = &nodes["model.shop.stg_orders"]["columns"];
    assert_eq!(stg[0]["name"], "order_id");
    assert_eq!(stg[0]["type"], "INTEGER", "{stg}");
    assert_eq!(stg[3]["type"], "VARCHAR", "{stg}");
}
