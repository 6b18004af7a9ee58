//! Installed packages: `tests/fixtures/packages` (a root project using a small package written for
//! the tests, `vendor/helpers`, installed by `kiln deps` from packages.yml's `local:`), built and
//! compared with dbt-core's run on the same fixture (`tests/dbt_recorded/packages/`, recorded by
//! `tests/dbt_recorded/record.sh`): the tables and rows, the statuses, and the manifest's package
//! nodes, macros and docs field by field. Then each rule on its own, on variations of the fixture:
//! dispatch order, the root project's configs and vars over the package's, two-argument `ref`,
//! and the errors when a package is missing or broken. Snapshots: `tests/snapshots/packages__*`.

#[path = "cli/support.rs"]
mod support;

use serde_json::Value;
use std::path::Path;
use support::{Run, TestProject};

/// The fixture with its package installed (`kiln deps`).
fn installed() -> TestProject {
    let p = TestProject::fixture("packages");
    p.kiln(&["deps"]).run().assert_success();
    p
}

/// Runs `sql` on the fixture's DuckDB file: each row as text cells (NULL as "NULL").
fn query(p: &TestProject, sql: &str) -> Vec<String> {
    let conn = duckdb::Connection::open(p.dir().join("shop.duckdb")).expect("open shop.duckdb");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let mut rows = stmt.query([]).expect("query");
    let mut out = vec![];
    while let Some(row) = rows.next().expect("next row") {
        let n = row.as_ref().column_count();
        let cells: Vec<String> = (0..n)
            .map(|i| {
                let v: duckdb::types::Value = row.get(i).expect("cell");
                match v {
                    duckdb::types::Value::Null => "NULL".to_string(),
                    duckdb::types::Value::Text(s) => s,
                    duckdb::types::Value::Int(i) => i.to_string(),
                    duckdb::types::Value::BigInt(i) => i.to_string(),
                    duckdb::types::Value::Double(f) => f.to_string(),
                    other => format!("{other:?}"),
                }
            })
            .collect();
        out.push(cells.join(" | "));
    }
    out
}

fn recorded(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dbt_recorded/packages");
    std::fs::read_to_string(path.join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

fn snapshot(name: &str, run: &Run) {
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => true}, {
        insta::assert_snapshot!(name, run.snapshot());
    });
}

fn compiled(p: &TestProject, package: &str, rel: &str) -> String {
    p.read(&format!("target/compiled/{package}/{rel}"))
}

// ---------------------------------------------------------------------------------------------
// The fixture as dbt builds it.

