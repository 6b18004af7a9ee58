//! The happy paths: what a healthy project prints and writes for each command, and how flags,
//! environment variables and profiles reach it.

use crate::assert_run_snapshot;
use crate::support::TestProject;
use serde_json::Value;

fn manifest(p: &TestProject) -> Value {
    serde_json::from_str(&p.read("target/manifest.json")).expect("manifest.json is JSON")
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir");
                out.push(rel.display().to_string().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn parse_prints_summary_and_writes_manifest() {
    let p = TestProject::fixture("shop");
    let run = p.kiln(&["parse"]).run();
    run.assert_success();
    assert_run_snapshot!(run);
    let m = manifest(&p);
    let nodes = m["nodes"].as_object().expect("nodes");
    for id in [
        "model.shop.stg_customers",
        "model.shop.stg_orders",
        "model.shop.customer_orders",
        "seed.shop.countries",
        "test.shop.assert_revenue_positive",
        "analysis.shop.top_customers",
    ] {
        assert!(nodes.contains_key(id), "{id} missing from the manifest");
    }
    assert!(m["sources"]["source.shop.raw.customers"].is_object());
    // parse does not compile
    assert!(
        nodes["model.shop.customer_orders"]
            .get("compiled_code")
            .is_none_or(Value::is_null)
    );
}

#[test]
fn parse_json_log_format() {
    let p = TestProject::fixture("shop");
    let run = p.kiln(&["parse", "--log-format", "json"]).run();
    run.assert_success();
    let mut names = vec![];
    for line in run.stdout.lines() {
        let v: Value = serde_json::from_str(line).expect("one JSON object per line");
        assert_eq!(v["info"]["level"], "info");
        names.push(v["info"]["name"].as_str().expect("a name").to_string());
    }
    assert_eq!(names, ["MainReportVersion", "FoundStats", "Note"]);
    assert_run_snapshot!(run);
}

#[test]
fn compile_one_model_prints_its_sql() {
    let p = TestProject::fixture("shop");
    let run = p.kiln(&["compile", "-s", "customer_orders"]).run();
    run.assert_success();
    assert_run_snapshot!(run);
    // the model and, by eager indirect selection, its tests; nothing else
    let files = files_under(&p.dir().join("target/compiled"));
    assert!(files.contains(&"shop/models/marts/customer_orders.sql".to_string()));
    assert!(
        files.iter().all(|f| !f.contains("stg_")),
        "compiled unselected models: {files:?}"
    );
}

#[test]
fn compile_writes_every_node() {
    let p = TestProject::fixture("shop");
    let run = p.kiln(&["compile"]).run();
    run.assert_success();
    assert_run_snapshot!(run);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => true}, {
        insta::assert_debug_snapshot!(
            "compile_writes_every_node_files",
            files_under(&p.dir().join("target/compiled"))
        );
    });
    let m = manifest(&p);
    let code = m["nodes"]["model.shop.customer_orders"]["compiled_code"]
        .as_str()
        .expect("compile writes compiled_code to the manifest");
    assert!(
        code.contains(r#"from "dev"."main"."stg_customers" as c"#),
        "{code}"
    );
}

#[test]
fn clean_deletes_target() {
    let p = TestProject::fixture("shop");
    p.kiln(&["compile"]).run().assert_success();
    assert!(p.exists("target/manifest.json"));
    std::fs::create_dir_all(p.dir().join("dbt_packages/x")).expect("mkdir");
    let run = p.kiln(&["clean"]).run();
    run.assert_success();
    assert_run_snapshot!(run);
    assert!(!p.exists("target"), "target/ survived kiln clean");
    assert!(
        !p.exists("dbt_packages"),
        "dbt_packages/ survived kiln clean"
    );
    assert!(p.exists("models/marts/customer_orders.sql"));
}

#[test]
fn debug_shows_profile_target_and_database() {
    let p = TestProject::fixture("shop");
    let run = p.kiln(&["debug"]).run();
    run.assert_success();
    assert_run_snapshot!(run);
}

#[test]
fn target_flag_picks_the_output() {
    let p = TestProject::fixture("shop");
    let run = p.kiln(&["debug", "--target", "prod"]).run();
    run.assert_success();
    assert_run_snapshot!(run);
    p.kiln(&["compile", "--target", "prod"])
        .run()
        .assert_success();
    let sql = p.read("target/compiled/shop/models/marts/customer_orders.sql");
    assert!(
        sql.contains(r#"from "prod"."analytics"."stg_customers" as c"#),
        "{sql}"
    );
    let m = manifest(&p);
    assert_eq!(
        m["nodes"]["model.shop.customer_orders"]["schema"],
        "analytics_marts"
    );
}

#[test]
fn vars_flag_reaches_var() {
    let p = TestProject::fixture("shop");
    p.kiln(&["compile"]).run().assert_success();
    let sql = p.read("target/compiled/shop/models/staging/stg_orders.sql");
    assert!(sql.contains("where id > 0"), "project var: {sql}");
    p.kiln(&["compile", "--vars", "{min_order_id: 10}"])
        .run()
        .assert_success();
    let sql = p.read("target/compiled/shop/models/staging/stg_orders.sql");
    assert!(sql.contains("where id > 10"), "--vars YAML: {sql}");
    p.kiln(&["compile", "--vars", r#"{"min_order_id": 20}"#])
        .run()
        .assert_success();
    let sql = p.read("target/compiled/shop/models/staging/stg_orders.sql");
    assert!(sql.contains("where id > 20"), "--vars JSON: {sql}");
}

/// dbt's precedence: config() in the file > properties YAML > dbt_project.yml (deepest folder
/// first); tags accumulate across all three.
#[test]
fn config_precedence() {
    let p = TestProject::fixture("shop");
    p.kiln(&["parse"]).run().assert_success();
    let m = manifest(&p);
    let config = |id: &str| m["nodes"][id]["config"].clone();
    // dbt_project.yml says table, the YAML says incremental, config() says table.
    let co = config("model.shop.customer_orders");
    assert_eq!(co["materialized"], "table");
    assert_eq!(co["schema"], "marts");
    assert_eq!(co["meta"]["owner"], "finance");
    let mut tags: Vec<String> = serde_json::from_value(co["tags"].clone()).expect("tags");
    tags.sort();
    assert_eq!(tags, ["daily", "finance", "shop"]);
    // dbt_project.yml says view (staging), the YAML says table.
    let so = config("model.shop.stg_orders");
    assert_eq!(so["materialized"], "table");
    let mut tags: Vec<String> = serde_json::from_value(so["tags"].clone()).expect("tags");
    tags.sort();
    assert_eq!(tags, ["orders", "shop", "staging"]);
    // only dbt_project.yml
    assert_eq!(config("model.shop.stg_customers")["materialized"], "view");
    assert_eq!(
        m["nodes"]["model.shop.customer_orders"]["schema"],
        "main_marts"
    );
}

/// `kiln init` scaffolds a project that compiles as it is.
#[test]
fn init_scaffolds_a_project_that_compiles() {
    let p = TestProject::empty();
    let run = p.kiln_bare(&["init", "demo_x"]).current_dir(p.root()).run();
    run.assert_success();
    assert_run_snapshot!(run);
    let demo = p.root().join("demo_x");
    assert!(demo.join("dbt_project.yml").is_file());
    assert!(demo.join("profiles.yml").is_file());
    let run = p.kiln_bare(&["compile"]).current_dir(&demo).run();
    run.assert_success();
    assert!(
        demo.join("target/compiled/demo_x/models/example/my_second_model.sql")
            .is_file()
    );
    // a second init refuses to overwrite it
    let again = p.kiln_bare(&["init", "demo_x"]).current_dir(p.root()).run();
    again.assert_code(2);
    assert_run_snapshot!("init_refuses_existing_folder", again);
}

/// profiles.yml is found as dbt finds it: --profiles-dir, then $DBT_PROFILES_DIR, then the
/// project folder, then ~/.dbt/. Each candidate here names a different schema.
#[test]
fn profiles_yml_discovery_order() {
    let profile = |schema: &str| {
        format!(
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: {schema}\n"
        )
    };
    let p = TestProject::fixture("shop").without("profiles.yml");
    let home_dbt = p.root().join("home/.dbt");
    let flag_dir = p.root().join("flag");
    let env_dir = p.root().join("env");
    for (dir, schema) in [
        (&home_dbt, "from_home"),
        (&flag_dir, "from_flag"),
        (&env_dir, "from_env"),
    ] {
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::write(dir.join("profiles.yml"), profile(schema)).expect("write");
    }
    p.write("profiles.yml", &profile("from_project"));
    let schema_of = |run: crate::support::Run| {
        run.assert_success();
        run.stdout
            .lines()
            .find(|l| l.starts_with("database:"))
            .unwrap_or_default()
            .to_string()
    };
    let debug = || p.kiln_bare(&["debug"]);
    assert!(
        schema_of(
            debug()
                .arg("--profiles-dir")
                .arg(&flag_dir)
                .env("DBT_PROFILES_DIR", &env_dir)
                .run()
        )
        .contains("schema: from_flag")
    );
    assert!(
        schema_of(debug().env("DBT_PROFILES_DIR", &env_dir).run()).contains("schema: from_env")
    );
    assert!(schema_of(debug().run()).contains("schema: from_project"));
    std::fs::remove_file(p.dir().join("profiles.yml")).expect("rm");
    assert!(schema_of(debug().run()).contains("schema: from_home"));
}

/// `env_var()` in profiles.yml, with `as_number` and with a default.
#[test]
fn env_var_in_profiles() {
    let p = TestProject::fixture("shop").file(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ env_var('KILN_TEST_DB', 'warehouse') }}.duckdb\"\n      schema: \"{{ env_var('KILN_TEST_SCHEMA') }}\"\n      threads: \"{{ env_var('KILN_TEST_THREADS') | as_number }}\"\n",
    );
    let run = p
        .kiln(&["debug"])
        .env("KILN_TEST_SCHEMA", "analytics")
        .env("KILN_TEST_THREADS", "3")
        .run();
    run.assert_success();
    assert_run_snapshot!(run);
    assert!(
        run.stdout
            .contains("database: warehouse  schema: analytics  threads: 3")
    );
}

/// A `DBT_ENV_SECRET_` variable may be used in profiles.yml, and its value is never printed.
#[test]
fn secret_in_profiles_is_allowed_and_never_printed() {
    let p = TestProject::fixture("shop").file(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n      aws_access_key_id: \"{{ env_var('DBT_ENV_SECRET_AWS_KEY_ID') }}\"\n      aws_secret_access_key: \"{{ env_var('DBT_ENV_SECRET_AWS_KEY') }}\"\n",
    );
    for cmd in ["debug", "parse", "compile"] {
        let run = p
            .kiln(&[cmd])
            .env("DBT_ENV_SECRET_AWS_KEY_ID", "hush-key-id")
            .env("DBT_ENV_SECRET_AWS_KEY", "hush-aws-key")
            .run();
        run.assert_success();
        for secret in ["hush-key-id", "hush-aws-key"] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "kiln {cmd} printed a secret:\n{}",
                run.snapshot()
            );
        }
        if cmd == "debug" {
            assert_run_snapshot!(run);
        }
    }
    let m = p.read("target/manifest.json");
    assert!(!m.contains("hush-"), "the manifest holds a secret");
}

