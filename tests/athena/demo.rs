//! The demo warehouse (the repository root) built whole with `kiln build --target athena`
//! against moto, twice: seeds, models (views, Hive tables, the Iceberg delete+insert
//! incremental), snapshots (Iceberg tables: a CTAS, then a staged change set merged in), data
//! tests and unit tests. The harness (`whole.rs`) plays the engine and asserts what every
//! whole-project build must; here, besides: the snapshots' and the incremental's Glue state
//! after each build (created, then merged in place), the unit tests' verdicts, and the API
//! calls of one node of each kind in the second build (snapshotted).

use super::Warehouse;
use super::whole::{self, Known, result};
use crate::proxy::Rule;
use crate::support::TestProject;

/// The demo, its `athena` target pointed at the emulator.
fn demo_warehouse() -> Warehouse {
    let project = TestProject::demo();
    // the demo itself says its delete+insert incremental is an Iceberg table (Athena deletes
    // only from those)
    let events = project.read("models/staging/product/stg_product__click_events.sql");
    assert!(events.contains("table_type='iceberg'"), "{events}");
    whole::warehouse(project, "kiln_demo")
}

/// `name`'s columns as kiln read them, (name, Hive type), in the order `wanted` gives, or all.
fn columns(known: &Known, name: &str, wanted: &[&str]) -> Vec<(String, String)> {
    let all = known
        .columns
        .get(name)
        .unwrap_or_else(|| panic!("no columns for {name}"));
    if wanted.is_empty() {
        return all.clone();
    }
    wanted
        .iter()
        .map(|w| {
            all.iter()
                .find(|(c, _)| c == w)
                .cloned()
                .unwrap_or_else(|| panic!("{name} has no column {w}: {all:?}"))
        })
        .collect()
}

/// The engine's answers for one unit test of `model`: its output's columns to the probe of
/// the model's query (the SQL holding `marker`, wrapped to return no row), and to the
/// comparison the rows a correct model gives: the expected ones, as `actual` and `expected`.
fn answer_unit_test(
    w: &Warehouse,
    known: &Known,
    model: &str,
    marker: &str,
    expected: &[&str],
    rows: &[&[Option<&str>]],
) {
    w.proxy.rule(Rule::Answer {
        contains: vec![
            marker.to_string(),
            ") as __dbt_sbq\nwhere false".to_string(),
        ],
        result: result(&columns(known, model, &[]), &[]),
    });
    let mut cols = columns(known, model, expected);
    cols.push(("actual_or_expected".into(), "string".into()));
    let mut answer = vec![];
    for which in ["actual", "expected"] {
        for row in rows {
            let mut r: Vec<Option<String>> = row.iter().map(|v| v.map(str::to_string)).collect();
            r.push(Some(which.to_string()));
            answer.push(r);
        }
    }
    w.proxy.rule(Rule::Answer {
        contains: vec![
            marker.to_string(),
            "with dbt_internal_unit_test_actual as".to_string(),
        ],
        result: result(&cols, &answer),
    });
}

#[test]
fn the_demo_builds_on_athena_end_to_end() {
    let w = demo_warehouse();
    let known = whole::know_the_columns(&w);
    whole::answer_snapshot_probes(&w, &known);
    // the demo's unit tests (models/**/_*__unit_tests.yml), told apart by their fixtures
    answer_unit_test(
        &w,
        &known,
        "int_costs_monthly",
        "-- Fixture for stg_finance__expenses",
        &[
            "cost_month",
            "infrastructure_cost",
            "services_cost",
            "assets_cost",
            "salary_cost",
            "headcount",
            "total_cost",
        ],
        &[
            &[
                Some("2024-01-01"),
                Some("120.50"),
                Some("30.00"),
                Some("0.00"),
                Some("9000.00"),
                Some("3"),
                Some("9150.50"),
            ],
            &[
                Some("2024-02-01"),
                Some("0.00"),
                Some("0.00"),
                Some("0.00"),
                Some("12000.00"),
                Some("4"),
                Some("12000.00"),
            ],
        ],
    );
    answer_unit_test(
        &w,
        &known,
        "stg_product__click_events",
        "select 'e2', 'u2', 'acc-2'",
        &[
            "event_id",
            "account_id",
            "received_at",
            "arrival_delay_minutes",
        ],
        &[
            &[
                Some("e1"),
                Some("ACC-1"),
                Some("2024-03-01 10:05:00.000"),
                Some("5"),
            ],
            &[
                Some("e2"),
                Some("ACC-2"),
                Some("2024-03-01 11:00:00.000"),
                Some("0"),
            ],
        ],
    );
    answer_unit_test(
        &w,
        &known,
        "stg_product__click_events",
        "select 'e9', timestamp",
        &["event_id", "account_id", "event_date"],
        &[&[Some("e3"), Some("ACC-3"), Some("2024-03-08")]],
    );

    let builds = whole::build_twice(&w, &[]);
    let nodes = &builds.nodes;
    let kinds: Vec<&str> = nodes.values().map(String::as_str).collect();
    for kind in [
        "seed:seed",
        "model:view",
        "model:table",
        "model:incremental",
        "snapshot:snapshot",
    ] {
        assert!(kinds.contains(&kind), "no {kind} built: {nodes:#?}");
    }
    assert!(nodes.len() > 30, "{nodes:#?}");

    // every data test and unit test ran and passed, in both builds (run_results.json is the
    // second's)
    let results = whole::artifact(&w, "run_results.json");
    let statuses: Vec<(String, String)> = results["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["unique_id"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let units: Vec<&(String, String)> = statuses
        .iter()
        .filter(|(id, _)| id.starts_with("unit_test."))
        .collect();
    assert_eq!(units.len(), 3, "{units:#?}");
    assert!(units.iter().all(|(_, s)| s == "pass"), "{units:#?}");
    assert!(
        statuses
            .iter()
            .filter(|(id, _)| id.starts_with("test."))
            .count()
            > 50
    );
    let bad: Vec<_> = statuses
        .iter()
        .filter(|(id, s)| {
            !(["pass", "success"].contains(&s.as_str())
                || id.starts_with("exposure.") && s == "no-op")
        })
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");

    // the snapshots: Iceberg tables created by the first build, merged in place by the second
    // (the same location), as is the Iceberg incremental
    let [first, second] = &builds.glue;
    for ((schema, name), kind) in nodes {
        if kind != "snapshot:snapshot" && name != "stg_product__click_events" {
            continue;
        }
        let key = (schema.clone(), name.clone());
        assert_eq!(first[&key].kind, "ICEBERG", "{name}");
        assert_eq!(
            first[&key].location, second[&key].location,
            "{name} was merged in place"
        );
    }
    let snapshots: Vec<&String> = nodes
        .iter()
        .filter(|(_, k)| k.as_str() == "snapshot:snapshot")
        .map(|((_, n), _)| n)
        .collect();
    assert_eq!(snapshots, ["snap_account_plans", "snap_subscriptions"]);
    // each snapshot's second build: its query's columns read, the change set staged, merged
    let sent = whole::statements(&w);
    for name in &snapshots {
        let merge = format!(r#"merge into "awsdatacatalog"."analytics"."{name}""#);
        assert_eq!(
            sent.iter().filter(|s| s.starts_with(&merge)).count(),
            1,
            "{name}: {sent:#?}"
        );
    }
    let text = whole::calls_per_kind(
        nodes,
        &builds.calls,
        &[
            "model:view",
            "model:table",
            "model:incremental",
            "seed:seed",
            "snapshot:snapshot",
        ],
    );
    insta::assert_snapshot!("demo_calls_per_node_kind", text);
}