#[test]
fn build_makes_dbt_s_tables_rows_and_statuses() {
    let p = installed();
    let run = p.kiln(&["build"]).run();
    run.assert_success();
    // dbt's statuses on the same fixture.
    let rr: Value = serde_json::from_str(&p.read("target/run_results.json")).expect("json");
    let mut statuses: Vec<String> = rr["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| format!("{} {}", r["status"].as_str().unwrap_or(""), r["unique_id"]))
        .map(|s| s.replace('"', ""))
        .collect();
    statuses.sort_by(|a, b| a.split(' ').nth(1).cmp(&b.split(' ').nth(1)));
    let dbt = recorded("build.txt");
    let mut lines = dbt.lines();
    let done = lines.next().expect("the Done line");
    assert!(
        run.stdout.contains(done),
        "kiln's summary differs from dbt's `{done}`:\n{}",
        run.stdout
    );
    assert_eq!(statuses, lines.collect::<Vec<_>>());
    // The package's models in the schema the root project gives them (`+schema: helpers`), as
    // the package materializes them (a view, its staging folder as tables); dbt's relations.
    assert_eq!(
        query(
            &p,
            "select table_schema || '.' || table_name || ' ' || lower(table_type) from information_schema.tables where table_schema <> 'kiln_state' order by 1"
        ),
        [
            "main.codes base table",
            "main.orders base table",
            "main_helpers.helper_calendar view",
            "main_helpers.helper_codes base table",
            "main_helpers.stg_currencies base table",
            "snapshots.codes_snapshot base table",
        ]
    );
    // dbt's rows: the package's macros (units, the duckdb__ division), the root project's
    // `label` found first by `dispatch:`, the package's model through two-argument ref with the
    // var the root project sets for the package.
    assert_eq!(
        query(&p, "select * from main.orders order by order_id"),
        [
            "1 | 12.5 | 250 | order-1 | CHF | emea",
            "2 | 3 | NULL | order-2 | CHF | emea"
        ]
    );
    assert_eq!(
        query(&p, "select * from main_helpers.stg_currencies"),
        ["CHF | 2"]
    );
}

#[test]
fn compiled_sql_uses_the_package_s_macros() {
    let p = installed();
    p.kiln(&["compile"]).run().assert_success();
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => true}, {
        insta::assert_snapshot!("orders_compiled", compiled(&p, "shop_pkgs", "models/orders.sql"));
        insta::assert_snapshot!(
            "package_test_compiled",
            compiled(&p, "shop_pkgs", "models/schema.yml/helpers_is_positive_orders_order_id.sql")
        );
    });
    assert_eq!(
        compiled(&p, "helpers", "models/helper_calendar.sql"),
        "select code, (100 / 100.0) as one_unit from \"shop\".\"main_helpers\".\"helper_codes\""
    );
}

// ---------------------------------------------------------------------------------------------
// manifest.json against dbt's.

/// Differences between dbt's value and kiln's, one line each (objects: the same keys in the
/// same order; arrays and scalars: equal).
fn differences(path: &str, dbt: &Value, kiln: &Value, out: &mut Vec<String>) {
    match (dbt, kiln) {
        (Value::Object(d), Value::Object(k)) => {
            let dk: Vec<&String> = d.keys().collect();
            let kk: Vec<&String> = k.keys().collect();
            if dk != kk {
                out.push(format!("{path}: keys {dk:?} (dbt) vs {kk:?} (kiln)"));
            }
            for (key, v) in d {
                if let Some(kv) = k.get(key) {
                    differences(&format!("{path}/{key}"), v, kv, out);
                }
            }
        }
        (d, k) if d != k => out.push(format!("{path}: {d} (dbt) vs {k} (kiln)")),
        _ => {}
    }
}

/// Whether a node's SQL goes through dbt's own generic tests (`unique`, `not_null`...): their
/// Jinja is dbt-core's and kiln's built-ins are kiln's, so the compiled SQL is laid out
/// differently (the same query).
fn uses_dbt_s_generic_test(node: &Value) -> bool {
    node["depends_on"]["macros"].as_array().is_some_and(|m| {
        m.iter()
            .any(|m| m.as_str().is_some_and(|m| m.starts_with("macro.dbt.test_")))
    })
}

/// The macros dbt's test materialization records on every test (kiln's is not a macro).
const DBT_TEST_RUNTIME_MACROS: &[&str] = &[
    "macro.dbt.get_limit_subquery_sql",
    "macro.dbt.should_store_failures",
    "macro.dbt.statement",
];