/// `kiln debug` shows the DuckDB file and the database named after it; when the file name comes
/// from a secret, both are masked.
#[test]
fn debug_masks_a_secret_database_file() {
    let p = TestProject::fixture("shop").file(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ env_var('DBT_ENV_SECRET_DB_FILE') }}.duckdb\"\n      schema: main\n",
    );
    let run = p
        .kiln(&["debug"])
        .env("DBT_ENV_SECRET_DB_FILE", "hush-db-file")
        .run();
    run.assert_success();
    assert!(!run.stdout.contains("hush") && !run.stderr.contains("hush"));
    assert_run_snapshot!(run);
}

/// Redaction belongs to the output: a secret that reaches a template through the profile (here
/// `target.api_token`) is scrubbed by every sink that writes it, the compiled SQL file and the
/// manifest included, while the database still receives the real value.
#[test]
fn a_secret_reaching_compiled_sql_is_scrubbed_from_every_file() {
    let p = TestProject::fixture("shop")
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n      api_token: \"{{ env_var('DBT_ENV_SECRET_API_TOKEN') }}\"\n",
        )
        .file(
            "models/token_length.sql",
            "{{ config(materialized='table') }}\nselect length('{{ target.api_token }}') as n",
        );
    let run = p
        .kiln(&["run", "-s", "token_length"])
        .env("DBT_ENV_SECRET_API_TOKEN", "hush-api-token")
        .run();
    run.assert_success();
    assert!(!run.stdout.contains("hush") && !run.stderr.contains("hush"));
    for file in [
        "target/compiled/shop/models/token_length.sql",
        "target/run/shop/models/token_length.sql",
    ] {
        let sql = p.read(file);
        assert!(sql.contains("length('*****')"), "{file}: {sql}");
    }
    for file in ["target/manifest.json", "target/run_results.json"] {
        let text = p.read(file);
        assert!(
            text.contains("length('*****')") && !text.contains("hush"),
            "{file}"
        );
    }
    // The warehouse ran the real value: 14 characters, not the mask's 5.
    let out = p
        .kiln(&["show", "--inline", "select n from main.token_length"])
        .env("DBT_ENV_SECRET_API_TOKEN", "hush-api-token")
        .run();
    out.assert_success();
    assert!(out.stdout.contains("14"), "{}", out.stdout);
}

