//! dbt's warning for dbt_project.yml config paths that apply to no resource covers the semantic
//! layer's trees (`semantic-models:`, `metrics:`, `saved-queries:`) as it does `models:`.

use crate::support::TestProject;

const PROJECT: &str = "name: shop
version: '1.0.0'
config-version: 2
profile: shop
models:
  shop:
    nothere:
      +materialized: table
semantic-models:
  shop:
    +enabled: true
    gone:
      +meta: {a: 1}
metrics:
  shop:
    +meta: {b: 2}
    missing:
      +meta: {a: 1}
saved-queries:
  shop:
    absent:
      +meta: {a: 1}
";

const SEMANTIC: &str = "semantic_models:
  - name: orders_sm
    model: ref('orders')
    defaults:
      agg_time_dimension: ordered_on
    entities:
      - name: id
        type: primary
    dimensions:
      - name: ordered_on
        type: time
        type_params:
          time_granularity: day
    measures:
      - name: order_count
        agg: count
        expr: id
metrics:
  - name: n_orders
    label: N
    type: simple
    type_params:
      measure: order_count
models:
  - name: time_spine
    time_spine:
      standard_granularity_column: date_day
    columns:
      - name: date_day
        granularity: day
";

/// dbt-core 1.11.16 + dbt-duckdb on this project (`dbt parse`) lists these four paths, in this
/// order: `semantic_models.shop` and `metrics.shop` lead to the semantic model and the metric,
/// the rest to nothing.
#[test]
fn unused_semantic_layer_config_paths_warn_as_dbt_does() {
    let p = TestProject::minimal()
        .file("dbt_project.yml", PROJECT)
        .file(
            "models/orders.sql",
            "select 1 as id, date '2024-01-01' as ordered_on",
        )
        .file(
            "models/time_spine.sql",
            "select range::date as date_day from range(date '2024-01-01', date '2024-02-01', interval 1 day)",
        )
        .file("models/sem.yml", SEMANTIC);
    let run = p.kiln(&["parse"]).run();
    run.assert_success();
    let expected = "warning[unused-config]: Configuration paths exist in your dbt_project.yml file which do not apply to any resources.
There are 4 unused configuration paths:
- models.shop.nothere
- metrics.shop.missing
- semantic_models.shop.gone
- saved_queries.shop.absent
";
    assert!(run.stderr.contains(expected), "{}", run.stderr);

    // With no semantic resources at all (dbt on the same change lists these six).
    p.write("models/sem.yml", "models:\n  - name: orders\n");
    let run = p.kiln(&["parse"]).run();
    run.assert_success();
    let expected = "There are 6 unused configuration paths:
- models.shop.nothere
- metrics.shop
- metrics.shop.missing
- semantic_models.shop
- semantic_models.shop.gone
- saved_queries.shop.absent
";
    assert!(run.stderr.contains(expected), "{}", run.stderr);
}
