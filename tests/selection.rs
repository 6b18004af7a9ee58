//! Node selection through `kiln ls`, over `tests/fixtures/selection` (its README draws the DAG):
//! every selector method, graph operator, set operation, indirect-selection mode and YAML
//! selector, `ls`'s output formats and resource-type filters, and the errors bad selectors give.
//!
//! Lists are asserted exactly, in the order `kiln ls` prints them (by unique_id: exposures,
//! models, seeds, snapshots, sources, tests). Many cases pass `--indirect-selection empty` so that
//! the list shows what the method and graph operators picked, without the tests they pull in.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/selection")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `kiln ls --project-dir <dir> --profiles-dir <dir> <args>`.
fn kiln_ls(dir: &Path, args: &[&str]) -> Run {
    let out = assert_cmd::cargo::cargo_bin_cmd!("kiln")
        .arg("ls")
        .arg("--project-dir")
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        // `ls` runs in place on the fixture folder: no logs/dbt.log written into the repository.
        .env("DBT_LOG_LEVEL_FILE", "none")
        // ... and no parse cache in its target/.
        .env("DBT_PARTIAL_PARSE", "0")
        .output()
        .expect("run kiln ls");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The lines `kiln ls <args>` prints in `dir`, asserting it succeeds.
fn lines_in(dir: &Path, args: &[&str]) -> Vec<String> {
    let run = kiln_ls(dir, args);
    assert_eq!(
        run.code, 0,
        "kiln ls {args:?} failed:\n{}{}",
        run.stdout, run.stderr
    );
    run.stdout.lines().map(ToString::to_string).collect()
}

/// `kiln ls --output name <args>` on the fixture.
fn names(args: &[&str]) -> Vec<String> {
    let mut all = vec!["--output", "name"];
    all.extend_from_slice(args);
    lines_in(&fixture(), &all)
}

/// Like [`names`], without indirectly selected tests.
fn direct(args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--indirect-selection", "empty"]);
    names(&all)
}

/// The stderr of a `kiln ls` that must fail with exit code 2 and print nothing on stdout.
fn fails_in(dir: &Path, args: &[&str]) -> String {
    let run = kiln_ls(dir, args);
    assert_eq!(
        run.code, 2,
        "expected exit code 2 for {args:?}:\n{}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "nothing on stdout for {args:?}");
    run.stderr
}

fn fails(args: &[&str]) -> String {
    fails_in(&fixture(), args)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A copy of the fixture with selectors.yml replaced (or removed, with `None`).
fn fixture_with_selectors(selectors: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture(), dir.path());
    let path = dir.path().join("selectors.yml");
    match selectors {
        Some(text) => std::fs::write(&path, text).expect("write selectors.yml"),
        None => std::fs::remove_file(&path).expect("remove selectors.yml"),
    }
    dir
}

const STG_ORDERS_TESTS: [&str; 5] = [
    "accepted_values_stg_orders_status__placed__shipped",
    "assert_orders_have_payments",
    "not_null_stg_orders_order_id",
    "relationships_stg_orders_customer_id__customer_id__ref_stg_customers_",
    "unique_stg_orders_order_id",
];

fn with_tests(nodes: &[&str], tests: &[&str]) -> Vec<String> {
    nodes.iter().chain(tests).map(ToString::to_string).collect()
}

// ---------------------------------------------------------------------------------------------
// Defaults and ls output formats

#[test]
fn no_selection_lists_everything_but_analyses() {
    let dir = fixture_with_selectors(None);
    let all = lines_in(dir.path(), &[]);
    assert_eq!(
        all,
        [
            "exposure:sel.crm_sync",
            "exposure:sel.revenue_dashboard",
            "sel.aggregate.agg_customer_orders",
            "sel.aggregate.agg_daily_revenue",
            "sel.marts.marketing.customer_segments",
            "sel.marts.core.dim_customers",
            "sel.marts.core.fct_orders",
            "sel.marts.finance.reporting.finance_kpis",
            "sel.marts.finance.finance_revenue",
            "sel.intermediate.int_order_payments",
            "sel.staging.crm.stg_accounts",
            "sel.staging.stg_customers",
            "sel.staging.stg_orders",
            "sel.staging.stg_payments",
            "sel.country_codes",
            "sel.lookup.currencies",
            "sel.customers_snapshot.customers_snapshot",
            "source:sel.crm.accounts",
            "source:sel.shop.customers",
            "source:sel.shop.orders",
            "source:sel.shop.payments",
            "sel.staging.accepted_values_stg_orders_status__placed__shipped",
            "sel.finance.assert_kpis_match",
            "sel.assert_orders_have_payments",
            "sel.marts.not_null_fct_orders_order_id",
            "sel.staging.not_null_stg_customers_customer_id",
            "sel.staging.not_null_stg_orders_order_id",
            "sel.aggregate.positive_agg_daily_revenue_revenue",
            "sel.staging.relationships_stg_orders_customer_id__customer_id__ref_stg_customers_",
            "sel.staging.source_unique_shop_orders_id",
            "sel.unique_country_codes_code",
            "sel.marts.unique_dim_customers_customer_id",
            "sel.staging.unique_stg_customers_customer_id",
            "sel.staging.unique_stg_orders_order_id",
        ]
    );
    // With no default selector, every output starts from the same set.
    assert_eq!(lines_in(&fixture(), &[]), all);
}

#[test]
fn output_selector_name_and_path() {
    let args = [
        "-s",
        "stg_orders",
        "source:crm",
        "exposure:crm_sync",
        "customers_snapshot",
    ];
    let with = |output: &str| {
        let mut a = vec!["--indirect-selection", "empty", "--output", output];
        a.extend_from_slice(&args);
        lines_in(&fixture(), &a)
    };
    assert_eq!(
        with("selector"),
        [
            "exposure:sel.crm_sync",
            "sel.staging.stg_orders",
            "sel.customers_snapshot.customers_snapshot",
            "source:sel.crm.accounts",
        ]
    );
    assert_eq!(
        with("name"),
        [
            "crm_sync",
            "stg_orders",
            "customers_snapshot",
            "crm.accounts"
        ]
    );
    assert_eq!(
        with("path"),
        [
            "models/marts/_exposures.yml",
            "models/staging/stg_orders.sql",
            "snapshots/customers_snapshot.sql",
            "models/staging/_sources.yml",
        ]
    );
}

#[test]
fn output_json_has_dbts_keys_in_dbts_order() {
    let out = lines_in(
        &fixture(),
        &[
            "-s",
            "stg_payments",
            "country_codes",
            "source:crm",
            "exposure:crm_sync",
            "--indirect-selection",
            "empty",
            "--output",
            "json",
        ],
    );
    insta::assert_snapshot!(out.join("\n"), @r#"
    {"name": "crm_sync", "resource_type": "exposure", "package_name": "sel", "original_file_path": "models/marts/_exposures.yml", "unique_id": "exposure.sel.crm_sync", "tags": [], "config": {"enabled": true, "tags": [], "meta": {}}, "depends_on": {"macros": [], "nodes": ["source.sel.crm.accounts", "model.sel.customer_segments"]}}
    {"name": "stg_payments", "resource_type": "model", "package_name": "sel", "original_file_path": "models/staging/stg_payments.sql", "unique_id": "model.sel.stg_payments", "alias": "stg_payments", "config": {"enabled": true, "alias": null, "schema": null, "database": null, "tags": ["staging"], "meta": {}, "group": null, "static_analysis": null, "materialized": "view", "incremental_strategy": null, "batch_size": null, "lookback": 1, "begin": null, "persist_docs": {}, "post-hook": [], "pre-hook": [], "quoting": {}, "column_types": {}, "full_refresh": null, "unique_key": null, "on_schema_change": "ignore", "on_configuration_change": "apply", "grants": {}, "packages": [], "docs": {"show": true, "node_color": null}, "contract": {"enforced": false, "alias_types": true}, "event_time": null, "concurrent_batches": null, "access": "protected", "freshness": null}, "tags": ["staging"], "depends_on": {"macros": ["macro.sel.cents_to_dollars"], "nodes": ["source.sel.shop.payments"]}}
    {"name": "country_codes", "resource_type": "seed", "package_name": "sel", "original_file_path": "seeds/country_codes.csv", "unique_id": "seed.sel.country_codes", "alias": "country_codes", "config": {"enabled": true, "alias": null, "schema": null, "database": null, "tags": ["seed_data"], "meta": {}, "group": null, "static_analysis": null, "materialized": "seed", "incremental_strategy": null, "batch_size": null, "lookback": 1, "begin": null, "persist_docs": {}, "post-hook": [], "pre-hook": [], "quoting": {}, "column_types": {}, "full_refresh": null, "unique_key": null, "on_schema_change": "ignore", "on_configuration_change": "apply", "grants": {}, "packages": [], "docs": {"show": true, "node_color": null}, "contract": {"enforced": false, "alias_types": true}, "event_time": null, "concurrent_batches": null, "delimiter": ",", "quote_columns": null}, "tags": ["seed_data"], "depends_on": {"macros": []}}
    {"name": "accounts", "resource_type": "source", "package_name": "sel", "original_file_path": "models/staging/_sources.yml", "unique_id": "source.sel.crm.accounts", "source_name": "crm", "tags": ["crm"], "config": {"enabled": true, "event_time": null, "freshness": {"warn_after": {"count": null, "period": null}, "error_after": {"count": null, "period": null}, "filter": null}, "loaded_at_field": null, "loaded_at_query": null, "meta": {}, "tags": ["crm"], "static_analysis": null}}
    "#);
}

#[test]
fn output_keys_pick_fields() {
    let out = lines_in(
        &fixture(),
        &[
            "-s",
            "customer_segments",
            "--indirect-selection",
            "empty",
            "--output",
            "json",
            "--output-keys",
            "name,fqn access",
        ],
    );
    let v: Value = serde_json::from_str(&out[0]).expect("one JSON object");
    assert_eq!(
        v,
        json!({"name": "customer_segments", "fqn": ["sel", "marts", "marketing", "customer_segments"], "access": "public"})
    );
}

#[test]
fn resource_type_filters_after_selection() {
    assert_eq!(
        names(&["-s", "+fct_orders", "--resource-type", "source"]),
        ["shop.orders", "shop.payments"]
    );
    assert_eq!(
        names(&[
            "-s",
            "stg_orders",
            "--resource-type",
            "model",
            "--resource-type",
            "test"
        ]),
        with_tests(&["stg_orders"], &STG_ORDERS_TESTS)
    );
    // Analyses only with `all` (or asked for by name).
    assert_eq!(
        names(&["-s", "agg_daily_revenue+", "--resource-type", "analysis"]),
        ["revenue_by_month"]
    );
    assert!(!names(&["-s", "agg_daily_revenue+"]).contains(&"revenue_by_month".to_string()));
    assert!(
        names(&["-s", "agg_daily_revenue+", "--resource-type", "all"])
            .contains(&"revenue_by_month".to_string())
    );
    assert_eq!(
        names(&[
            "--resource-type",
            "default",
            "--exclude-resource-type",
            "test",
            "model",
            "source",
            "seed",
        ]),
        ["crm_sync", "revenue_dashboard", "customers_snapshot"]
    );
}

#[test]
fn nothing_selected_warns() {
    let run = kiln_ls(&fixture(), &["-s", "no_such_model", "--output", "name"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!(run.stderr, @r"
    warning[selection]: The selection criterion 'no_such_model' does not match any enabled nodes
    warning[no-nodes-selected]: No nodes selected!
    ");
}

// ---------------------------------------------------------------------------------------------
// fqn (bare names) and graph operators

#[test]
fn a_bare_name_selects_the_node_and_its_tests() {
    assert_eq!(
        names(&["-s", "stg_orders"]),
        with_tests(&["stg_orders"], &STG_ORDERS_TESTS)
    );
    assert_eq!(direct(&["-s", "fqn:stg_orders"]), ["stg_orders"]);
}

#[test]
fn dotted_fqn_paths_with_and_without_the_package() {
    // A top-level folder name selects everything under it, generic tests written in its
    // properties files included (their fqn is the file's folder).
    assert_eq!(
        direct(&["-s", "aggregate"]),
        [
            "agg_customer_orders",
            "agg_daily_revenue",
            "positive_agg_daily_revenue_revenue"
        ]
    );
    // dbt matches fqn prefixes: a nested folder needs its parents...
    assert_eq!(
        direct(&["-s", "marts.finance"]),
        ["finance_kpis", "finance_revenue"]
    );
    assert_eq!(
        direct(&["-s", "sel.marts.finance.reporting"]),
        ["finance_kpis"]
    );
    // ...so `finance` alone is the singular test folder tests/finance, not marts/finance.
    assert_eq!(direct(&["-s", "finance"]), ["assert_kpis_match"]);
    assert_eq!(
        direct(&["-s", "sel.staging", "--resource-type", "model"]),
        [
            "stg_accounts",
            "stg_customers",
            "stg_orders",
            "stg_payments"
        ]
    );
    assert_eq!(direct(&["-s", "marts.core.fct_orders"]), ["fct_orders"]);
    assert_eq!(direct(&["-s", "sel.lookup"]), ["currencies"]);
}

#[test]
fn fqn_wildcards() {
    assert_eq!(
        direct(&["-s", "staging.stg_*"]),
        ["stg_customers", "stg_orders", "stg_payments"]
    );
    // `*` crosses dots: this also reaches the singular test in tests/finance.
    assert_eq!(
        direct(&["-s", "*.finance.*"]),
        ["finance_kpis", "finance_revenue", "assert_kpis_match"]
    );
    assert_eq!(direct(&["-s", "staging.stg_?rders"]), ["stg_orders"]);
    assert_eq!(direct(&["-s", "aggregate.agg_[d]*"]), ["agg_daily_revenue"]);
    assert_eq!(
        direct(&["-s", "*.stg_*"]),
        [
            "stg_accounts",
            "stg_customers",
            "stg_orders",
            "stg_payments"
        ]
    );
    // dbt anchors a wildcard at the first fqn segment after the package, so a bare `stg_*`
    // does not reach models inside folders.
    assert_eq!(direct(&["-s", "stg_*"]), Vec::<String>::new());
    assert_eq!(direct(&["-s", "marts.*.dim_*"]), ["dim_customers"]);
    assert_eq!(
        direct(&["-s", "fqn:*", "--resource-type", "snapshot"]),
        ["customers_snapshot"]
    );
}

#[test]
fn plus_before_selects_ancestors() {
    assert_eq!(
        direct(&["-s", "+finance_kpis"]),
        [
            "agg_daily_revenue",
            "finance_kpis",
            "finance_revenue",
            "int_order_payments",
            "stg_orders",
            "stg_payments",
            "shop.orders",
            "shop.payments",
        ]
    );
}

#[test]
fn n_plus_before_limits_the_depth() {
    assert_eq!(
        direct(&["-s", "1+finance_kpis"]),
        ["finance_kpis", "finance_revenue"]
    );
    assert_eq!(
        direct(&["-s", "2+dim_customers"]),
        [
            "agg_customer_orders",
            "dim_customers",
            "int_order_payments",
            "stg_customers",
            "country_codes",
            "shop.customers",
        ]
    );
    assert_eq!(direct(&["-s", "0+dim_customers"]), ["dim_customers"]);
}

#[test]
fn plus_after_selects_descendants_including_tests_and_exposures() {
    assert_eq!(
        direct(&["-s", "agg_daily_revenue+"]),
        [
            "revenue_dashboard",
            "agg_daily_revenue",
            "finance_kpis",
            "finance_revenue",
            "assert_kpis_match",
            "positive_agg_daily_revenue_revenue",
        ]
    );
}

#[test]
fn plus_n_after_limits_the_depth() {
    assert_eq!(
        direct(&["-s", "stg_orders+1"]),
        with_tests(&["int_order_payments", "stg_orders"], &STG_ORDERS_TESTS)
    );
    assert_eq!(
        direct(&["-s", "agg_daily_revenue+1", "--resource-type", "model"]),
        ["agg_daily_revenue", "finance_revenue"]
    );
}

#[test]
fn plus_on_both_sides() {
    assert_eq!(
        direct(&["-s", "+dim_customers+1"]),
        [
            "revenue_dashboard",
            "agg_customer_orders",
            "customer_segments",
            "dim_customers",
            "int_order_payments",
            "stg_customers",
            "stg_orders",
            "stg_payments",
            "country_codes",
            "shop.customers",
            "shop.orders",
            "shop.payments",
            "unique_dim_customers_customer_id",
        ]
    );
}

#[test]
fn at_selects_descendants_and_all_their_ancestors() {
    // agg_daily_revenue's descendants include revenue_dashboard, whose other parent
    // dim_customers brings its own ancestors along.
    assert_eq!(
        direct(&["-s", "@agg_daily_revenue"]),
        [
            "revenue_dashboard",
            "agg_customer_orders",
            "agg_daily_revenue",
            "dim_customers",
            "finance_kpis",
            "finance_revenue",
            "int_order_payments",
            "stg_customers",
            "stg_orders",
            "stg_payments",
            "country_codes",
            "shop.customers",
            "shop.orders",
            "shop.payments",
            "assert_kpis_match",
            "positive_agg_daily_revenue_revenue",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Set operations and --exclude

#[test]
fn spaces_and_repeated_flags_are_unions() {
    let expected = [
        "agg_customer_orders",
        "agg_daily_revenue",
        "stg_accounts",
        "stg_customers",
        "stg_orders",
        "stg_payments",
    ];
    assert_eq!(direct(&["-s", "tag:staging tag:aggregate"]), expected);
    assert_eq!(direct(&["-s", "tag:staging", "tag:aggregate"]), expected);
    assert_eq!(
        direct(&["-s", "tag:staging", "--select", "tag:aggregate"]),
        expected
    );
}

#[test]
fn commas_are_intersections() {
    assert_eq!(
        direct(&["-s", "tag:finance,config.materialized:table"]),
        ["finance_kpis", "finance_revenue"]
    );
    assert_eq!(
        direct(&["-s", "+finance_kpis,tag:staging"]),
        ["stg_orders", "stg_payments"]
    );
    assert_eq!(
        direct(&["-s", "marts,+customer_segments"]),
        ["customer_segments", "dim_customers"]
    );
    // Tests of the models in a folder: an idiom from dbt's docs.
    assert_eq!(
        names(&["-s", "path:models/marts/core,resource_type:test"]),
        [
            "not_null_fct_orders_order_id",
            "unique_dim_customers_customer_id"
        ]
    );
}

#[test]
fn exclude_is_subtracted_last() {
    assert_eq!(
        direct(&[
            "-s",
            "tag:staging tag:aggregate",
            "--exclude",
            "stg_orders",
            "aggregate.*"
        ]),
        ["stg_accounts", "stg_customers", "stg_payments"]
    );
    // Excluding a model excludes its tests too (the exclusion is eager), even under +.
    assert_eq!(
        names(&[
            "-s",
            "stg_orders+1",
            "--exclude",
            "int_order_payments",
            "stg_payments"
        ]),
        with_tests(
            &["stg_orders"],
            &[
                "accepted_values_stg_orders_status__placed__shipped",
                "not_null_stg_orders_order_id",
                "relationships_stg_orders_customer_id__customer_id__ref_stg_customers_",
                "unique_stg_orders_order_id",
            ]
        )
    );
    // --exclude alone starts from everything.
    assert_eq!(
        names(&["--exclude", "tag:staging", "--resource-type", "model"]),
        [
            "agg_customer_orders",
            "agg_daily_revenue",
            "customer_segments",
            "dim_customers",
            "fct_orders",
            "finance_kpis",
            "finance_revenue",
            "int_order_payments",
        ]
    );
    assert_eq!(
        names(&["-s", "stg_orders", "--exclude", "test_type:generic"]),
        ["stg_orders", "assert_orders_have_payments"]
    );
}

// ---------------------------------------------------------------------------------------------
// Methods

#[test]
fn tag_method_with_wildcards() {
    assert_eq!(direct(&["-s", "tag:crm"]), ["stg_accounts", "crm.accounts"]);
    assert_eq!(
        direct(&["-s", "tag:fin*"]),
        [
            "revenue_dashboard",
            "finance_kpis",
            "finance_revenue",
            "assert_kpis_match"
        ]
    );
    assert_eq!(
        direct(&["-s", "tag:seed_data"]),
        ["country_codes", "currencies"]
    );
}

#[test]
fn path_method_folders_files_and_globs() {
    assert_eq!(
        direct(&["-s", "path:models/marts/core"]),
        ["dim_customers", "fct_orders"]
    );
    // A value with a slash is a path without saying so.
    assert_eq!(direct(&["-s", "models/staging/crm"]), ["stg_accounts"]);
    assert_eq!(direct(&["-s", "./models/staging/crm/"]), ["stg_accounts"]);
    assert_eq!(
        direct(&["-s", "path:models/staging/stg_orders.sql"]),
        ["stg_orders"]
    );
    assert_eq!(direct(&["-s", "path:models/*/*/fct_*.sql"]), ["fct_orders"]);
    assert_eq!(
        direct(&["-s", "path:models/**/finance_*.sql"]),
        ["finance_kpis", "finance_revenue"]
    );
    assert_eq!(direct(&["-s", "path:snapshots"]), ["customers_snapshot"]);
    assert_eq!(direct(&["-s", "path:tests/finance"]), ["assert_kpis_match"]);
    assert_eq!(direct(&["-s", "path:seeds/lookup"]), ["currencies"]);
    // A properties file selects what it describes and declares, and the tests written in it.
    assert_eq!(
        direct(&["-s", "path:models/marts/_marts.yml"]),
        [
            "customer_segments",
            "dim_customers",
            "fct_orders",
            "not_null_fct_orders_order_id",
            "unique_dim_customers_customer_id",
        ]
    );
    assert_eq!(
        direct(&["-s", "path:models/staging/_sources.yml"]),
        [
            "crm.accounts",
            "shop.customers",
            "shop.orders",
            "shop.payments",
            "source_unique_shop_orders_id",
        ]
    );
}

#[test]
fn file_method_with_or_without_extension() {
    assert_eq!(direct(&["-s", "file:stg_orders.sql"]), ["stg_orders"]);
    assert_eq!(direct(&["-s", "file:stg_orders"]), ["stg_orders"]);
    // A value ending in .sql or .csv is a file without saying so.
    assert_eq!(direct(&["-s", "stg_orders.sql"]), ["stg_orders"]);
    assert_eq!(direct(&["-s", "country_codes.csv"]), ["country_codes"]);
    assert_eq!(
        direct(&["-s", "file:agg_*.sql"]),
        ["agg_customer_orders", "agg_daily_revenue"]
    );
    assert_eq!(
        direct(&["-s", "file:_exposures.yml"]),
        ["crm_sync", "revenue_dashboard"]
    );
}

#[test]
fn config_method_with_keys_and_subkeys() {
    assert_eq!(
        direct(&["-s", "config.materialized:ephemeral"]),
        ["int_order_payments"]
    );
    assert_eq!(
        direct(&["-s", "config.materialized:table"]),
        [
            "agg_customer_orders",
            "agg_daily_revenue",
            "customer_segments",
            "dim_customers",
            "fct_orders",
            "finance_kpis",
            "finance_revenue",
        ]
    );
    assert_eq!(
        direct(&["-s", "config.meta.owner:carol"]),
        ["customer_segments"]
    );
    assert_eq!(
        direct(&["-s", "config.meta.owner:alice"]),
        ["finance_kpis", "finance_revenue"]
    );
    assert_eq!(
        direct(&["-s", "config.contract.enforced:true"]),
        ["fct_orders"]
    );
    assert_eq!(
        direct(&["-s", "config.persist_docs.relation:True"]),
        ["dim_customers"]
    );
    // List values match any item (a source's `tags:` are part of its config); severity ignores
    // case.
    assert_eq!(
        direct(&["-s", "config.tags:crm"]),
        ["stg_accounts", "crm.accounts"]
    );
    assert_eq!(
        direct(&["-s", "config.severity:error", "--resource-type", "test"]),
        names(&["-s", "resource_type:test"])
    );
    assert_eq!(
        direct(&["-s", "config.group:marketing"]),
        ["customer_segments"]
    );
}

#[test]
fn resource_type_method() {
    assert_eq!(
        direct(&["-s", "resource_type:seed"]),
        ["country_codes", "currencies"]
    );
    assert_eq!(
        direct(&["-s", "resource_type:exposure"]),
        ["crm_sync", "revenue_dashboard"]
    );
    assert_eq!(
        direct(&["-s", "resource_type:snapshot"]),
        ["customers_snapshot"]
    );
    assert_eq!(
        direct(&["-s", "resource_type:source"]),
        [
            "crm.accounts",
            "shop.customers",
            "shop.orders",
            "shop.payments"
        ]
    );
    assert_eq!(
        direct(&["-s", "resource_type:analysis", "--resource-type", "all"]),
        ["revenue_by_month"]
    );
    assert_eq!(
        direct(&["-s", "resource_type:metric"]),
        Vec::<String>::new()
    );
}

#[test]
fn source_method() {
    assert_eq!(
        direct(&["-s", "source:shop"]),
        ["shop.customers", "shop.orders", "shop.payments"]
    );
    assert_eq!(direct(&["-s", "source:shop.orders"]), ["shop.orders"]);
    assert_eq!(direct(&["-s", "source:sel.crm.accounts"]), ["crm.accounts"]);
    assert_eq!(direct(&["-s", "source:*.crm.*"]), ["crm.accounts"]);
    assert_eq!(direct(&["-s", "source:shop.p*"]), ["shop.payments"]);
    assert_eq!(
        direct(&["-s", "source:crm+"]),
        ["crm_sync", "stg_accounts", "crm.accounts"]
    );
}

#[test]
fn exposure_method() {
    assert_eq!(direct(&["-s", "exposure:crm_sync"]), ["crm_sync"]);
    assert_eq!(
        direct(&["-s", "exposure:sel.revenue_*"]),
        ["revenue_dashboard"]
    );
    assert_eq!(
        direct(&[
            "-s",
            "+exposure:crm_sync",
            "--resource-type",
            "model",
            "source"
        ]),
        [
            "agg_customer_orders",
            "customer_segments",
            "dim_customers",
            "int_order_payments",
            "stg_customers",
            "stg_orders",
            "stg_payments",
            "crm.accounts",
            "shop.customers",
            "shop.orders",
            "shop.payments",
        ]
    );
}

#[test]
fn test_type_method() {
    let singular = ["assert_kpis_match", "assert_orders_have_payments"];
    let generic = [
        "accepted_values_stg_orders_status__placed__shipped",
        "not_null_fct_orders_order_id",
        "not_null_stg_customers_customer_id",
        "not_null_stg_orders_order_id",
        "positive_agg_daily_revenue_revenue",
        "relationships_stg_orders_customer_id__customer_id__ref_stg_customers_",
        "source_unique_shop_orders_id",
        "unique_country_codes_code",
        "unique_dim_customers_customer_id",
        "unique_stg_customers_customer_id",
        "unique_stg_orders_order_id",
    ];
    assert_eq!(names(&["-s", "test_type:singular"]), singular);
    assert_eq!(names(&["-s", "test_type:generic"]), generic);
    // Legacy names: `schema` is generic; `data` is every data test (dbt 1.8+).
    assert_eq!(names(&["-s", "test_type:schema"]), generic);
    assert_eq!(
        names(&["-s", "test_type:data"]),
        names(&["-s", "resource_type:test"])
    );
    assert_eq!(names(&["-s", "test_type:unit"]), Vec::<String>::new());
    assert_eq!(
        names(&["-s", "stg_orders,test_type:singular"]),
        ["assert_orders_have_payments"]
    );
}

#[test]
fn test_name_method() {
    assert_eq!(
        names(&["-s", "test_name:unique"]),
        [
            "source_unique_shop_orders_id",
            "unique_country_codes_code",
            "unique_dim_customers_customer_id",
            "unique_stg_customers_customer_id",
            "unique_stg_orders_order_id",
        ]
    );
    assert_eq!(
        names(&["-s", "test_name:accepted_values"]),
        ["accepted_values_stg_orders_status__placed__shipped"]
    );
    assert_eq!(
        names(&["-s", "test_name:positive"]),
        ["positive_agg_daily_revenue_revenue"]
    );
    assert_eq!(
        names(&["-s", "test_name:*values"]),
        ["accepted_values_stg_orders_status__placed__shipped"]
    );
}

#[test]
fn package_method() {
    assert_eq!(
        direct(&["-s", "package:sel", "--resource-type", "seed"]),
        ["country_codes", "currencies"]
    );
    assert_eq!(
        direct(&["-s", "package:this", "--resource-type", "exposure"]),
        ["crm_sync", "revenue_dashboard"]
    );
    assert_eq!(
        direct(&["-s", "package:s?l", "--resource-type", "snapshot"]),
        ["customers_snapshot"]
    );
    assert_eq!(direct(&["-s", "package:dbt_utils"]), Vec::<String>::new());
    // The package name alone is an fqn prefix.
    assert_eq!(
        direct(&["-s", "sel", "--resource-type", "seed"]),
        ["country_codes", "currencies"]
    );
}

#[test]
fn group_access_and_version_methods() {
    assert_eq!(direct(&["-s", "group:marketing"]), ["customer_segments"]);
    assert_eq!(direct(&["-s", "access:public"]), ["customer_segments"]);
    assert_eq!(direct(&["-s", "access:private"]), Vec::<String>::new());
    let protected = direct(&["-s", "access:protected"]);
    assert_eq!(protected.len(), 11);
    assert!(!protected.contains(&"customer_segments".to_string()));
    // No versioned models here: every model is `none`, none is `latest`.
    assert_eq!(direct(&["-s", "version:none"]).len(), 12);
    assert_eq!(direct(&["-s", "version:latest"]), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Indirect selection of tests

#[test]
fn eager_takes_tests_with_any_parent_selected() {
    assert_eq!(
        names(&["-s", "stg_orders"]),
        with_tests(&["stg_orders"], &STG_ORDERS_TESTS)
    );
    assert_eq!(
        names(&["-s", "stg_orders", "--indirect-selection", "eager"]),
        names(&["-s", "stg_orders"])
    );
}

#[test]
fn cautious_takes_tests_with_all_parents_selected() {
    let alone = [
        "accepted_values_stg_orders_status__placed__shipped",
        "not_null_stg_orders_order_id",
        "unique_stg_orders_order_id",
    ];
    assert_eq!(
        names(&["-s", "stg_orders", "--indirect-selection", "cautious"]),
        with_tests(&["stg_orders"], &alone)
    );
    // The relationships test joins once both of its parents are selected, even by two atoms.
    assert_eq!(
        names(&[
            "-s",
            "stg_orders",
            "stg_customers",
            "--indirect-selection",
            "cautious"
        ]),
        with_tests(
            &["stg_customers", "stg_orders"],
            &[
                "accepted_values_stg_orders_status__placed__shipped",
                "not_null_stg_customers_customer_id",
                "not_null_stg_orders_order_id",
                "relationships_stg_orders_customer_id__customer_id__ref_stg_customers_",
                "unique_stg_customers_customer_id",
                "unique_stg_orders_order_id",
            ]
        )
    );
    assert_eq!(
        names(&["-s", "finance_kpis", "--indirect-selection", "cautious"]),
        ["finance_kpis"]
    );
}

#[test]
fn buildable_takes_tests_whose_other_parents_are_upstream() {
    // assert_kpis_match reads finance_kpis and its parent finance_revenue.
    assert_eq!(
        names(&["-s", "finance_kpis", "--indirect-selection", "buildable"]),
        ["finance_kpis", "assert_kpis_match"]
    );
    // stg_customers is not upstream of stg_orders: the relationships test stays out.
    assert_eq!(
        names(&["-s", "stg_orders", "--indirect-selection", "buildable"]),
        names(&["-s", "stg_orders", "--indirect-selection", "cautious"])
    );
}

#[test]
fn empty_takes_no_tests() {
    assert_eq!(
        names(&["-s", "stg_orders", "--indirect-selection", "empty"]),
        ["stg_orders"]
    );
    // Tests selected for what they are still count.
    assert_eq!(
        names(&[
            "-s",
            "stg_orders",
            "test_type:singular",
            "--indirect-selection",
            "empty"
        ]),
        [
            "stg_orders",
            "assert_kpis_match",
            "assert_orders_have_payments"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// YAML selectors

#[test]
fn yaml_cli_style_definition() {
    assert_eq!(
        names(&["--selector", "nightly"]),
        [
            "crm_sync",
            "revenue_dashboard",
            "agg_customer_orders",
            "agg_daily_revenue",
            "customer_segments",
            "dim_customers",
            "finance_kpis",
            "finance_revenue",
            "assert_kpis_match",
            "positive_agg_daily_revenue_revenue",
            "unique_dim_customers_customer_id",
        ]
    );
    assert_eq!(
        names(&["--selector", "nightly"]),
        names(&["-s", "tag:nightly+"])
    );
}

#[test]
fn yaml_intersection() {
    assert_eq!(
        names(&["--selector", "finance_tables"]),
        ["finance_kpis", "finance_revenue", "assert_kpis_match"]
    );
    assert_eq!(
        names(&["--selector", "core_intersect_tests"]),
        [
            "not_null_fct_orders_order_id",
            "unique_dim_customers_customer_id"
        ]
    );
}

#[test]
fn yaml_union_with_exclude() {
    assert_eq!(
        names(&["--selector", "staging_but_crm"]),
        with_tests(
            &[
                "stg_customers",
                "stg_orders",
                "stg_payments",
                "shop.customers",
                "shop.orders",
                "shop.payments",
            ],
            &[
                "accepted_values_stg_orders_status__placed__shipped",
                "assert_orders_have_payments",
                "not_null_stg_customers_customer_id",
                "not_null_stg_orders_order_id",
                "relationships_stg_orders_customer_id__customer_id__ref_stg_customers_",
                "source_unique_shop_orders_id",
                "unique_stg_customers_customer_id",
                "unique_stg_orders_order_id",
            ]
        )
    );
}

#[test]
fn yaml_full_definition_with_depth() {
    assert_eq!(
        names(&["--selector", "kpis_upstream"]),
        names(&["-s", "2+finance_kpis"])
    );
    assert_eq!(
        names(&[
            "--selector",
            "kpis_upstream",
            "--indirect-selection",
            "empty"
        ]),
        ["agg_daily_revenue", "finance_kpis", "finance_revenue"]
    );
}

#[test]
fn yaml_childrens_parents_with_its_own_indirect_selection() {
    // The definition says `indirect_selection: empty`, whatever the flag says.
    assert_eq!(
        names(&["--selector", "revenue_family"]),
        direct(&["-s", "@agg_daily_revenue"])
    );
}

#[test]
fn yaml_selector_references() {
    // `selector: finance_tables` and `method: selector` with an exclude.
    assert_eq!(
        names(&["--selector", "revenue_and_finance"]),
        [
            "agg_customer_orders",
            "agg_daily_revenue",
            "customer_segments",
            "dim_customers",
            "finance_kpis",
            "finance_revenue",
            "assert_kpis_match",
            "positive_agg_daily_revenue_revenue",
            "unique_dim_customers_customer_id",
        ]
    );
    // dbt 1.12's `selector:` method on the command line, with graph operators too.
    assert_eq!(
        names(&["-s", "selector:finance_tables"]),
        names(&["--selector", "finance_tables"])
    );
    assert_eq!(
        direct(&[
            "-s",
            "+selector:finance_tables",
            "--resource-type",
            "source"
        ]),
        ["shop.orders", "shop.payments"]
    );
}

#[test]
fn yaml_selectors_in_any_order() {
    let dir = fixture_with_selectors(Some(
        "selectors:\n  - name: first\n    definition:\n      selector: second\n  - name: second\n    definition: 'tag:crm'\n",
    ));
    assert_eq!(
        lines_in(dir.path(), &["--selector", "first", "--output", "name"]),
        ["stg_accounts", "crm.accounts"]
    );
}

const WITH_DEFAULT: &str = "\
selectors:
  - name: marts_only
    description: What a plain `kiln ls` lists here.
    default: true
    definition:
      union:
        - marts
        - exclude:
            - customer_segments
  - name: crm
    definition: tag:crm
";

#[test]
fn yaml_default_selector() {
    let dir = fixture_with_selectors(Some(WITH_DEFAULT));
    let ls = |args: &[&str]| {
        let mut all = vec!["--output", "name", "--indirect-selection", "empty"];
        all.extend_from_slice(args);
        lines_in(dir.path(), &all)
    };
    // No selection flags: the default selector.
    assert_eq!(
        ls(&[]),
        [
            "dim_customers",
            "fct_orders",
            "finance_kpis",
            "finance_revenue",
            "not_null_fct_orders_order_id",
            "unique_dim_customers_customer_id",
        ]
    );
    // Any of --select, --exclude or --selector replaces it.
    assert_eq!(ls(&["-s", "tag:crm"]), ["stg_accounts", "crm.accounts"]);
    assert_eq!(ls(&["--selector", "crm"]), ["stg_accounts", "crm.accounts"]);
    assert_eq!(
        ls(&["--exclude", "marts", "--resource-type", "seed"]),
        ["country_codes", "currencies"]
    );
}

// ---------------------------------------------------------------------------------------------
// state:

/// A copy of the fixture whose `kiln parse` manifest.json was kept as the previous state; the
/// test then edits the copy and compares.
struct StateProject {
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl StateProject {
    fn new() -> StateProject {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(&fixture(), dir.path());
        let out = assert_cmd::cargo::cargo_bin_cmd!("kiln")
            .arg("parse")
            .arg("--project-dir")
            .arg(dir.path())
            .arg("--profiles-dir")
            .arg(dir.path())
            .output()
            .expect("run kiln parse");
        assert!(
            out.status.success(),
            "kiln parse failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let state = tempfile::tempdir().expect("temp dir");
        std::fs::copy(
            dir.path().join("target/manifest.json"),
            state.path().join("manifest.json"),
        )
        .expect("keep the manifest");
        StateProject { dir, state }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Replaces `from` with `to` in a project file.
    fn edit(&self, file: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path(file)).expect("read project file");
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(self.path(file), text.replacen(from, to, 1)).expect("write project file");
    }

    fn previous_manifest(&self) -> Value {
        let text = std::fs::read_to_string(self.state.path().join("manifest.json"))
            .expect("read manifest");
        serde_json::from_str(&text).expect("manifest.json is JSON")
    }

    fn set_previous_manifest(&self, m: &Value) {
        std::fs::write(self.state.path().join("manifest.json"), m.to_string())
            .expect("write manifest");
    }

    /// `kiln ls --output name --state <previous> --indirect-selection empty <args>`.
    fn ls(&self, args: &[&str]) -> Vec<String> {
        let state = self.state.path().to_string_lossy().into_owned();
        let mut all = vec![
            "--output",
            "name",
            "--indirect-selection",
            "empty",
            "--state",
            state.as_str(),
        ];
        all.extend_from_slice(args);
        lines_in(self.dir.path(), &all)
    }
}

const NOTHING: [&str; 0] = [];

#[test]
fn state_unchanged_project_is_unmodified() {
    let p = StateProject::new();
    assert_eq!(p.ls(&["-s", "state:modified"]), NOTHING);
    assert_eq!(p.ls(&["-s", "state:new"]), NOTHING);
    let everything = p.ls(&["-s", "fqn:* source:* exposure:*"]);
    assert_eq!(everything.len(), 34);
    assert_eq!(p.ls(&["-s", "state:unmodified"]), everything);
    assert_eq!(p.ls(&["-s", "state:old"]), everything);
    for sub in [
        "body",
        "configs",
        "relation",
        "persisted_descriptions",
        "macros",
        "contract",
    ] {
        assert_eq!(
            p.ls(&["-s", &format!("state:modified.{sub}")]),
            NOTHING,
            "{sub}"
        );
    }
}

#[test]
fn state_manifest_written_differently_is_still_unmodified() {
    // Another writer (dbt itself) may leave out keys that hold null, empty or default values,
    // or spell a single tag as a string.
    let p = StateProject::new();
    let mut m = p.previous_manifest();
    for section in ["nodes", "sources", "exposures"] {
        for node in m[section].as_object_mut().expect("section").values_mut() {
            let config = node["config"].as_object_mut().expect("config");
            config.retain(|k, v| {
                let default = matches!(
                    (k.as_str(), &*v),
                    ("on_schema_change", Value::String(s)) if s == "ignore"
                ) || matches!((k.as_str(), &*v), ("lookback", Value::Number(n)) if n.as_u64() == Some(1));
                let empty = v.is_null()
                    || v.as_array().is_some_and(Vec::is_empty)
                    || v.as_object().is_some_and(serde_json::Map::is_empty);
                !(default || empty)
            });
        }
    }
    m["nodes"]["model.sel.stg_payments"]["config"]["tags"] = json!("staging");
    p.set_previous_manifest(&m);
    assert_eq!(p.ls(&["-s", "state:modified"]), NOTHING);
}

#[test]
fn state_new_and_old() {
    let p = StateProject::new();
    std::fs::write(
        p.path("models/marts/core/new_orders.sql"),
        "select 1 as id\n",
    )
    .expect("write model");
    assert_eq!(p.ls(&["-s", "state:new"]), ["new_orders"]);
    assert!(
        !p.ls(&["-s", "state:old"])
            .contains(&"new_orders".to_string())
    );
    // A new node is modified, by every comparison that applies to it.
    assert_eq!(p.ls(&["-s", "state:modified"]), ["new_orders"]);
    assert_eq!(p.ls(&["-s", "state:modified.body"]), ["new_orders"]);
    assert_eq!(p.ls(&["-s", "state:modified.macros"]), NOTHING);
}

#[test]
fn state_modified_body() {
    let p = StateProject::new();
    p.edit(
        "models/staging/stg_orders.sql",
        "status,",
        "status, 1 as one,",
    );
    assert_eq!(p.ls(&["-s", "state:modified.body"]), ["stg_orders"]);
    assert_eq!(p.ls(&["-s", "state:modified"]), ["stg_orders"]);
    assert_eq!(p.ls(&["-s", "state:modified.configs"]), NOTHING);
    // The usual CI run: what changed, what is downstream, and (eager) their tests.
    let state = p.state.path().to_string_lossy().into_owned();
    let built = lines_in(
        p.dir.path(),
        &[
            "-s",
            "state:modified+",
            "--state",
            &state,
            "--output",
            "name",
            "--resource-type",
            "model",
            "test",
        ],
    );
    assert_eq!(
        built,
        with_tests(
            &[
                "agg_customer_orders",
                "agg_daily_revenue",
                "customer_segments",
                "dim_customers",
                "fct_orders",
                "finance_kpis",
                "finance_revenue",
                "int_order_payments",
                "stg_orders",
            ],
            &[
                "accepted_values_stg_orders_status__placed__shipped",
                "assert_kpis_match",
                "assert_orders_have_payments",
                "not_null_fct_orders_order_id",
                "not_null_stg_orders_order_id",
                "positive_agg_daily_revenue_revenue",
                "relationships_stg_orders_customer_id__customer_id__ref_stg_customers_",
                "unique_dim_customers_customer_id",
                "unique_stg_orders_order_id",
            ]
        )
    );
}

#[test]
fn state_modified_configs() {
    let p = StateProject::new();
    p.edit(
        "dbt_project.yml",
        "    aggregate:\n      +materialized: table",
        "    aggregate:\n      +materialized: view",
    );
    p.edit(
        "models/staging/_staging.yml",
        "data_tests: [unique, not_null]",
        "data_tests: [{unique: {config: {severity: warn}}}, not_null]",
    );
    assert_eq!(
        p.ls(&["-s", "state:modified.configs"]),
        [
            "agg_customer_orders",
            "agg_daily_revenue",
            "unique_stg_customers_customer_id"
        ]
    );
    // A generic test's configs are part of its raw_code (`{{ config(severity="warn") }}`), so
    // its body changed too, as dbt-core 1.11 says for the same edit.
    assert_eq!(
        p.ls(&["-s", "state:modified.body"]),
        ["unique_stg_customers_customer_id"]
    );
    assert_eq!(
        p.ls(&["-s", "state:modified"]),
        p.ls(&["-s", "state:modified.configs"])
    );
}

#[test]
fn state_modified_relation() {
    let p = StateProject::new();
    p.edit(
        "dbt_project.yml",
        "      finance:\n",
        "      finance:\n        +schema: fin\n",
    );
    p.edit(
        "models/staging/_sources.yml",
        "schema: raw_shop",
        "schema: shop_raw",
    );
    assert_eq!(
        p.ls(&["-s", "state:modified.relation"]),
        [
            "finance_kpis",
            "finance_revenue",
            "shop.customers",
            "shop.orders",
            "shop.payments"
        ]
    );
    assert_eq!(
        p.ls(&["-s", "state:modified", "--resource-type", "source"]),
        ["shop.customers", "shop.orders", "shop.payments"]
    );
}

#[test]
fn state_modified_relation_ignores_the_target() {
    // The previous run wrote to another schema (say, prod); the configured relation is the same.
    let p = StateProject::new();
    let mut m = p.previous_manifest();
    for node in m["nodes"].as_object_mut().expect("nodes").values_mut() {
        node["schema"] = json!("analytics_prod");
    }
    p.set_previous_manifest(&m);
    assert_eq!(p.ls(&["-s", "state:modified.relation"]), NOTHING);
}

#[test]
fn state_modified_persisted_descriptions() {
    let p = StateProject::new();
    // dim_customers persists its docs; stg_customers does not, so its new words change nothing.
    p.edit(
        "models/marts/_marts.yml",
        "Customers with their order counts.",
        "Customers and orders.",
    );
    p.edit(
        "models/staging/_staging.yml",
        "One row per customer.",
        "One customer per row.",
    );
    assert_eq!(
        p.ls(&["-s", "state:modified.persisted_descriptions"]),
        ["dim_customers"]
    );
    assert_eq!(p.ls(&["-s", "state:modified"]), ["dim_customers"]);
    let p = StateProject::new();
    p.edit(
        "models/marts/_marts.yml",
        "description: The customer.",
        "description: Who bought.",
    );
    assert_eq!(
        p.ls(&["-s", "state:modified.persisted_descriptions"]),
        ["dim_customers"]
    );
}

#[test]
fn state_modified_macros() {
    let p = StateProject::new();
    p.edit("macros/cents_to_dollars.sql", "100.0", "100");
    assert_eq!(p.ls(&["-s", "state:modified.macros"]), ["stg_payments"]);
    assert_eq!(p.ls(&["-s", "state:modified"]), ["stg_payments"]);
    assert_eq!(p.ls(&["-s", "state:modified.body"]), NOTHING);
    // A generic test's macro.
    let p = StateProject::new();
    p.edit("tests/generic/positive.sql", "<= 0", "< 0");
    assert_eq!(
        p.ls(&["-s", "state:modified.macros"]),
        ["positive_agg_daily_revenue_revenue"]
    );
}

#[test]
fn state_modified_contract() {
    let p = StateProject::new();
    p.edit(
        "models/marts/_marts.yml",
        "data_type: double",
        "data_type: decimal(10, 2)",
    );
    assert_eq!(p.ls(&["-s", "state:modified.contract"]), ["fct_orders"]);
    // Turning enforcement off is a change too.
    let p = StateProject::new();
    p.edit(
        "models/marts/_marts.yml",
        "enforced: true",
        "enforced: false",
    );
    assert_eq!(p.ls(&["-s", "state:modified.contract"]), ["fct_orders"]);
    // Types on a model without an enforced contract are no contract change.
    let p = StateProject::new();
    p.edit(
        "models/marts/_marts.yml",
        "description: The customer.",
        "description: The customer.\n        data_type: integer",
    );
    assert_eq!(p.ls(&["-s", "state:modified.contract"]), NOTHING);
}

#[test]
fn state_modified_moves_and_exposures() {
    let p = StateProject::new();
    // Moving a file changes its fqn (and nothing else).
    std::fs::rename(
        p.path("models/staging/crm/stg_accounts.sql"),
        p.path("models/staging/stg_accounts.sql"),
    )
    .expect("move model");
    p.edit(
        "models/marts/_exposures.yml",
        "name: Ops",
        "name: Operations",
    );
    assert_eq!(
        p.ls(&["-s", "state:modified"]),
        ["crm_sync", "stg_accounts"]
    );
    assert_eq!(p.ls(&["-s", "state:modified.body"]), NOTHING);
}

#[test]
fn state_combines_with_other_selectors() {
    let p = StateProject::new();
    p.edit(
        "models/staging/stg_orders.sql",
        "status,",
        "status, 1 as one,",
    );
    p.edit(
        "models/staging/stg_payments.sql",
        "order_id,",
        "order_id, 2 as two,",
    );
    assert_eq!(
        p.ls(&["-s", "state:modified+,tag:finance"]),
        [
            "revenue_dashboard",
            "finance_kpis",
            "finance_revenue",
            "assert_kpis_match"
        ]
    );
    assert_eq!(
        p.ls(&["-s", "state:modified", "--exclude", "stg_payments"]),
        ["stg_orders"]
    );
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn error_at_with_trailing_plus() {
    insta::assert_snapshot!(fails(&["-s", "@stg_orders+"]), @r"
    error[selector]: invalid selector '@stg_orders+': '@' and a trailing '+' cannot be combined
      = help: @x already selects x, its descendants and their ancestors; write @x or x+, not both
    ");
}

#[test]
fn error_unknown_method_suggests_one() {
    insta::assert_snapshot!(fails(&["-s", "tga:nightly"]), @r"
    error[selector]: invalid selector 'tga:nightly': 'tga' is not a selector method
      = help: did you mean 'tag'? the methods are fqn, tag, group, access, source, path, file, package, config, test_name, test_type, resource_type, state, exposure, metric, result, source_status, version, semantic_model, saved_query, unit_test, selector, pii
    ");
}

#[test]
fn error_bad_syntax_is_reported_for_every_bad_piece() {
    // --select and --exclude are both checked before kiln gives up.
    insta::assert_snapshot!(fails(&["-s", "stg_orders+customers tag:", "--exclude", "a,,b"]), @r"
    error[selector]: invalid selector 'stg_orders+customers': '+' belongs at the start (ancestors) or the end (descendants) of a selector
      = help: a selector is [@][N+][method:]value[+N], e.g. orders, +orders, orders+2, @orders, tag:nightly, config.materialized:table, path:models/staging; join with ',' to intersect and with spaces to combine
    error[selector]: invalid selector 'tag:': there is nothing to select
      = help: a selector is [@][N+][method:]value[+N], e.g. orders, +orders, orders+2, @orders, tag:nightly, config.materialized:table, path:models/staging; join with ',' to intersect and with spaces to combine
    error[selector]: invalid selector 'a,,b': an intersection has an empty part (',' joins two selectors with no spaces)
      = help: a selector is [@][N+][method:]value[+N], e.g. orders, +orders, orders+2, @orders, tag:nightly, config.materialized:table, path:models/staging; join with ',' to intersect and with spaces to combine
    3 errors found
    ");
}

#[test]
fn error_values_of_closed_methods() {
    for (selector, message) in [
        ("config:table", "the config method needs a config key"),
        ("tag.owner:x", "the tag method takes no '.owner' argument"),
        ("test_type:unique", "'unique' is not a test type"),
        ("resource_type:modle", "'modle' is not a resource type"),
        ("state:changed", "'changed' is not a state comparison"),
        ("version:v2", "'v2' is not a version selector"),
        ("access:open", "'open' is not an access level"),
        ("source:a.b.c.d", "'a.b.c.d' has too many dotted parts"),
        ("result:broken", "'broken' is not a result status"),
        (
            "source_status:stale",
            "'stale' is not a source status comparison",
        ),
    ] {
        let err = fails(&["-s", selector]);
        assert!(err.starts_with("error[selector]: "), "{err}");
        assert!(err.contains(message), "{selector}: {err}");
        assert!(
            err.contains("= help: "),
            "{selector}: no help line in {err}"
        );
    }
}

#[test]
fn error_state_without_state_flag() {
    insta::assert_snapshot!(fails(&["-s", "state:modified+"]), @r"
    error[selector]: 'state:modified+' compares with a previous run, but no --state was given
      = help: pass --state <dir> pointing at the target folder (with manifest.json) of the run to compare with
    ");
}

#[test]
fn error_state_dir_without_manifest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().to_string_lossy().into_owned();
    let err = fails(&["-s", "state:modified", "--state", &state]);
    assert!(
        err.starts_with(&format!(
            "error[selector]: 'state:modified' needs the manifest.json of a previous run, and there is none in {state}"
        )),
        "{err}"
    );
}

#[test]
fn error_unknown_selector_suggests_one() {
    insta::assert_snapshot!(fails(&["--selector", "nightlly"]), @r"
    error[selector]: there is no selector named 'nightlly' in selectors.yml
      --> selectors.yml
      = help: did you mean 'nightly'? selectors.yml defines core_intersect_tests, finance_tables, kpis_upstream, nightly, revenue_and_finance, revenue_family, staging_but_crm
    ");
    let err = fails(&["-s", "selector:nope"]);
    assert!(err.contains("there is no selector named 'nope'"), "{err}");
}

#[test]
fn error_selector_without_selectors_file() {
    let dir = fixture_with_selectors(None);
    insta::assert_snapshot!(fails_in(dir.path(), &["--selector", "nightly"]), @r"
    error[selector]: there is no selector named 'nightly': this project has no selectors.yml
      = help: define named selectors in selectors.yml, next to dbt_project.yml
    ");
}

#[test]
fn error_selector_with_select() {
    insta::assert_snapshot!(fails(&["--selector", "nightly", "-s", "stg_orders"]), @r"
    error[flags]: --selector cannot be combined with --select
      = help: dbt ignores --select and --exclude when --selector is given; put the whole selection in selectors.yml (exclusions under `exclude:`), or drop --selector
    ");
}

#[test]
fn error_unknown_resource_type_flag() {
    let err = fails(&["--resource-type", "modle"]);
    assert!(
        err.starts_with("error[flags]: --resource-type: unknown resource type 'modle'"),
        "{err}"
    );
}

#[test]
fn error_yaml_selector_cycle() {
    let dir = fixture_with_selectors(Some(
        "selectors:\n  - name: a\n    definition:\n      union:\n        - selector: b\n  - name: b\n    definition: 'tag:crm selector:a'\n",
    ));
    insta::assert_snapshot!(fails_in(dir.path(), &["-s", "stg_orders"]), @r"
    error[selector]: selectors use each other in a cycle: a → b → a
     --> selectors.yml:3:5
      |
    3 |     definition:
      |     ^
      = help: a selector cannot include itself, directly or through others
    ");
}

#[test]
fn error_yaml_unknown_reference() {
    let dir = fixture_with_selectors(Some(
        "selectors:\n  - name: nightly\n    definition: tag:nightly\n  - name: b\n    definition:\n      union:\n        - selector: nightlyy\n",
    ));
    insta::assert_snapshot!(fails_in(dir.path(), &["--selector", "b"]), @r"
    error[selector]: selector 'b' uses selector 'nightlyy', which is not defined
     --> selectors.yml:7:21
      |
    7 |         - selector: nightlyy
      |                     ^
      = help: did you mean 'nightly'? selectors.yml defines b, nightly
    ");
}

#[test]
fn error_yaml_bad_definitions_are_all_reported_with_lines() {
    let dir = fixture_with_selectors(Some(
        "\
selectors:
  - name: typo_method
    definition:
      method: tga
      value: nightly
  - name: typo_key
    definition:
      method: tag
      value: nightly
      childern: true
  - name: bad_string
    definition:
      union:
        - '@stg_orders+'
        - exclude: [tag:crm]
        - exclude: [tag:staging]
  - name: bad_depth
    definition:
      method: fqn
      value: stg_orders
      parents_depth: two
",
    ));
    insta::assert_snapshot!(fails_in(dir.path(), &["-s", "stg_orders"]), @r"
    error[selector]: invalid selector 'tga:nightly': 'tga' is not a selector method
     --> selectors.yml:4:15
      |
    4 |       method: tga
      |               ^
      = help: did you mean 'tag'? the methods are fqn, tag, group, access, source, path, file, package, config, test_name, test_type, resource_type, state, exposure, metric, result, source_status, version, semantic_model, saved_query, unit_test, selector, pii
    error[selector]: unknown key `childern` in a selector definition
      --> selectors.yml:10:7
       |
    10 |       childern: true
       |       ^
       = help: the keys are method, value, parents, children, parents_depth, children_depth, childrens_parents, indirect_selection, exclude, description
    error[selector]: invalid selector '@stg_orders+': '@' and a trailing '+' cannot be combined
      --> selectors.yml:14:12
       |
    14 |         - '@stg_orders+'
       |            ^
       = help: @x already selects x, its descendants and their ancestors; write @x or x+, not both
    error[selector]: a `union:` list can hold only one `exclude:`
      --> selectors.yml:15:11
       |
    15 |         - exclude: [tag:crm]
       |           ^
       = help: list every exclusion under a single `- exclude:`
    error[selector]: `parents_depth:` must be a whole number
      --> selectors.yml:21:7
       |
    21 |       parents_depth: two
       |       ^
       = help: write the number of edges to follow, e.g. 2
    5 errors found
    ");
}

#[test]
fn error_yaml_two_defaults() {
    let dir = fixture_with_selectors(Some(
        "selectors:\n  - name: a\n    default: true\n    definition: tag:crm\n  - name: b\n    default: true\n    definition: tag:staging\n",
    ));
    insta::assert_snapshot!(fails_in(dir.path(), &[]), @r"
    error[selector]: more than one selector is marked `default: true`: a, b
     --> selectors.yml:6:5
      |
    6 |     default: true
      |     ^
      = help: mark at most one selector as the default
    ");
}

#[test]
fn error_yaml_duplicate_name() {
    let dir = fixture_with_selectors(Some(
        "selectors:\n  - name: a\n    definition: tag:crm\n  - name: a\n    definition: tag:staging\n",
    ));
    insta::assert_snapshot!(fails_in(dir.path(), &["--selector", "a"]), @"
    error[selector]: selector 'a' is defined twice in selectors.yml
     --> selectors.yml:2:5
      |
    2 |   - name: a
      |     ^
      = help: selector names must be unique: rename or remove one
    ");
}

#[test]
fn error_blank_select() {
    insta::assert_snapshot!(fails(&["-s", " "]), @"
    error[selector]: --select was given no selector
      = help: a selector is [@][N+][method:]value[+N], e.g. orders, +orders, orders+2, @orders, tag:nightly, config.materialized:table, path:models/staging; join with ',' to intersect and with spaces to combine
    ");
}