/// dbt hides the value of every `DBT_ENV_SECRET_` variable of the environment, whether or not a
/// template read it: what is printed does not depend on which template renders first.
#[test]
fn secrets_of_the_environment_are_hidden_even_when_no_template_reads_them() {
    let p = TestProject::fixture("shop").file(
        "macros/say.sql",
        "{% macro say() %}{{ log('the token is hush-unread-token', info=True) }}{% endmacro %}",
    );
    let run = p
        .kiln(&["run-operation", "say"])
        .env("DBT_ENV_SECRET_UNREAD", "hush-unread-token")
        .run();
    run.assert_success();
    assert!(run.stdout.contains("the token is *****"), "{}", run.stdout);
    assert!(!p.read("logs/dbt.log").contains("hush"));
}

/// A database error that quotes a secret of the environment, and a `--vars` key named like a
/// secret: neither value reaches the output, the log, or any artifact (dbt writes `*****` in
/// run_results' `message` and `args.vars`).
#[test]
fn secrets_in_errors_and_vars_reach_no_artifact() {
    let p = TestProject::minimal().file(
        "models/leak.sql",
        "select * from read_csv('hush-file-token.csv')\n",
    );
    let run = p
        .kiln(&[
            "run",
            "--vars",
            "{DBT_ENV_SECRET_VAR: hush-var-token, plain: 1}",
        ])
        .env("DBT_ENV_SECRET_FILE", "hush-file-token")
        .run();
    run.assert_code(1);
    let results = p.read("target/run_results.json");
    let written = [
        run.stdout.as_str(),
        run.stderr.as_str(),
        &results,
        &p.read("logs/dbt.log"),
        &p.read("target/manifest.json"),
    ]
    .concat();
    assert!(!written.contains("hush"), "{written}");
    let results: serde_json::Value = serde_json::from_str(&results).expect("run_results");
    assert_eq!(results["args"]["vars"]["DBT_ENV_SECRET_VAR"], "*****");
    assert_eq!(results["args"]["vars"]["plain"], 1);
    let message = results["results"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("*****.csv"), "{message}");
}

