//! `kiln build` and `kiln test`: seeds, models and data tests in one DAG; test configs; failures
//! skipping what is downstream; stored failures.

use crate::db::{column, query, relations, statuses};
use crate::support::TestProject;

fn project() -> TestProject {
    TestProject::minimal()
        .file(
            "seeds/customers.csv",
            "id,name,country\n1,Ada,uk\n2,Grace,us\n3,Linus,fi\n",
        )
        .file(
            "seeds/orders.csv",
            "id,customer_id,status,amount\n10,1,placed,5\n11,2,shipped,7\n12,9,placed,1\n13,3,returned,2\n",
        )
        .file(
            "models/stg_orders.sql",
            "select * from {{ ref('orders') }}",
        )
        .file(
            "models/revenue.sql",
            "{{ config(materialized='table') }}\nselect customer_id, sum(amount) as total from {{ ref('stg_orders') }} group by 1",
        )
        .file(
            "models/schema.yml",
            r#"
seeds:
  - name: customers
    columns:
      - name: id
        data_tests: [unique, not_null]
models:
  - name: stg_orders
    columns:
      - name: id
        data_tests: [unique]
      - name: status
        data_tests:
          - accepted_values:
              arguments:
                values: ['placed', 'shipped']
              config:
                severity: warn
      - name: customer_id
        data_tests:
          - relationships:
              arguments:
                to: ref('customers')
                field: id
  - name: revenue
    columns:
      - name: total
        data_tests:
          - not_null
"#,
        )
}

