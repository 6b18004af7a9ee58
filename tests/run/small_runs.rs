//! What a small run costs (issue 17): a selected `run` looks up the columns of its nodes'
//! upstreams only, never of every seed, source and unbuilt model of the project.

use crate::db::column;
use crate::support::TestProject;

/// The debug line that counts the lineage pass's column lookups, from `out`'s log.
fn lookups(out: &str) -> String {
    out.lines()
        .find_map(|l| l.split_once("Lineage lookups: the columns of "))
        .map(|(_, rest)| rest.trim_end().to_string())
        .unwrap_or_else(|| panic!("no lookup line in:\n{out}"))
}

/// Three seeds, a source declared in YAML, and a chain: `orders` (from the seed `raw_orders`)
/// → `big_orders`; `events` reads the source; `regions` reads the seed `raw_regions`.
fn project() -> TestProject {
    TestProject::minimal()
        .file("seeds/raw_orders.csv", "id,amount\n1,10\n2,200\n")
        .file("seeds/raw_regions.csv", "id,name\n1,north\n")
        .file("seeds/raw_unused.csv", "id\n1\n")
        .file(
            "models/sources.yml",
            "sources:\n  - name: app\n    schema: main\n    tables:\n      - name: raw_events\n        columns:\n          - name: id\n",
        )
        .file(
            "models/orders.sql",
            "{{ config(materialized='table') }}\nselect id, amount from {{ ref('raw_orders') }}",
        )
        .file(
            "models/big_orders.sql",
            "{{ config(materialized='table') }}\nselect id from {{ ref('orders') }} where amount > 100",
        )
        .file(
            "models/regions.sql",
            "{{ config(materialized='table') }}\nselect id, name from {{ ref('raw_regions') }}",
        )
        .file(
            "models/events.sql",
            "{{ config(materialized='view') }}\nselect id from {{ source('app', 'raw_events') }}",
        )
}

#[test]
fn a_selected_run_looks_up_only_its_upstreams_columns() {
    let p = project();
    p.kiln(&["seed"]).run().assert_success();
    p.kiln(&["run", "-s", "orders", "big_orders", "regions"])
        .run()
        .assert_success();
    // One model: its one upstream (the model `orders`, not compiled by this run); no seed, no
    // source.
    let one = p.kiln(&["run", "-s", "big_orders", "--debug"]).run();
    one.assert_success();
    assert_eq!(
        lookups(&one.stdout),
        "0 sources, 0 seeds and 1 models not compiled",
        "{}",
        one.stdout
    );
    assert_eq!(column(&p, "select id from main.big_orders"), vec!["2"]);
    // A model reading a seed: that seed alone.
    let seed = p.kiln(&["run", "-s", "orders", "--debug"]).run();
    seed.assert_success();
    assert_eq!(
        lookups(&seed.stdout),
        "0 sources, 1 seeds and 0 models not compiled",
        "{}",
        seed.stdout
    );
    // The chain together: `orders` is compiled by this run, so only its seed is looked up.
    let chain = p
        .kiln(&["run", "-s", "orders", "big_orders", "--debug"])
        .run();
    chain.assert_success();
    assert_eq!(
        lookups(&chain.stdout),
        "0 sources, 1 seeds and 0 models not compiled",
        "{}",
        chain.stdout
    );
    // `kiln compile` of everything: the two seeds models read and the source, never the seed
    // nothing reads.
    let all = p.kiln(&["compile", "--debug"]).run();
    all.assert_success();
    assert_eq!(
        lookups(&all.stdout),
        "1 sources, 2 seeds and 0 models not compiled",
        "{}",
        all.stdout
    );
}

/// The lineage a selected run writes for its model is the lineage a full compile gives it: the
/// upstream's columns are found either way.
#[test]
fn a_selected_runs_lineage_equals_the_full_compiles() {
    let p = project();
    p.kiln(&["seed"]).run().assert_success();
    p.kiln(&["run", "-s", "orders", "big_orders", "regions"])
        .run()
        .assert_success();
    let read = || -> serde_json::Value {
        let lineage: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(p.dir().join("target/lineage.json")).expect("lineage.json"),
        )
        .expect("lineage.json is JSON");
        lineage["nodes"]["model.shop.big_orders"].clone()
    };
    p.kiln(&["compile", "--no-partial-parse"])
        .run()
        .assert_success();
    let full = read();
    assert_eq!(full["columns"][0]["name"], "id", "{full}");
    assert_eq!(
        full["columns"][0]["inputs"][0]["node"], "model.shop.orders",
        "{full}"
    );
    std::fs::remove_file(p.dir().join("target/lineage.json")).expect("remove lineage.json");
    p.kiln(&["run", "-s", "big_orders"]).run().assert_success();
    assert_eq!(read(), full);
}