#[test]
fn manifest_lists_package_nodes_macros_and_docs_as_dbt_does() {
    let p = installed();
    p.kiln(&["build"]).run().assert_success();
    let dir = p.dir().canonicalize().expect("canonical");
    let kiln: Value = serde_json::from_str(
        &p.read("target/manifest.json")
            .replace(&dir.display().to_string(), "<project>"),
    )
    .expect("manifest");
    let mut dbt: Value = serde_json::from_str(&recorded("manifest.json")).expect("manifest");
    for n in dbt["nodes"].as_object_mut().expect("nodes").values_mut() {
        if let Some(Value::Array(macros)) = n.pointer_mut("/depends_on/macros") {
            macros.retain(|m| !DBT_TEST_RUNTIME_MACROS.contains(&m.as_str().unwrap_or("")));
        }
    }
    let mut out = vec![];
    for section in [
        "nodes",
        "macros",
        "docs",
        "sources",
        "parent_map",
        "child_map",
    ] {
        let (d, k) = (&dbt[section], &kiln[section]);
        let d = d.as_object().expect("dbt section");
        let k = k.as_object().expect("kiln section");
        let ours = |id: &String| !id.starts_with("macro.dbt.") && !id.starts_with("doc.dbt.");
        let dk: Vec<&String> = d.keys().filter(|id| ours(id)).collect();
        let kk: Vec<&String> = k.keys().filter(|id| ours(id)).collect();
        let (mut ds, mut ks) = (dk.clone(), kk.clone());
        ds.sort();
        ks.sort();
        assert_eq!(ds, ks, "{section}: dbt's and kiln's resources differ");
        for id in dk {
            let (mut dv, mut kv) = (d[id].clone(), k[id].clone());
            let dbt_test = uses_dbt_s_generic_test(&dv);
            for v in [&mut dv, &mut kv] {
                if let Value::Object(o) = v {
                    o.remove("created_at");
                    if dbt_test {
                        o.remove("compiled_code");
                    }
                }
            }
            differences(&format!("{section}/{id}"), &dv, &kv, &mut out);
        }
    }
    assert!(out.is_empty(), "differences:\n{}", out.join("\n"));
    // The package's macros are listed with its name and their paths in it.
    let m = &kiln["macros"]["macro.helpers.safe_divide"];
    assert_eq!(m["package_name"], "helpers");
    assert_eq!(m["original_file_path"], "macros/money.sql");
    assert_eq!(
        m["depends_on"]["macros"],
        serde_json::json!(["macro.helpers.duckdb__safe_divide"])
    );
}

#[test]
fn ls_selects_a_package_s_nodes() {
    let p = installed();
    let run = p
        .kiln(&[
            "ls",
            "-q",
            "-s",
            "package:helpers",
            "--resource-type",
            "model",
        ])
        .run();
    run.assert_success();
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        ["helpers.helper_calendar", "helpers.staging.stg_currencies"]
    );
}

// ---------------------------------------------------------------------------------------------
// Each rule on its own.

/// `adapter.dispatch('x', 'helpers')`: the root project's `dispatch:` search order for the
/// namespace (the fixture's: root project, then package, so the root's `default__label` wins);
/// with the package first, the package's implementations; without `dispatch:`, dbt searches the
/// root project and then the package (so the root's implementations still win: a root
/// `duckdb__safe_divide` over the package's), and a name only the package implements is the
/// package's. In each package, `duckdb__x` before `default__x`.
#[test]
fn dispatch_follows_the_search_order() {
    let p = installed();
    let orders = |p: &TestProject| {
        p.kiln(&["compile", "-s", "orders"]).run().assert_success();
        compiled(p, "shop_pkgs", "models/orders.sql")
    };
    let sql = orders(&p);
    assert!(
        sql.contains("'order-' || cast(o.order_id as varchar)"),
        "{sql}"
    );
    assert!(
        sql.contains("(o.amount_cents / nullif(o.quantity, 0))"),
        "{sql}"
    );
    let project = p.read("dbt_project.yml");
    p.write(
        "dbt_project.yml",
        &project.replace("['shop_pkgs', 'helpers']", "['helpers', 'shop_pkgs']"),
    );
    let sql = orders(&p);
    assert!(
        sql.contains("'item-' || cast(o.order_id as varchar)"),
        "{sql}"
    );
    let without = project.replace(
        "dispatch:\n  - macro_namespace: helpers\n    search_order: ['shop_pkgs', 'helpers']\n",
        "",
    );
    assert_ne!(project, without);
    p.write("dbt_project.yml", &without);
    p.write(
        "macros/divide.sql",
        "{% macro duckdb__safe_divide(a, b) %}root_divide({{ a }}, {{ b }}){% endmacro %}\n",
    );
    let sql = orders(&p);
    assert!(
        sql.contains("'order-' || cast(o.order_id as varchar)"),
        "{sql}"
    );
    assert!(
        sql.contains("root_divide(o.amount_cents, o.quantity)"),
        "{sql}"
    );
    std::fs::remove_file(p.dir().join("macros/label.sql")).expect("remove");
    let sql = orders(&p);
    assert!(
        sql.contains("'item-' || cast(o.order_id as varchar)"),
        "{sql}"
    );
}