/// A failing test skips what dbt-core skips: the nodes downstream of *all* the test's parents.
/// dbt-core 1.11 on this project: the relationships test between stg_orders and customers
/// fails; `enriched` (reads both) is skipped; `revenue` (reads stg_orders only) builds and its
/// test passes (`Done. PASS=8 WARN=1 ERROR=1 SKIP=1`, recorded by hand).
#[test]
fn build_runs_seeds_models_and_tests_and_a_failing_test_skips_downstream() {
    let p = project().file(
        "models/enriched.sql",
        "select o.*, c.name from {{ ref('stg_orders') }} as o join {{ ref('customers') }} as c on c.id = o.customer_id",
    );
    let run = p.kiln(&["build"]).run();
    run.assert_code(1);
    let st = statuses(&p);
    let has = |s: &str| st.iter().any(|x| x.starts_with(s));
    assert!(has("seed.shop.customers success"), "{st:?}");
    assert!(has("seed.shop.orders success"));
    assert!(has("model.shop.stg_orders success"));
    // 'returned' is not accepted: a warning, which blocks nothing
    assert!(
        has("test.shop.accepted_values_stg_orders_status__placed__shipped")
            && st
                .iter()
                .any(|x| x.contains("accepted_values") && x.ends_with(" warn")),
        "{st:?}"
    );
    // customer 9 does not exist: the relationships test fails, and what reads both stg_orders
    // and customers is skipped; revenue, which reads only stg_orders, is not
    assert!(
        st.iter()
            .any(|x| x.contains("relationships_stg_orders") && x.ends_with(" fail")),
        "{st:?}"
    );
    assert!(has("model.shop.enriched skipped"), "{st:?}");
    assert!(has("model.shop.revenue success"), "{st:?}");
    assert!(
        st.iter()
            .any(|x| x.contains("not_null_revenue_total") && x.ends_with(" pass")),
        "{st:?}"
    );
    assert!(
        run.stdout
            .contains("Done. PASS=8 WARN=1 ERROR=1 SKIP=1 NO-OP=0 TOTAL=11"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("FAIL 1 relationships_stg_orders_customer_id__id__ref_customers_"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Got 1 result, configured to fail if != 0"),
        "{}",
        run.stdout
    );
    assert!(!relations(&p).iter().any(|r| r.contains("enriched")));
    assert_eq!(column(&p, "select count(*) from main.revenue"), vec!["4"]);
    // seeds keep their inferred types
    assert_eq!(
        column(
            &p,
            "select data_type from information_schema.columns where table_name = 'orders' order by ordinal_position"
        ),
        vec!["INTEGER", "INTEGER", "VARCHAR", "INTEGER"]
    );
}

#[test]
fn test_configs_where_limit_fail_calc_thresholds_and_stored_failures() {
    let p = project().file(
        "models/schema.yml",
        r#"
models:
  - name: stg_orders
    columns:
      - name: customer_id
        data_tests:
          - relationships:
              arguments: {to: ref('customers'), field: id}
              config:
                where: "status = 'shipped'"
          - not_null:
              config: {fail_calc: "sum(case when customer_id > 2 then 1 else 0 end)"}
      - name: status
        data_tests:
          - accepted_values:
              arguments: {values: ['placed'], quote: true}
              config: {error_if: ">= 3", warn_if: ">= 1", store_failures: true}
          - accepted_values:
              name: status_limited
              arguments: {values: ['nothing']}
              config: {limit: 2, severity: warn}
"#,
    );
    let run = p
        .kiln(&["build", "--select", "+stg_orders", "customers"])
        .run();
    run.assert_success();
    let st = statuses(&p);
    assert!(
        st.iter()
            .any(|x| x.starts_with("test.shop.relationships_stg_orders") && x.ends_with(" pass")),
        "{st:?}"
    );
    // fail_calc counts nothing here: not_null passes
    assert!(
        st.iter()
            .any(|x| x.contains("not_null_stg_orders_customer_id") && x.ends_with(" pass")),
        "{st:?}"
    );
    // 2 rows are not 'placed': warn (>= 1) but not error (>= 3)
    assert!(
        st.iter().any(
            |x| x.contains("accepted_values_stg_orders_status__True__placed")
                && x.ends_with(" warn")
        ),
        "{st:?}"
    );
    assert!(
        run.stdout.contains("WARN 2 status_limited") || run.stdout.contains("WARN 2"),
        "{}",
        run.stdout
    );
    // limit 2 caps the failures examined
    let rr = crate::db::run_results(&p);
    let limited = rr["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"].as_str().unwrap().contains("status_limited"))
        .unwrap();
    assert_eq!(limited["failures"], 2);
    // the stored failures: the failing values in the audit schema
    assert_eq!(
        query(
            &p,
            "select value_field, n_records from main_dbt_test__audit.accepted_values_stg_orders_status__True__placed order by 1"
        ),
        vec![vec!["returned", "1"], vec!["shipped", "1"]]
    );
}

#[test]
fn custom_generic_and_singular_tests_and_tests_on_sources() {
    let p = project()
        .file("macros/is_positive.sql", "{% test is_positive(model, column_name) %}select * from {{ model }} where {{ column_name }} <= 0{% endtest %}")
        .file("tests/data/no_big_orders.sql", "select * from {{ ref('stg_orders') }} where amount > 6")
        .file("data/raw_events.csv", "id\n1\n1\n")
        .file(
            "dbt_project.yml",
            "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\ntest-paths: [tests/data]\n",
        )
        .file(
            "models/schema.yml",
            r#"
sources:
  - name: raw
    meta: {external_location: "data/{name}.csv"}
    tables:
      - name: raw_events
        columns:
          - name: id
            data_tests: [unique]
models:
  - name: stg_orders
    columns:
      - name: amount
        data_tests: [is_positive]
"#,
        );
    let run = p.kiln(&["build"]).run();
    run.assert_code(1);
    let st = statuses(&p);
    assert!(
        st.iter()
            .any(|x| x.starts_with("test.shop.is_positive_stg_orders_amount")
                && x.ends_with(" pass")),
        "{st:?}"
    );
    assert!(
        st.iter()
            .any(|x| x.starts_with("test.shop.no_big_orders") && x.ends_with(" fail")),
        "{st:?}"
    );
    assert!(
        st.iter().any(
            |x| x.starts_with("test.shop.source_unique_raw_raw_events_id") && x.ends_with(" fail")
        ),
        "{st:?}"
    );
    // kiln test runs only the tests
    let t = p.kiln(&["test", "--select", "stg_orders"]).run();
    t.assert_code(1);
    assert!(
        t.stdout.contains("PASS is_positive_stg_orders_amount"),
        "{}",
        t.stdout
    );
    assert!(t.stdout.contains("FAIL 1 no_big_orders"), "{}", t.stdout);
}

#[test]
fn seeds_load_when_kiln_runs_from_another_directory() {
    let p = project();
    let run = p.kiln(&["seed"]).current_dir(p.root()).run();
    run.assert_success();
    assert_eq!(column(&p, "select count(*) from main.customers"), vec!["3"]);
    assert!(run.stdout.contains("[INSERT 3 in"), "{}", run.stdout);
}
