//! Against a real AWS account, opt-in: `KILN_ATHENA_LIVE=1` with `KILN_ATHENA_REGION`,
//! `KILN_ATHENA_BUCKET` (an S3 bucket kiln may write to) and optionally
//! `KILN_ATHENA_WORK_GROUP` (default `primary`); credentials from the standard AWS chain (the
//! environment, `AWS_PROFILE`, SSO, instance roles). Skipped, saying why, without
//! `KILN_ATHENA_LIVE=1`. This is where Athena's own SQL semantics are checked (moto runs no
//! SQL): every materialization built twice, its data tests passing, the row counts read back.
//!
//! Each test writes only under `s3://<bucket>/kiln-live/<id>/` and into the Glue database
//! `kiln_live_<id>`, and prints both so they can be removed afterwards.

use super::support::TestProject;

struct Live {
    project: TestProject,
    env: Vec<(String, String)>,
}

/// The live settings, or why the test is skipped.
fn live(test: &str) -> Option<Live> {
    if std::env::var("KILN_ATHENA_LIVE").as_deref() != Ok("1") {
        eprintln!(
            "{test}: skipped: runs against a real AWS account only with KILN_ATHENA_LIVE=1 \
             (and KILN_ATHENA_REGION, KILN_ATHENA_BUCKET; README, \"Testing against a real account\")"
        );
        return None;
    }
    let need = |k: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("KILN_ATHENA_LIVE=1 needs {k}"))
    };
    let region = need("KILN_ATHENA_REGION");
    let bucket = need("KILN_ATHENA_BUCKET");
    let work_group =
        std::env::var("KILN_ATHENA_WORK_GROUP").unwrap_or_else(|_| "primary".to_string());
    let id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
    );
    let schema = format!("kiln_live_{id}");
    eprintln!(
        "{test}: writes s3://{bucket}/kiln-live/{id}/ and the Glue database {schema}; remove \
         them afterwards"
    );
    let project = TestProject::minimal().file(
        "profiles.yml",
        &format!(
            "shop:\n  target: live\n  outputs:\n    live:\n      type: athena\n      \
             region_name: {region}\n      s3_staging_dir: s3://{bucket}/kiln-live/{id}/staging/\n      \
             s3_data_dir: s3://{bucket}/kiln-live/{id}/data/\n      schema: {schema}\n      \
             work_group: {work_group}\n      threads: 4\n"
        ),
    );
    // the standard AWS chain reads these; the test's HOME is a temp folder, so ~/.aws comes
    // from the real one when there is one
    let mut env = vec![];
    for (k, v) in std::env::vars() {
        if k.starts_with("AWS_") || k == "HTTPS_PROXY" || k == "NO_PROXY" {
            env.push((k, v));
        }
    }
    if let Some(home) = std::env::var_os("HOME")
        && std::env::var_os("AWS_CONFIG_FILE").is_none()
    {
        let home = std::path::PathBuf::from(home);
        env.push((
            "AWS_CONFIG_FILE".into(),
            home.join(".aws/config").display().to_string(),
        ));
        env.push((
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            home.join(".aws/credentials").display().to_string(),
        ));
    }
    Some(Live { project, env })
}

impl Live {
    fn kiln(&self, args: &[&str]) -> super::support::Run {
        let mut k = self.project.kiln(args);
        for (key, value) in &self.env {
            k = k.env(key, value);
        }
        k.run()
    }
}

const MODELS: &[(&str, &str)] = &[
    (
        "models/orders.sql",
        "{{ config(materialized='table') }}\nselect * from (values (1, 'placed', date '2024-01-01'), (2, 'shipped', date '2024-01-02')) as t (id, status, day)",
    ),
    (
        "models/v_orders.sql",
        "{{ config(materialized='view') }}\nselect id, status from {{ ref('orders') }}",
    ),
    (
        "models/daily.sql",
        "{{ config(materialized='table', partitioned_by=['dt']) }}\nselect id, cast(day as varchar) as dt from {{ ref('orders') }}",
    ),
    (
        "models/ice_orders.sql",
        "{{ config(materialized='table', table_type='iceberg') }}\nselect id, status from {{ ref('orders') }}",
    ),
    (
        "models/events.sql",
        "{{ config(materialized='incremental', incremental_strategy='append') }}\nselect id from {{ ref('orders') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}",
    ),
    (
        "models/customers.sql",
        "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', table_type='iceberg') }}\nselect id, status from {{ ref('orders') }}",
    ),
    (
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\n      - name: status\n        data_tests:\n          - accepted_values:\n              values: ['placed', 'shipped']\n  - name: customers\n    columns:\n      - name: id\n        data_tests: [unique]\n",
    ),
    ("seeds/plans.csv", "id,name,price\n1,basic,9.5\n2,pro,99\n"),
];

#[test]
fn live_every_materialization_builds_twice_and_its_tests_pass() {
    let Some(mut l) = live("live_every_materialization_builds_twice_and_its_tests_pass") else {
        return;
    };
    for (path, text) in MODELS {
        l.project = l.project.file(path, text);
    }
    l.kiln(&["debug"]).assert_success();
    let first = l.kiln(&["build"]);
    first.assert_success();
    let second = l.kiln(&["build"]);
    second.assert_success();
    for (model, rows) in [
        ("orders", 2),
        ("daily", 2),
        ("ice_orders", 2),
        ("events", 2),
        ("customers", 2),
        ("plans", 2),
    ] {
        let show = l.kiln(&[
            "show",
            "--inline",
            &format!("select count(*) as n from {{{{ ref('{model}') }}}}"),
        ]);
        show.assert_success();
        assert!(
            show.stdout.contains(&format!("| {rows} "))
                || show.stdout.contains(&format!(" {rows}\n")),
            "{model}: {}",
            show.stdout
        );
    }
}