/// The root project's configs for a package's nodes apply last: over the package's
/// dbt_project.yml and over a `config()` call in the package's model (as dbt does).
#[test]
fn root_configs_override_the_package_s() {
    let p = installed();
    p.write(
        "vendor/helpers/models/configured.sql",
        "{{ config(materialized='view', alias='configured_alias') }}\nselect 1 as x\n",
    );
    let project = p.read("dbt_project.yml").replace(
        "  helpers:\n    +schema: helpers\n",
        "  helpers:\n    +schema: helpers\n    configured:\n      +materialized: table\n      +tags: ['pinned']\n",
    );
    p.write("dbt_project.yml", &project);
    p.kiln(&["run", "-s", "configured"]).run().assert_success();
    assert_eq!(
        query(
            &p,
            "select table_schema || '.' || table_name || ' ' || lower(table_type) from information_schema.tables where table_schema <> 'kiln_state'"
        ),
        ["main_helpers.configured_alias base table"]
    );
    let manifest: Value = serde_json::from_str(&p.read("target/manifest.json")).expect("json");
    let n = &manifest["nodes"]["model.helpers.configured"];
    assert_eq!(n["config"]["materialized"], "table");
    assert_eq!(
        n["config"]["tags"],
        serde_json::json!(["helpers", "pinned"])
    );
    assert_eq!(n["fqn"], serde_json::json!(["helpers", "configured"]));
    // dbt's unrendered_config: the package's settings, the root project's, then the config()
    // call's values again.
    assert_eq!(
        n["unrendered_config"],
        serde_json::json!({
            "materialized": "view",
            "tags": ["pinned"],
            "alias": "configured_alias",
            "schema": "helpers",
        })
    );
}

/// A package's nodes see its own vars, the root project's global vars over them, the root's
/// `vars: {helpers: ...}` over those, and `--vars` over everything.
#[test]
fn package_vars_are_scoped_as_in_dbt() {
    let p = installed();
    let select = "select * from main_helpers.stg_currencies";
    p.kiln(&["run", "-s", "stg_currencies"])
        .run()
        .assert_success();
    // currency from `vars: {helpers: {currency: CHF}}`, rate the package's own.
    assert_eq!(query(&p, select), ["CHF | 2"]);
    let project = p
        .read("dbt_project.yml")
        .replace("  region: emea\n", "  region: emea\n  rate: 3\n");
    p.write("dbt_project.yml", &project);
    p.kiln(&["run", "-s", "stg_currencies"])
        .run()
        .assert_success();
    assert_eq!(query(&p, select), ["CHF | 3"]);
    p.kiln(&[
        "run",
        "-s",
        "stg_currencies",
        "--vars",
        "{rate: 5, currency: USD}",
    ])
    .run()
    .assert_success();
    assert_eq!(query(&p, select), ["USD | 5"]);
    // The root project's own nodes do not see the package's vars.
    p.write(
        "models/rate.sql",
        "select {{ var('rate', 'none') }} as rate\n",
    );
    p.write(
        "dbt_project.yml",
        &p.read("dbt_project.yml").replace("  rate: 3\n", ""),
    );
    p.kiln(&["compile", "-s", "rate"]).run().assert_success();
    assert_eq!(
        compiled(&p, "shop_pkgs", "models/rate.sql"),
        "select none as rate"
    );
}