/// `unique_key_duplicates: dedupe` on a composite key with delete+insert: of each key's rows the
/// latest by `updated_at` is kept, keys seen once pass as they are (DuckDB ranks only the
/// repeated keys), a key NULL in any part is left out, and a rerun of the same rows changes
/// nothing.
#[test]
fn dedupe_keeps_the_latest_row_of_each_repeated_composite_key() {
    let p = TestProject::minimal()
        .file(
            "models/sources.yml",
            "sources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: events\n",
        )
        .file(
            "models/events_model.sql",
            "{{ config(materialized='incremental', unique_key=['account', 'id'], incremental_strategy='delete+insert', unique_key_duplicates='dedupe', updated_at='seen') }}\nselect account, id, seen, note from {{ source('raw', 'events') }}",
        );
    let set_source = |rows: &str| {
        crate::db::execute(
            &p,
            &format!(
                "create schema if not exists raw; create or replace table raw.events as select * from (values {rows}) t(account, id, seen, note)"
            ),
        )
    };
    let rows = || -> Vec<String> {
        crate::db::query(&p, "select * from main.events_model order by all")
            .into_iter()
            .map(|r| r.join(","))
            .collect()
    };
    // The first build creates the table; the steps after it stage, dedupe and replace.
    set_source("('z', 9, 1, 'base')");
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(rows(), vec!["z,9,1,base"]);
    set_source(
        "('a', 1, 1, 'first'), ('a', 1, 3, 'latest'), ('a', 1, 2, 'middle'), ('b', 1, 1, 'once'), ('z', 9, 2, 'base again')",
    );
    p.kiln(&["run"]).run().assert_success();
    assert_eq!(
        rows(),
        vec!["a,1,3,latest", "b,1,1,once", "z,9,2,base again"]
    );
    // The next batch: a repeated key replacing a stored one, a new single key, the same id under
    // another account, and keys NULL in one part.
    set_source(
        "('b', 1, 5, 'b late'), ('b', 1, 4, 'b early'), ('c', 2, 1, 'new'), ('a', 2, 1, 'other id'), (NULL, 3, 1, 'no account'), ('d', NULL, 1, 'no id')",
    );
    for _ in 0..2 {
        p.kiln(&["run"]).run().assert_success();
        assert_eq!(
            rows(),
            vec![
                "a,1,3,latest",
                "a,2,1,other id",
                "b,1,5,b late",
                "c,2,1,new",
                "z,9,2,base again"
            ]
        );
    }
}

/// A relation a model names without `ref` or `source` (a macro's hard-coded name, as the demo's
/// `athena__hash_pii` reads its key) is still looked up when that model runs alone: its lineage
/// knows the relation's columns, as a full compile's does.
#[test]
fn a_relation_named_without_ref_is_still_looked_up() {
    let p = project().file(
        "models/by_name.sql",
        "{{ config(materialized='table') }}\nselect id, name from main.raw_regions",
    );
    p.kiln(&["seed"]).run().assert_success();
    let one = p.kiln(&["run", "-s", "by_name", "--debug"]).run();
    one.assert_success();
    assert_eq!(
        lookups(&one.stdout),
        "0 sources, 1 seeds and 0 models not compiled",
        "{}",
        one.stdout
    );
    let lineage: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.dir().join("target/lineage.json")).expect("lineage.json"),
    )
    .expect("lineage.json is JSON");
    let node = &lineage["nodes"]["model.shop.by_name"];
    assert_eq!(node["columns"][1]["name"], "name", "{node}");
    assert_eq!(
        node["columns"][1]["inputs"][0]["node"], "seed.shop.raw_regions",
        "{node}"
    );
}