/// `where` and `limit` on generic tests (in `config:` or as top-level arguments, old style) are
/// configs, not arguments: they reach the test node's config, and `where` wraps the tested
/// relation in the compiled SQL (see the compile snapshots of compile_tests).
#[test]
fn test_configs_reach_the_manifest() {
    let p = TestProject::fixture("compile_tests");
    p.kiln(&["parse"]).run().assert_success();
    let m = manifest(&p);
    let test = |prefix: &str| {
        m["nodes"]
            .as_object()
            .expect("nodes")
            .iter()
            .find(|(id, _)| id.starts_with(prefix))
            .map(|(_, n)| n["config"].clone())
            .unwrap_or_else(|| panic!("no test {prefix}*"))
    };
    assert_eq!(test("test.compile_tests.unique_orders_id.")["limit"], 10);
    assert_eq!(
        test("test.compile_tests.accepted_values_customers_country__FR__JP.")["where"],
        "id > 0"
    );
    assert_eq!(
        test("test.compile_tests.at_least_orders_amount__1.")["where"],
        "status = 'open'"
    );
}

/// Versioned models: `dim_v1.sql`/`dim_v2.sql` become `dim.v1`/`dim.v2`; `ref('dim')` is the
/// latest version, `ref('dim', v=1)` the first; tests are generated per version.
#[test]
fn versioned_models_resolve_to_latest_and_test_each_version() {
    let p = TestProject::fixture("versioned_models");
    let run = p.kiln(&["compile", "-s", "use"]).run();
    run.assert_success();
    assert_eq!(
        p.read("target/compiled/ver/models/use.sql").trim(),
        r#"select * from "ver"."main"."dim_v2" union all select * from "ver"."main"."dim_v1""#
    );
    let ls = p.kiln(&["ls", "--output", "selector"]).run();
    ls.assert_success();
    for expected in [
        "ver.dim.v1",
        "ver.dim.v2",
        "ver.unique_dim_v1_id",
        "ver.unique_dim_v2_id",
    ] {
        assert!(
            ls.stdout.lines().any(|l| l == expected),
            "missing {expected} in:\n{}",
            ls.stdout
        );
    }
}

/// `compile --inline` and `show --inline` inject the CTEs of the ephemeral models the SQL refs
/// (and of those they ref), as for a model.
#[test]
fn inline_sql_gets_its_ephemeral_ctes() {
    let p = TestProject::minimal()
        .file(
            "models/eph.sql",
            "{{ config(materialized='ephemeral') }}\nselect 1 as id",
        )
        .file(
            "models/eph2.sql",
            "{{ config(materialized='ephemeral') }}\nselect id + 1 as id from {{ ref('eph') }}",
        );
    let sql = "select id * 10 as id from {{ ref('eph2') }}";
    let run = p.kiln(&["compile", "--inline", sql]).run();
    run.assert_success();
    assert!(
        run.stdout.contains(
            "with __dbt__cte__eph as (\nselect 1 as id\n), __dbt__cte__eph2 as (\nselect id + 1 as id from __dbt__cte__eph\n)\nselect id * 10 as id from __dbt__cte__eph2"
        ),
        "{}",
        run.stdout
    );
    let run = p.kiln(&["show", "--inline", sql, "--output", "json"]).run();
    run.assert_success();
    assert!(run.stdout.contains("\"id\": 20"), "{}", run.stdout);
}
