//! The jaffle-shop fixture (`tests/fixtures/jaffle_compat`, a dbt-duckdb project in the style
//! of dbt's tutorial, which the DuckDB tests build) built whole with `kiln build --target
//! athena` against moto, twice, with a profile the test writes: its four seeds, three staging
//! views, two table marts, generic and singular data tests. The harness (`whole.rs`) plays the
//! engine and asserts what every whole-project build must (Glue state, tokens, S3 deletes
//! inside each relation's folder, every statement through Athena's grammars); here, besides:
//! what was built, that each table of the second build was published at a new location whose
//! predecessor's files are gone, the fixture's one DuckDB-only expression taking its
//! `athena__` dispatch, and the API calls of one node of each kind (snapshotted).

use super::whole;
use crate::support::TestProject;

#[test]
fn the_jaffle_shop_builds_on_athena_end_to_end() {
    let w = whole::warehouse(TestProject::fixture("jaffle_compat"), "jaffle_compat");
    whole::know_the_columns(&w);
    let builds = whole::build_twice(&w, &[]);
    let built: Vec<String> = builds
        .nodes
        .iter()
        .map(|((schema, name), kind)| format!("{schema}.{name} {kind}"))
        .collect();
    assert_eq!(
        built,
        [
            "analytics.customers model:table",
            "analytics.orders model:table",
            "analytics.raw_customers seed:seed",
            "analytics.raw_flags seed:seed",
            "analytics.raw_orders seed:seed",
            "analytics.raw_payments seed:seed",
            "analytics.stg_customers model:view",
            "analytics.stg_orders model:view",
            "analytics.stg_payments model:view",
        ]
    );
    // every data test ran and passed (run_results.json is the second build's)
    let results = whole::artifact(&w, "run_results.json");
    let tests: Vec<String> = results["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r["unique_id"]
                .as_str()
                .is_some_and(|u| u.starts_with("test."))
        })
        .map(|r| r["status"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(tests.len(), 10, "{tests:?}");
    assert!(tests.iter().all(|s| s == "pass"), "{tests:?}");

    // tables and seeds: a new location each build, the previous one's files deleted
    let [first, second] = &builds.glue;
    let keys = w.keys();
    let bucket = format!("s3://{}/", w.bucket);
    for (key, kind) in &builds.nodes {
        if kind.ends_with(":view") {
            continue;
        }
        let (old, new) = (&first[key].location, &second[key].location);
        assert_ne!(old, new, "{key:?} was republished");
        let old = old.trim_start_matches(&bucket);
        assert!(
            !keys.iter().any(|k| k.starts_with(old)),
            "{key:?}: the first build's files are left: {keys:?}"
        );
    }

    // `cents_to_dollars` casts with `::` on DuckDB; its athena__ dispatch casts as Trino does
    let payments = whole::statements(&w)
        .into_iter()
        .find(|s| {
            s.starts_with(r#"create or replace view "awsdatacatalog"."analytics"."stg_payments""#)
        })
        .expect("the stg_payments view");
    assert!(
        payments.contains("cast(amount / 100.0 as decimal(16, 2))") && !payments.contains("::"),
        "{payments}"
    );

    let text = whole::calls_per_kind(
        &builds.nodes,
        &builds.calls,
        &["model:view", "model:table", "seed:seed"],
    );
    insta::assert_snapshot!("jaffle_calls_per_node_kind", text);
}