/// `ref('package', 'name')` resolves in that package; `ref('name')` in the root project first,
/// then in the calling node's package, then anywhere (dbt's order: a package's unqualified ref
/// to a name the root project also has finds the root's). Names may repeat across packages.
#[test]
fn two_argument_ref_resolves_in_the_package() {
    let p = installed();
    p.write("models/helper_twin.sql", "select 'root' as who\n");
    p.write(
        "vendor/helpers/models/helper_twin.sql",
        "select 'pkg' as who\n",
    );
    p.write(
        "models/twins.sql",
        "select * from {{ ref('helper_twin') }} union all select * from {{ ref('helpers', 'helper_twin') }}\n",
    );
    p.write(
        "vendor/helpers/models/uses_twin.sql",
        "select * from {{ ref('helper_twin') }}\n",
    );
    p.kiln(&["compile", "-s", "twins", "uses_twin"])
        .run()
        .assert_success();
    assert_eq!(
        compiled(&p, "shop_pkgs", "models/twins.sql"),
        "select * from \"shop\".\"main\".\"helper_twin\" union all select * from \"shop\".\"main_helpers\".\"helper_twin\""
    );
    assert_eq!(
        compiled(&p, "helpers", "models/uses_twin.sql"),
        "select * from \"shop\".\"main\".\"helper_twin\""
    );
    // Within one project a name is still unique.
    p.write(
        "vendor/helpers/models/staging/helper_twin.sql",
        "select 2\n",
    );
    let run = p.kiln(&["parse"]).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("two models are named 'helper_twin'"),
        "{}",
        run.stderr
    );
}

/// A package's sources: `source()` finds them from the root project and from the package (the
/// root project's own first), under the package's name; the root project's `sources:
/// {<package>: ...}` configs apply to them.
#[test]
fn a_package_s_sources_are_found_and_configured() {
    let p = installed();
    p.write(
        "vendor/helpers/models/sources.yml",
        "version: 2\nsources:\n  - name: ledger\n    schema: raw_ledger\n    tables:\n      - name: entries\n",
    );
    p.write(
        "vendor/helpers/models/ledger.sql",
        "select * from {{ source('ledger', 'entries') }}\n",
    );
    p.write(
        "models/from_ledger.sql",
        "select * from {{ source('ledger', 'entries') }}\n",
    );
    p.kiln(&["compile", "-s", "ledger", "from_ledger"])
        .run()
        .assert_success();
    for (package, file) in [
        ("helpers", "models/ledger.sql"),
        ("shop_pkgs", "models/from_ledger.sql"),
    ] {
        assert_eq!(
            compiled(&p, package, file),
            "select * from \"shop\".\"raw_ledger\".\"entries\""
        );
    }
    let manifest: Value = serde_json::from_str(&p.read("target/manifest.json")).expect("json");
    assert_eq!(
        manifest["nodes"]["model.shop_pkgs.from_ledger"]["depends_on"]["nodes"],
        serde_json::json!(["source.helpers.ledger.entries"])
    );
    assert_eq!(
        manifest["sources"]["source.helpers.ledger.entries"]["original_file_path"],
        "models/sources.yml"
    );
    // The root project's own source of that name wins for its nodes and the package's.
    p.write(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: ledger\n    schema: main\n    tables:\n      - name: entries\n",
    );
    p.kiln(&["compile", "-s", "ledger", "from_ledger"])
        .run()
        .assert_success();
    for (package, file) in [
        ("helpers", "models/ledger.sql"),
        ("shop_pkgs", "models/from_ledger.sql"),
    ] {
        assert_eq!(
            compiled(&p, package, file),
            "select * from \"shop\".\"main\".\"entries\""
        );
    }
    // Disabled by the root project: the package's source leaves the project.
    std::fs::remove_file(p.dir().join("models/sources.yml")).expect("remove");
    std::fs::remove_file(p.dir().join("models/from_ledger.sql")).expect("remove");
    std::fs::remove_file(p.dir().join("vendor/helpers/models/ledger.sql")).expect("remove");
    let project = p.read("dbt_project.yml");
    p.write(
        "dbt_project.yml",
        &format!("{project}\nsources:\n  helpers:\n    +enabled: false\n"),
    );
    p.kiln(&["parse"]).run().assert_success();
    let manifest: Value = serde_json::from_str(&p.read("target/manifest.json")).expect("json");
    assert!(
        manifest["sources"]
            .get("source.helpers.ledger.entries")
            .is_none()
    );
    assert!(
        manifest["disabled"]
            .get("source.helpers.ledger.entries")
            .is_some()
    );
}

/// A package's own `generate_schema_name` names its nodes' schemas (dbt uses a package's for
/// its nodes, the root project's or dbt's for the others); dbt's schemas on this fixture.
#[test]
fn a_package_s_generate_schema_name_applies_to_its_nodes() {
    let p = installed();
    p.write(
        "vendor/helpers/macros/schema_name.sql",
        "{% macro generate_schema_name(custom_schema_name, node) -%}\n    pkg_{{ custom_schema_name or 'none' }}\n{%- endmacro %}\n",
    );
    p.kiln(&["parse"]).run().assert_success();
    let manifest: Value = serde_json::from_str(&p.read("target/manifest.json")).expect("json");
    let schema = |id: &str| {
        manifest["nodes"][id]["schema"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(schema("model.helpers.stg_currencies"), "pkg_helpers");
    assert_eq!(schema("seed.helpers.helper_codes"), "pkg_helpers");
    assert_eq!(
        schema("test.helpers.assert_codes_present"),
        "pkg_dbt_test__audit"
    );
    assert_eq!(schema("model.shop_pkgs.orders"), "main");
    assert_eq!(
        schema("test.shop_pkgs.unique_orders_order_id.fed79b3a6e"),
        "main_dbt_test__audit"
    );
}

/// Inside a package, its macros may call each other without the package's name. dbt requires
/// the name (`helpers.units_divisor()`) when a node of another project calls the macro, and
/// fails with "'units_divisor' is undefined"; kiln then falls back on the calling macro's
/// package, after dbt's own search (the node's project, the root project, the built-ins).
#[test]
fn a_package_macro_finds_its_own_macros() {
    let p = installed();
    let money = p.read("vendor/helpers/macros/money.sql");
    p.write(
        "vendor/helpers/macros/money.sql",
        &money.replace("{{ helpers.units_divisor() }}", "{{ units_divisor() }}"),
    );
    p.kiln(&["compile", "-s", "orders"]).run().assert_success();
    assert!(compiled(&p, "shop_pkgs", "models/orders.sql").contains("(o.amount_cents / 100.0)"));
    // The root project's macro of that name wins, as dbt's search finds it first.
    p.write(
        "macros/divisor.sql",
        "{% macro units_divisor() %}1000.0{% endmacro %}\n",
    );
    p.kiln(&["compile", "-s", "orders"]).run().assert_success();
    assert!(compiled(&p, "shop_pkgs", "models/orders.sql").contains("(o.amount_cents / 1000.0)"));
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// packages.yml asks for a package that `kiln deps` has not installed: the package named at its
/// line, and what to do; exit 2 before anything else is reported.
#[test]
fn a_package_not_installed_is_named() {
    let p = TestProject::fixture("packages");
    let run = p.kiln(&["build"]).run();
    run.assert_code(2);
    snapshot("not_installed", &run);
    // The same with a lock file naming it (a git package, say, whose name only the lock knows).
    p.kiln(&["deps"]).run().assert_success();
    std::fs::remove_file(p.dir().join("dbt_packages/helpers")).expect("remove the link");
    let run = p.kiln(&["parse"]).run();
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("package 'helpers', listed in packages.yml, is not installed"),
        "{}",
        run.stderr
    );
}

/// A folder of the install path that is not a package.
#[test]
fn a_package_folder_without_dbt_project_is_named() {
    let p = installed();
    p.write("dbt_packages/leftover/macros/x.sql", "");
    let run = p.kiln(&["parse"]).run();
    run.assert_code(2);
    snapshot("folder_without_project", &run);
}

/// A package's generic test that the package does not define.
#[test]
fn an_unknown_package_test_is_reported_at_its_line() {
    let p = installed();
    let schema = p.read("models/schema.yml");
    p.write(
        "models/schema.yml",
        &schema.replace("- helpers.is_positive\n", "- helpers.is_postive\n"),
    );
    let run = p.kiln(&["parse"]).run();
    run.assert_code(2);
    snapshot("unknown_package_test", &run);
}

/// A package made for another dbt version (`require-dbt-version`) is loaded, with a warning at
/// its range (dbt stops unless `--no-version-check`).
#[test]
fn a_package_for_another_dbt_version_is_a_warning() {
    let p = installed();
    let project = p.read("vendor/helpers/dbt_project.yml");
    p.write(
        "vendor/helpers/dbt_project.yml",
        &project.replace("[\">=1.5.0\", \"<2.0.0\"]", "[\">=2.0.0\"]"),
    );
    let run = p.kiln(&["parse"]).run();
    run.assert_success();
    snapshot("other_dbt_version", &run);
}

/// on-run-start and on-run-end hooks of the packages run too, in dbt-core 1.11's order
/// (recorded by hand on the same layout): the root project's first, then each package's by
/// package name, each project's in its list's order; a package's hooks are its manifest
/// `operation` nodes.
#[test]
fn package_run_hooks_run_after_the_root_project_s() {
    let p = TestProject::fixture("packages");
    let log = |who: &str| {
        format!("insert into main.hook_log select count(*), '{who}' from main.hook_log")
    };
    let create = "create table if not exists main.hook_log (seq integer, who varchar)";
    let root = p.read("dbt_project.yml");
    p.write(
        "dbt_project.yml",
        &format!(
            "{root}\non-run-start:\n  - \"{create}\"\n  - \"{}\"\non-run-end: \"{}\"\n",
            log("root start"),
            log("root end")
        ),
    );
    let helpers = p.read("vendor/helpers/dbt_project.yml");
    p.write(
        "vendor/helpers/dbt_project.yml",
        &format!(
            "{helpers}\non-run-start:\n  - \"{create}\"\n  - \"{}\"\non-run-end:\n  - \"{}\"\n",
            log("helpers start"),
            log("helpers end")
        ),
    );
    p.write(
        "vendor/alpha/dbt_project.yml",
        &format!(
            "name: alpha\nversion: '1.0.0'\nconfig-version: 2\non-run-start: \"{create}; {}\"\non-run-end: \"{}\"\n",
            log("alpha start"),
            log("alpha end")
        ),
    );
    p.write(
        "packages.yml",
        "packages:\n  - local: vendor/helpers\n  - local: vendor/alpha\n",
    );
    p.kiln(&["deps"]).run().assert_success();
    p.kiln(&["build"]).run().assert_success();
    assert_eq!(
        query(&p, "select seq, who from main.hook_log order by seq"),
        [
            "0 | root start",
            "1 | alpha start",
            "2 | helpers start",
            "3 | root end",
            "4 | alpha end",
            "5 | helpers end",
        ]
    );
    let manifest: Value =
        serde_json::from_str(&p.read("target/manifest.json")).expect("manifest.json");
    let hook = &manifest["nodes"]["operation.alpha.alpha-on-run-end-0"];
    assert_eq!(hook["package_name"], "alpha");
    assert_eq!(hook["resource_type"], "operation");
}

/// A package's generic tests written as dbt_utils writes them (`not_null_proportion`,
/// `equal_rowcount`): keyword arguments the test does not declare reach the dispatched
/// implementation through `**kwargs` (Jinja2 gathers them into `kwargs` when a macro's body reads
/// it), and a `config(fail_calc=...)` call in the dispatched macro, made at parse time, grades
/// the test (the failure count is the gap, not the number of rows).
#[test]
fn package_tests_pass_kwargs_through_dispatch_and_their_config_grades_them() {
    let p = TestProject::fixture("packages");
    p.write(
        "vendor/helpers/tests/generic/share_not_null.sql",
        "{% test share_not_null(model, group_by_columns=[]) %}\n\
         {{ return(adapter.dispatch('test_share_not_null', 'helpers')(model, group_by_columns, **kwargs)) }}\n\
         {% endtest %}\n\n\
         {% macro default__test_share_not_null(model, group_by_columns) %}\n\
         {% set column_name = kwargs.get('column_name', kwargs.get('arg')) %}\n\
         {% set at_least = kwargs.get('at_least', kwargs.get('arg')) %}\n\
         select share from (select count({{ column_name }}) * 1.0 / count(*) as share from {{ model }})\n\
         where share < {{ at_least }}\n\
         {% endmacro %}\n",
    );
    p.write(
        "vendor/helpers/tests/generic/row_gap.sql",
        "{% test row_gap(model, compare_model) %}\n\
         {{ return(adapter.dispatch('test_row_gap', 'helpers')(model, compare_model)) }}\n\
         {% endtest %}\n\n\
         {% macro default__test_row_gap(model, compare_model) %}\n\
         {{ config(fail_calc = 'sum(coalesce(gap, 0))') }}\n\
         {%- if not execute -%}{{ return('') }}{%- endif -%}\n\
         select abs((select count(*) from {{ model }}) - (select count(*) from {{ compare_model }})) as gap\n\
         {% endmacro %}\n",
    );
    p.write("models/five.sql", "select range as n from range(5)\n");
    p.write(
        "models/schema.yml",
        "version: 2\n\
         models:\n\
         \x20 - name: orders\n\
         \x20   data_tests:\n\
         \x20     - helpers.row_gap:\n          compare_model: ref('orders')\n\
         \x20     - helpers.row_gap:\n          compare_model: ref('five')\n\
         \x20     - name: gap_counted\n        test_name: helpers.row_gap\n\
         \x20       compare_model: ref('five')\n        config:\n          fail_calc: count(*)\n\
         \x20   columns:\n\
         \x20     - name: cents_per_item\n        data_tests:\n\
         \x20         - helpers.share_not_null:\n              at_least: 0.5\n\
         \x20         - helpers.share_not_null:\n              at_least: 0.9\n",
    );
    p.kiln(&["deps"]).run().assert_success();
    let run = p.kiln(&["build"]).run();
    run.assert_code(1);
    let rr: Value = serde_json::from_str(&p.read("target/run_results.json")).expect("json");
    let mut graded: Vec<String> = rr["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| {
            let id = r["unique_id"].as_str().unwrap_or("");
            id.contains("row_gap") || id.contains("share_not_null") || id.contains("gap_counted")
        })
        .map(|r| {
            let id = r["unique_id"].as_str().unwrap_or("");
            let name = id.split('.').nth(2).unwrap_or(id);
            format!("{name} {} {}", r["status"], r["failures"])
        })
        .collect();
    graded.sort();
    assert_eq!(
        graded,
        [
            "gap_counted \"fail\" 1",
            "helpers_row_gap_orders_ref_five_ \"fail\" 3",
            "helpers_row_gap_orders_ref_orders_ \"pass\" 0",
            "helpers_share_not_null_orders_0_5__cents_per_item \"pass\" 0",
            "helpers_share_not_null_orders_0_9__cents_per_item \"fail\" 1",
        ],
        "{}",
        run.snapshot()
    );
}
