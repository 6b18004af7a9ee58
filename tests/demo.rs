//! The demo warehouse at the repository root, end to end on a real DuckDB file: a copy of its
//! project files is built twice, its incremental event model is fed late and redelivered
//! events, its selections are checked against what dbt-core lists for them, and what a demanding
//! analyst reads is held to account: raw exports as sources with freshness SLAs (the same
//! results as `dbt source freshness`), money in DECIMAL with board reports that agree to the
//! cent, NULL for no data, a PII key that never reaches a file, and the experiment summary's
//! statistics.
//!
//! The expected `dbt ls` outputs in `tests/demo/` were recorded with dbt-core 1.11.16 and
//! dbt-duckdb 1.11.1 on a copy of the demo (the test never needs dbt):
//!
//! ```text
//! dbt ls --select aggregate+ --profiles-dir . -q      > tests/demo/dbt_ls_aggregate_plus.txt
//! dbt ls --select tag:engagement --profiles-dir . -q  > tests/demo/dbt_ls_tag_engagement.txt
//! ```
//!
//! Re-record them when the demo's nodes change (the test says which lines differ). dbt's source
//! freshness results come from `tests/dbt_recorded/source_freshness.txt` (recorded by
//! `tests/dbt_recorded/record.sh`).

#[path = "cli/support.rs"]
mod support;

#[path = "demo/flags.rs"]
mod flags;

#[path = "demo/catalog.rs"]
mod catalog;

#[path = "cli/openlineage_schema.rs"]
mod openlineage_schema;

#[path = "cli/notice_servers.rs"]
mod notice_servers;

use std::collections::BTreeSet;
use std::path::Path;
use support::{Run, TestProject, assert_quiet_like_dbt};

/// A copy of the demo project in a temp folder.
fn demo() -> TestProject {
    TestProject::demo()
}

/// Runs `kiln` on the demo and asserts it exited 0.
fn kiln_ok(p: &TestProject, args: &[&str]) -> Run {
    let run = p.kiln(args).run();
    run.assert_success();
    run
}

/// The summary line of a run: `Done. PASS=... TOTAL=...`.
fn done_line(run: &Run) -> String {
    run.stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("Done."))
        .unwrap_or_else(|| panic!("no Done. line\n{}", run.snapshot()))
        .to_string()
}

/// A recording of dbt-core 1.11 on the demo (`tests/dbt_recorded/<scenario>.txt`, made by
/// `record.sh`): the run's `Done.` line, and `status unique_id` for every node it visited.
fn dbt_recorded(scenario: &str) -> (String, BTreeSet<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/dbt_recorded")
        .join(format!("{scenario}.txt"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let done = lines.next().unwrap_or_default().to_string();
    (done, lines.map(str::to_string).collect())
}

/// `status unique_id` for every node of kiln's last run, as the recordings list them.
fn status_lines(p: &TestProject) -> BTreeSet<String> {
    statuses(p)
        .into_iter()
        .map(|(id, status)| format!("{status} {id}"))
        .collect()
}

/// Asserts kiln's last run visited the nodes dbt did, each ending as it did in dbt, and summed
/// up the same way.
fn assert_same_as_dbt(p: &TestProject, run: &Run, scenario: &str) {
    let (done, expected) = dbt_recorded(scenario);
    let got = status_lines(p);
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{scenario}: kiln differs from dbt-core\nonly in dbt: {missing:#?}\nonly in kiln: {extra:#?}"
    );
    assert_eq!(done_line(run), done, "{scenario}\n{}", run.snapshot());
}

/// Asserts the last run's run_results.json (exposures' `no-op` and `skipped` results included)
/// matches dbt's published v6 schema.
fn assert_run_results_valid(p: &TestProject) {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/run-results-v6.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("the v6 schema"))
            .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("dbt's schema compiles");
    let rr: serde_json::Value =
        serde_json::from_str(&p.read("target/kiln/run_results.json")).expect("run_results.json");
    let problems: Vec<String> = validator
        .iter_errors(&rr)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Breaks `model` as `record.sh` does: its SQL reads a table that does not exist.
fn break_model(p: &TestProject, model: &str) {
    let file = walk(&p.dir().join("models"))
        .into_iter()
        .find(|f| f.file_name().is_some_and(|n| *n == *format!("{model}.sql")))
        .unwrap_or_else(|| panic!("no models/**/{model}.sql"));
    std::fs::write(file, "select * from table_that_does_not_exist\n").expect("break the model");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A model broken in a copy of the demo: `build` errors on it and skips exactly the nodes dbt-core
/// skips (what is downstream of it, and the tests of what is downstream of all a test's
/// parents), runs everything else, visits the exposures as dbt does; `retry` then re-runs
/// exactly what dbt's retry re-runs.
fn broken_model_matches_dbt(model: &str) {
    let p = demo();
    break_model(&p, model);
    let build = p.kiln(&["build"]).run();
    build.assert_code(1);
    assert_same_as_dbt(&p, &build, &format!("build_broken_{model}"));
    assert_run_results_valid(&p);
    let retry = p.kiln(&["retry"]).run();
    retry.assert_code(1);
    assert_same_as_dbt(&p, &retry, &format!("retry_broken_{model}"));
}

#[test]
fn a_broken_leaf_model_skips_and_retries_what_dbt_does() {
    broken_model_matches_dbt("experiment_daily");
}

#[test]
fn a_broken_mid_graph_model_skips_and_retries_what_dbt_does() {
    broken_model_matches_dbt("int_costs_monthly");
}

/// `unique_id status` per node of the last run (target/kiln/run_results.json), sorted.
fn statuses(p: &TestProject) -> Vec<(String, String)> {
    let rr: serde_json::Value =
        serde_json::from_str(&p.read("target/kiln/run_results.json")).expect("run_results.json");
    let mut out: Vec<(String, String)> = rr["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["unique_id"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Runs `sql` on the demo's `demo.duckdb` and returns each row as text cells (DuckDB casts every
/// column to varchar; NULL as "NULL"). The connection is closed before returning, so kiln can
/// open the file.
fn query(p: &TestProject, sql: &str) -> Vec<Vec<String>> {
    let conn = duckdb::Connection::open(p.dir().join("demo.duckdb")).expect("open demo.duckdb");
    let text_sql = format!("select cast(columns(*) as varchar) from ({sql}) as q");
    let mut stmt = conn
        .prepare(&text_sql)
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"));
    let mut rows = stmt.query([]).expect("query");
    let mut out = vec![];
    while let Some(row) = rows.next().expect("next row") {
        let n = row.as_ref().column_count();
        let cells = (0..n)
            .map(|i| {
                row.get::<_, Option<String>>(i)
                    .expect("a varchar cell")
                    .unwrap_or_else(|| "NULL".into())
            })
            .collect();
        out.push(cells);
    }
    out
}

/// One value.
fn scalar(p: &TestProject, sql: &str) -> String {
    let rows = query(p, sql);
    assert_eq!(rows.len(), 1, "`{sql}` returned {rows:?}");
    rows[0][0].clone()
}

/// The recorded `dbt ls` output for a selection.
fn dbt_ls(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/demo")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// The names of the nodes dbt lists that `dbt build` visits (not sources): the last part of each
/// `project.folder.name` line.
fn buildable_names(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|l| !l.starts_with("source:"))
        .map(|l| l.rsplit('.').next().unwrap_or_default().to_string())
        .collect()
}

/// The names of the nodes in the last run: `model.kiln_demo.name`, `test.kiln_demo.name.hash`,
/// `unit_test.kiln_demo.model.name`.
fn run_names(p: &TestProject) -> BTreeSet<String> {
    statuses(p)
        .into_iter()
        .map(|(id, _)| {
            let part = if id.starts_with("unit_test.") { 3 } else { 2 };
            id.split('.').nth(part).unwrap_or_default().to_string()
        })
        .collect()
}

#[test]
fn builds_twice_from_a_fresh_copy_and_every_test_passes() {
    let p = demo();

    // Every node passes, except the warn-severity runbook check that lists the accounts with a
    // skipped subscription step (three, on purpose); the exposures are no-ops, as in dbt-core.
    let first = kiln_ok(&p, &["build"]);
    assert_same_as_dbt(&p, &first, "build_full");
    let not_passing: Vec<_> = statuses(&p)
        .into_iter()
        .filter(|(_, status)| !["success", "pass", "no-op"].contains(&status.as_str()))
        .collect();
    assert_eq!(
        not_passing,
        [(
            "test.kiln_demo.assert_no_skipped_required_status_steps".to_string(),
            "warn".to_string()
        )],
        "only the skipped-step runbook check may warn"
    );
    assert!(
        first
            .stdout
            .contains("Got 3 results, configured to warn if != 0"),
        "{}",
        first.snapshot()
    );
    let events = scalar(&p, "select count(*) from main.stg_product__click_events");
    let snapshot_rows = scalar(
        &p,
        "select (select count(*) from main.snap_account_plans) || ' ' || (select count(*) from main.snap_subscriptions)",
    );

    // The second run finds every table in place: the incremental model adds nothing it already
    // has, and the snapshots record no new versions (nothing changed in the sources).
    // (as dbt does: everything built again, none of it reused)
    let second = kiln_ok(&p, &["build", "--no-reuse"]);
    assert_same_as_dbt(&p, &second, "build_full");
    assert_eq!(
        scalar(&p, "select count(*) from main.stg_product__click_events"),
        events
    );
    assert_eq!(
        scalar(
            &p,
            "select (select count(*) from main.snap_account_plans) || ' ' || (select count(*) from main.snap_subscriptions)",
        ),
        snapshot_rows
    );
    // 3,544 rows in the event files, 88 of them redeliveries of an event id already sent
    // (examples/gen_demo_events.rs prints both).
    assert_eq!(events, "3456");
    assert_eq!(
        scalar(
            &p,
            "select count(*) from main.snap_account_plans where dbt_valid_to is null"
        ),
        scalar(
            &p,
            "select count(distinct account_id) from main.snap_account_plans"
        ),
        "one current version per account"
    );

    // `build --select aggregate+` and `--select tag:engagement` execute exactly the nodes dbt
    // lists for those selections, and visit the exposures among them as no-ops.
    for (selector, file) in [
        ("aggregate+", "dbt_ls_aggregate_plus.txt"),
        ("tag:engagement", "dbt_ls_tag_engagement.txt"),
    ] {
        let run = kiln_ok(&p, &["build", "--no-reuse", "--select", selector]);
        let listed = dbt_ls(file);
        let expected = buildable_names(&listed);
        assert_eq!(run_names(&p), expected, "build --select {selector}");
        let exposures = listed.iter().filter(|l| l.starts_with("exposure:")).count();
        assert_eq!(
            done_line(&run),
            format!(
                "Done. PASS={} WARN=0 ERROR=0 SKIP=0 NO-OP={exposures} TOTAL={}",
                expected.len() - exposures,
                expected.len()
            ),
            "{}",
            run.snapshot()
        );
    }
}

#[test]
fn late_events_land_on_the_day_they_happened_and_redeliveries_never_count_twice() {
    let p = demo();
    kiln_ok(&p, &["build"]);

    let events_before = scalar(&p, "select count(*) from main.stg_product__click_events");
    let engagement_sql = "select account_id, activity_date, active_users, sessions, events, feature_uses, hours_on_platform \
         from main.int_engagement_by_account_daily \
         where (account_id, activity_date) in (('ACC-0003', date '2024-06-12'), ('ACC-0012', date '2024-01-02'), ('ACC-0017', date '2024-06-30')) \
         order by 1, 2";
    let engagement_before = query(&p, engagement_sql);
    let day = |rows: &[Vec<String>], account: &str, date: &str| -> Option<Vec<String>> {
        rows.iter()
            .find(|r| r[0] == account && r[1] == date)
            .map(|r| r[2..].to_vec())
    };
    let late_day_before =
        day(&engagement_before, "ACC-0003", "2024-06-12").unwrap_or_else(|| vec!["0".into(); 5]);
    let as_f64 = |s: &str| s.parse::<f64>().expect("number");

    // A new delivery from the queue, a week after the last one (2024-07-02):
    // - a session usr_0004 had on 2024-06-12, uploaded 26 days late, one of its events twice;
    // - a redelivery of evt_000001, first received on 2024-01-02 (long before the lookback window);
    // - a redelivery of evt_003456, first received on 2024-06-30 (inside the lookback window).
    p.write(
        "data/product/click_events/received_2024-W28.csv",
        "event_id,user_id,account_id,session_id,event_type,feature,occurred_at,received_at\n\
         evt_late_01,usr_0004,ACC-0003,ses_late_01,session_start,,2024-06-12 14:00:00,2024-07-08 09:00:00\n\
         evt_late_02,usr_0004,ACC-0003,ses_late_01,feature_used,Exports,2024-06-12 14:30:00,2024-07-08 09:00:01\n\
         evt_late_02,usr_0004,ACC-0003,ses_late_01,feature_used,Exports,2024-06-12 14:30:00,2024-07-08 09:05:00\n\
         evt_000001,usr_0026,ACC-0012,ses_9d8cd012,session_start,,2024-01-02 15:29:45,2024-07-08 09:10:00\n\
         evt_003456,usr_0038,ACC-0017,ses_24dbeb9d,session_end,,2024-06-30 18:35:13,2024-07-08 09:15:00\n",
    );
    let run = kiln_ok(&p, &["build", "--select", "stg_product__click_events+"]);
    assert!(run.stdout.contains("ERROR=0 SKIP=0"), "{}", run.snapshot());

    // Two new events, no new row for the redeliveries; every event id once.
    assert_eq!(
        scalar(&p, "select count(*) from main.stg_product__click_events"),
        (events_before.parse::<u64>().expect("count") + 2).to_string()
    );
    assert_eq!(
        scalar(
            &p,
            "select count(*) - count(distinct event_id) from main.stg_product__click_events"
        ),
        "0"
    );
    // The late events are on the day they happened; each kept copy is the first received.
    assert_eq!(
        query(
            &p,
            "select event_id, event_date, received_at, feature_name, arrival_delay_minutes \
             from main.stg_product__click_events \
             where event_id in ('evt_late_01', 'evt_late_02', 'evt_000001', 'evt_003456') order by 1",
        ),
        [
            [
                "evt_000001",
                "2024-01-02",
                "2024-01-02 15:30:37",
                "NULL",
                "1"
            ],
            [
                "evt_003456",
                "2024-06-30",
                "2024-06-30 18:35:52",
                "NULL",
                "0"
            ],
            [
                "evt_late_01",
                "2024-06-12",
                "2024-07-08 09:00:00",
                "NULL",
                "37140"
            ],
            [
                "evt_late_02",
                "2024-06-12",
                "2024-07-08 09:00:01",
                "exports",
                "37110"
            ],
        ]
    );

    // Daily engagement: the late session adds to 2024-06-12 (one session, two events, one
    // feature use, half an hour); the days of the redelivered events do not change.
    let engagement_after = query(&p, engagement_sql);
    assert_eq!(
        day(&engagement_after, "ACC-0012", "2024-01-02"),
        day(&engagement_before, "ACC-0012", "2024-01-02")
    );
    assert_eq!(
        day(&engagement_after, "ACC-0017", "2024-06-30"),
        day(&engagement_before, "ACC-0017", "2024-06-30")
    );
    let late_day = day(&engagement_after, "ACC-0003", "2024-06-12").expect("2024-06-12 row");
    let gained: Vec<f64> = late_day
        .iter()
        .zip(&late_day_before)
        .map(|(after, before)| as_f64(after) - as_f64(before))
        .collect();
    // active_users, sessions, events, feature_uses, hours_on_platform
    assert_eq!(
        gained[1..4],
        [1.0, 2.0, 1.0],
        "{late_day_before:?} -> {late_day:?}"
    );
    assert!(
        (gained[4] - 0.5).abs() < 1e-9,
        "{late_day_before:?} -> {late_day:?}"
    );
    assert_eq!(
        query(
            &p,
            "select sessions, events, feature_uses, hours_on_platform \
             from main.int_engagement_by_user_daily where user_id = 'usr_0004' and activity_date = date '2024-06-12'"
        ),
        [["1", "2", "1", "0.5"]]
    );
    // No event counted twice anywhere downstream: the daily and weekly totals are the table's.
    assert_eq!(
        scalar(
            &p,
            "select (select sum(events) from main.int_engagement_by_account_daily) || ' ' || \
                    (select sum(events) from main.engagement) || ' ' || \
                    (select count(*) from main.stg_product__click_events)"
        ),
        format!(
            "{n} {n} {n}",
            n = events_before.parse::<u64>().expect("count") + 2
        )
    );

    // The incremental table is the one a full rebuild from all the files gives.
    {
        let conn = duckdb::Connection::open(p.dir().join("demo.duckdb")).expect("open");
        conn.execute_batch(
            "create table main.events_incremental as select * from main.stg_product__click_events",
        )
        .expect("copy");
    }
    kiln_ok(
        &p,
        &[
            "run",
            "--select",
            "stg_product__click_events",
            "--full-refresh",
        ],
    );
    assert_eq!(
        scalar(
            &p,
            "select count(*) from ( \
               (select * from main.events_incremental except all select * from main.stg_product__click_events) \
               union all \
               (select * from main.stg_product__click_events except all select * from main.events_incremental))"
        ),
        "0"
    );
}

#[test]
fn ls_lists_what_dbt_lists_for_the_readme_selections() {
    let p = demo();
    for (selector, file) in [
        ("aggregate+", "dbt_ls_aggregate_plus.txt"),
        ("tag:engagement", "dbt_ls_tag_engagement.txt"),
    ] {
        let run = kiln_ok(&p, &["ls", "--select", selector]);
        let listed: Vec<String> = run.stdout.lines().map(str::to_string).collect();
        let expected = dbt_ls(file);
        let missing: Vec<_> = expected.iter().filter(|l| !listed.contains(l)).collect();
        let extra: Vec<_> = listed.iter().filter(|l| !expected.contains(l)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "kiln ls --select {selector}: missing {missing:?}, extra {extra:?}"
        );
        assert_eq!(
            listed, expected,
            "kiln ls --select {selector}: same lines, other order"
        );
    }
}

/// The PII key of the demo's tests: what a production secret store would hand over.
const PII_KEY: &str = "Zq9-kiln-demo-test-key-7f3c";

#[test]
fn pii_is_hashed_with_hmac_sha256_keyed_by_the_secret_and_deleted_contacts_are_dropped() {
    let p = demo();
    // Cautious: not the relationships tests of other models that point at the CRM accounts.
    kiln_ok(
        &p,
        &[
            "build",
            "--select",
            "+stg_crm__contacts +stg_crm__accounts",
            "--indirect-selection",
            "cautious",
        ],
    );

    // Contacts who asked to be deleted (on any version of their record) are gone.
    let flagged = format!(
        "select distinct trim(contact_id) from read_csv('{}', all_varchar = true) \
         where lower(trim(gdpr_deletion_requested)) in ('true', 't', 'yes', 'y', '1')",
        p.dir().join("data/crm/contacts.csv").display()
    );
    assert_ne!(
        scalar(&p, &format!("select count(*) from ({flagged})")),
        "0"
    );
    assert_eq!(
        scalar(
            &p,
            &format!("select count(*) from main.stg_crm__contacts where contact_id in ({flagged})")
        ),
        "0"
    );
    // No clear-text PII left: every hash is 64 hex digits.
    assert_eq!(
        scalar(
            &p,
            "select count(*) from main.stg_crm__contacts \
             where not regexp_full_match(email_hash, '[0-9a-f]{64}') \
                or not regexp_full_match(coalesce(phone_hash, repeat('0', 64)), '[0-9a-f]{64}')"
        ),
        "0"
    );

    // CON-00002's address is "emma.johnson@northwind.com " in the CRM. Its hash is
    // HMAC-SHA-256(key, "emma.johnson@northwind.com") (Python: hmac.new(key, msg, sha256)) with the
    // documented development key when DBT_ENV_SECRET_KILN_PII_KEY is unset on the dev target, and
    // with the variable's value when set; never the plain sha256 (80b20024...), which anyone could
    // recompute from a guessed address.
    let email_hash = "select email_hash from main.stg_crm__contacts where contact_id = 'CON-00002'";
    assert_eq!(
        scalar(&p, email_hash),
        "1768f770d2922abc110bd76c8f9a09724c7e9f4159e3b8b1c6e4986db7145574"
    );
    p.kiln(&["run", "--select", "stg_crm__contacts"])
        .env("DBT_ENV_SECRET_KILN_PII_KEY", "prod-secret")
        .run()
        .assert_success();
    assert_eq!(
        scalar(&p, email_hash),
        "b79f390ba3bce917b1adfeadc574e282396b67ead9895d6c60d70cd334066980"
    );
}

/// `--quiet` still prints errors, as dbt-core 1.11 does on the demo with `experiment_daily`
/// broken (`tests/dbt_recorded/quiet_broken_experiment_daily.txt`): the ERROR line,
/// `Failure in model ...` and the database error, and nothing else; exit code 1.
/// The demo's failure notices are off until their variables are set; with them set to an SMTP
/// server and a webhook on 127.0.0.1, a forced failure sends one e-mail and one post listing
/// the failed model with its owner team and on-call channel from the demo's runbook `meta`, and
/// the SMTP password reaches the server's AUTH and nothing else.
#[test]
fn a_forced_failure_notifies_the_owners_from_meta() {
    let p = demo();
    p.write(
        "models/aggregate/experiment_daily.sql",
        "select * from table_that_does_not_exist\n",
    );
    // without the variables: nothing is sent, nothing is said
    let run = p.kiln(&["build", "-s", "experiment_daily"]).run();
    run.assert_code(1);
    assert!(!run.stdout.contains("notice"), "{}", run.stdout);

    let (port, mails) = notice_servers::smtp_server(None);
    let (url, posts) = notice_servers::http_server();
    let password = "demo-smtp-password-4242";
    let run = p
        .kiln(&["build", "-s", "experiment_daily"])
        .env("KILN_NOTICE_EMAIL_TO", "data-oncall@example.com")
        .env("KILN_NOTICE_SMTP_HOST", "127.0.0.1")
        .env("KILN_NOTICE_SMTP_PORT", port.to_string())
        .env("KILN_NOTICE_SMTP_SECURITY", "none")
        .env("KILN_NOTICE_SMTP_USER", "kiln")
        .env("DBT_ENV_SECRET_KILN_SMTP_PASSWORD", password)
        .env("DBT_ENV_SECRET_KILN_NOTICE_WEBHOOK", &url)
        .run();
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("Sent the failure notice: e-mail to data-oncall@example.com"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let mails = mails.lock().expect("lock").clone();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["data-oncall@example.com"]);
    assert_eq!(mails[0].auth, Some(("kiln".into(), password.into())));
    let data = &mails[0].data;
    for expected in [
        "Subject: [kiln] build failed in kiln_demo (target dev): 1 failure",
        "1. model experiment_daily (error)",
        "file: models/aggregate/experiment_daily.sql",
        "owner: experimentation-platform, on call: #oncall-experimentation",
        "table_that_does_not_exist",
        "run_results.json",
    ] {
        assert!(data.contains(expected), "missing {expected:?} in:\n{data}");
    }
    let posts = posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&posts[0]).expect("JSON");
    assert!(
        body["text"].as_str().unwrap_or_default().contains(
            "• model experiment_daily (error), owner: experimentation-platform, on call: #oncall-experimentation"
        ),
        "{body}"
    );
    for text in [data.as_str(), posts[0].as_str(), &run.stdout, &run.stderr] {
        assert!(!text.contains(password) && !text.contains(&url), "{text}");
    }
}

#[test]
fn quiet_prints_the_failure_as_dbt_does() {
    let p = demo();
    p.write(
        "models/aggregate/experiment_daily.sql",
        "select * from table_that_does_not_exist\n",
    );
    let dbt = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/dbt_recorded/quiet_broken_experiment_daily.txt"),
    )
    .expect("the recording");
    for format in ["text", "json"] {
        let run = p
            .kiln(&[
                "build",
                "-q",
                "-s",
                "experiment_daily",
                "--log-format",
                format,
            ])
            .run();
        run.assert_code(1);
        if format == "text" {
            assert_quiet_like_dbt(&run.stdout, &dbt);
            continue;
        }
        let names: Vec<String> = run
            .stdout
            .lines()
            .map(|l| {
                let e: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
                assert_eq!(e["info"]["level"], "error", "{l}");
                e["info"]["name"].as_str().unwrap_or_default().to_string()
            })
            .collect();
        assert_eq!(
            names,
            ["LogModelResult", "RunResultFailure", "RunResultError"],
            "{}",
            run.stdout
        );
    }
}

/// Every file under `dir` (recursively) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read file");
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

#[test]
fn the_pii_key_never_reaches_sql_artifacts_logs_or_view_definitions() {
    let p = demo();
    let build = p
        .kiln(&["build"])
        .env("DBT_ENV_SECRET_KILN_PII_KEY", PII_KEY)
        .run();
    build.assert_success();
    // The key was used: CON-00002's hash is HMAC-SHA-256 under it (Python's hmac module).
    assert_eq!(
        scalar(
            &p,
            "select email_hash from main.stg_crm__contacts where contact_id = 'CON-00002'"
        ),
        "ddcc13db3e52c6dd9e696918d533af0eb4515c174c0731f34fd202ced3ef6ce4"
    );
    // Not in any file of the project after the build: manifest.json, run_results.json, compiled
    // and run SQL, logs, the database file itself.
    assert!(p.exists("target/kiln/manifest.json"));
    assert_eq!(
        files_containing(&p.dir(), PII_KEY.as_bytes()),
        Vec::<String>::new()
    );
    // Not in what the run printed, nor in a view definition of the warehouse.
    assert!(
        !build.stdout.contains(PII_KEY) && !build.stderr.contains(PII_KEY),
        "{}",
        build.snapshot()
    );
    assert_eq!(
        scalar(
            &p,
            &format!("select count(*) from duckdb_views() where sql like '%{PII_KEY}%'")
        ),
        "0"
    );
    // The hashing models are tables: a view would hash at query time, without the key.
    assert_eq!(
        query(
            &p,
            "select table_name, table_type from information_schema.tables \
             where table_name in ('stg_crm__contacts', 'stg_marketing__leads', 'stg_product__users') order by 1"
        ),
        [
            ["stg_crm__contacts", "BASE TABLE"],
            ["stg_marketing__leads", "BASE TABLE"],
            ["stg_product__users", "BASE TABLE"],
        ]
    );
}

#[test]
fn a_production_target_without_the_pii_key_stops_before_building_anything() {
    let p = demo();
    let run = p.kiln(&["build", "--target", "prod"]).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("DBT_ENV_SECRET_KILN_PII_KEY") && run.stderr.contains("not set"),
        "{}",
        run.snapshot()
    );
    assert!(!p.exists("prod.duckdb"), "nothing may be built");

    // A connection that has no key (a profile without the setting) fails the hashing models with
    // a message that says what to set, instead of hashing with a NULL key.
    let profiles = p.read("profiles.yml");
    p.write(
        "profiles.yml",
        &profiles.replace(
            "        variable pii_key: \"{{ env_var('DBT_ENV_SECRET_KILN_PII_KEY', 'dev-only-not-secret') }}\"\n",
            "        threads: 4\n",
        ),
    );
    let run = p.kiln(&["run", "--select", "+stg_crm__contacts"]).run();
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("hash_pii: this connection has no PII key")
            && run.stdout.contains("DBT_ENV_SECRET_KILN_PII_KEY"),
        "{}",
        run.snapshot()
    );
}

#[test]
fn raw_exports_are_sources_with_freshness_slas_and_seeds_are_reference_data() {
    let p = demo();
    kiln_ok(&p, &["parse"]);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/kiln/manifest.json")).expect("manifest.json");
    let mut seeds: Vec<&str> = manifest["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .filter(|n| n["resource_type"] == "seed")
        .map(|n| n["name"].as_str().unwrap_or_default())
        .collect();
    seeds.sort_unstable();
    assert_eq!(seeds, ["billing_plans", "country_aliases", "experiments"]);

    // Every operational export is a source read from its file, with the freshness thresholds of
    // its pipeline's runbook (source-level config inherited, table-level config overriding).
    let sources = manifest["sources"].as_object().expect("sources");
    let criteria = |id: &str| -> (String, String) {
        let f = &sources[id]["freshness"];
        let c = |k: &str| {
            format!(
                "{} {}",
                f[k]["count"],
                f[k]["period"].as_str().unwrap_or("?")
            )
        };
        (c("warn_after"), c("error_after"))
    };
    // The 14 exports, and the PII key table Athena reads (models/staging/security).
    assert_eq!(
        sources.len(),
        15,
        "{:?}",
        sources.keys().collect::<Vec<_>>()
    );
    for (id, warn, error) in [
        ("source.kiln_demo.billing.subscriptions", "3 day", "5 day"),
        ("source.kiln_demo.billing.invoice_lines", "32 day", "35 day"),
        ("source.kiln_demo.crm.accounts", "24 hour", "31 hour"),
        ("source.kiln_demo.finance.salaries", "64 day", "67 day"),
        (
            "source.kiln_demo.experiments.assignments",
            "24 hour",
            "30 hour",
        ),
    ] {
        assert_eq!(criteria(id), (warn.to_string(), error.to_string()), "{id}");
    }

    // `source freshness` checks all 13 sources that have a loaded_at_field (the product users
    // have none); the committed data is from 2024, so every one is stale: exit 1.
    let run = p.kiln(&["source", "freshness"]).run();
    run.assert_code(1);
    let results: serde_json::Value =
        serde_json::from_str(&p.read("target/kiln/sources.json")).expect("sources.json");
    let mut checked: Vec<(String, String, String)> = results["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["unique_id"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
                r["max_loaded_at"]
                    .as_str()
                    .unwrap_or_default()
                    .get(..10)
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    checked.sort();
    assert_eq!(checked.len(), 13, "{checked:?}");
    // The same sources, statuses and thresholds as `dbt source freshness` on the demo
    // (tests/dbt_recorded/source_freshness.txt: `status unique_id warn_after error_after`).
    let after = |c: &serde_json::Value| match c["count"].as_u64() {
        Some(n) => format!("{n}{}", &c["period"].as_str().unwrap_or("?")[..1]),
        None => "-".to_string(),
    };
    let kiln_lines: Vec<String> = {
        let mut lines: Vec<String> = results["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    r["status"].as_str().unwrap_or_default(),
                    r["unique_id"].as_str().unwrap_or_default(),
                    after(&r["criteria"]["warn_after"]),
                    after(&r["criteria"]["error_after"])
                )
            })
            .collect();
        lines.sort();
        lines
    };
    let recorded = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dbt_recorded/source_freshness.txt"),
    )
    .expect("tests/dbt_recorded/source_freshness.txt");
    let mut dbt_lines: Vec<String> = recorded.lines().map(str::to_string).collect();
    dbt_lines.sort();
    assert_eq!(kiln_lines, dbt_lines);
    assert!(
        checked.iter().all(|(_, status, _)| status == "error"),
        "{checked:?}"
    );
    assert!(
        checked.contains(&(
            "source.kiln_demo.billing.invoice_lines".into(),
            "error".into(),
            "2024-06-01".into()
        )),
        "{checked:?}"
    );
}

#[test]
fn money_is_decimal_end_to_end_and_the_board_reports_agree_to_the_cent() {
    let p = demo();
    kiln_ok(
        &p,
        &[
            "build",
            "--select",
            "+rpt_cfo_summary +rpt_investor_monthly",
            "--indirect-selection",
            "cautious",
        ],
    );

    // Every money column of the reporting path is DECIMAL(18,2); the only DOUBLEs are ratios.
    let types = query(
        &p,
        "select table_name || '.' || column_name, data_type from information_schema.columns \
         where table_name in ('int_revenue_by_account_monthly', 'int_costs_monthly', 'profit', \
                              'growth', 'exec_monthly', 'rpt_cfo_summary', 'rpt_investor_monthly') \
           and data_type in ('DOUBLE', 'FLOAT', 'REAL') order by 1",
    );
    let doubles: Vec<&str> = types.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        doubles,
        [
            "exec_monthly.profit_margin",
            "profit.profit_margin",
            "rpt_cfo_summary.profit_margin",
            "rpt_investor_monthly.avg_weekly_active_users",
            "rpt_investor_monthly.logo_churn_rate",
            "rpt_investor_monthly.net_revenue_retention",
            "rpt_investor_monthly.profit_margin",
        ]
    );
    for money in [
        "profit.revenue",
        "profit.cost_per_account",
        "profit.profit",
        "profit.unit_profit_per_subscriber",
        "growth.ending_mrr",
        "growth.customer_acquisition_cost",
        "exec_monthly.profit",
        "exec_monthly.cost_per_account",
        "rpt_cfo_summary.profit",
        "rpt_cfo_summary.profit_ytd",
        "rpt_investor_monthly.profit",
        "rpt_investor_monthly.annual_run_rate",
    ] {
        let (table, column) = money.split_once('.').expect("table.column");
        assert_eq!(
            scalar(
                &p,
                &format!(
                    "select data_type from information_schema.columns \
                     where table_name = '{table}' and column_name = '{column}'"
                )
            ),
            "DECIMAL(18,2)",
            "{money}"
        );
    }

    // June 2024: the same profit to the cent in the three places the board reads it, and it is
    // revenue minus cost exactly.
    assert_eq!(
        query(
            &p,
            "select m.revenue, m.company_cost, m.profit, c.profit, i.profit \
             from main.exec_monthly as m \
             join main.rpt_cfo_summary as c using (month_start) \
             join main.rpt_investor_monthly as i using (month_start) \
             where month_start = date '2024-06-01'"
        ),
        [["244315.00", "187834.21", "56480.79", "56480.79", "56480.79"]]
    );
    // The accounts' cost shares add up to each month's cost exactly (some carry one cent more).
    assert_eq!(
        scalar(
            &p,
            "select count(*) from (select month_start, sum(cost_per_account) as allocated, \
             max(company_cost) as cost, max(cost_per_account) - min(cost_per_account) as spread \
             from main.profit group by month_start) \
             where allocated <> cost or spread > 0.01"
        ),
        "0"
    );
}

#[test]
fn weeks_and_months_without_data_are_null_not_zero() {
    let p = demo();
    // The committed events cover every week of the reporting period.
    kiln_ok(
        &p,
        &[
            "build",
            "--select",
            "+exec_weekly +rpt_investor_monthly",
            "--indirect-selection",
            "cautious",
        ],
    );
    assert_eq!(
        scalar(
            &p,
            "select count(*) || ' ' || count(weekly_active_users) || ' ' || min(weekly_active_users) from main.exec_weekly"
        ),
        "26 26 9"
    );

    // Without the event files received in the first eight weeks (W01 to W08), January and most of
    // February have no product data: their weeks are NULL, not 0, and so is January's average in
    // the investor report (February keeps the week of 26 February, received in W09). The coverage
    // test warns with the missing weeks; the NULL-semantics test passes; the rest of the build goes
    // on (warn severity: a gap in deliveries must not hold back the board's other figures).
    for week in 1..=8 {
        std::fs::remove_file(p.dir().join(format!(
            "data/product/click_events/received_2024-W{week:02}.csv"
        )))
        .expect("remove an event file");
    }
    let run = kiln_ok(
        &p,
        &[
            "build",
            "--select",
            "+exec_weekly +rpt_investor_monthly",
            "--indirect-selection",
            "cautious",
            "--full-refresh",
        ],
    );
    let not_passing: Vec<(String, String)> = statuses(&p)
        .into_iter()
        .filter(|(_, status)| status != "success" && status != "pass")
        .collect();
    assert_eq!(
        not_passing,
        [
            (
                "test.kiln_demo.assert_no_skipped_required_status_steps".to_string(),
                "warn".to_string()
            ),
            (
                "test.kiln_demo.assert_product_events_cover_reporting_period".to_string(),
                "warn".to_string()
            )
        ],
        "{}",
        run.snapshot()
    );
    assert!(
        run.stdout
            .contains("Got 8 results, configured to warn if != 0"),
        "{}",
        run.snapshot()
    );
    assert_eq!(
        query(
            &p,
            "select week_start, active_accounts, weekly_active_users, hours_per_active_user_per_day \
             from main.exec_weekly where week_start in (date '2024-01-01', date '2024-02-19', date '2024-02-26') order by 1"
        ),
        [
            ["2024-01-01", "NULL", "NULL", "NULL"],
            ["2024-02-19", "NULL", "NULL", "NULL"],
            ["2024-02-26", "10", "13", "0.4049"],
        ]
    );
    assert_eq!(
        query(
            &p,
            "select month_start, avg_weekly_active_users is null, revenue is null \
             from main.rpt_investor_monthly order by 1"
        ),
        [
            ["2024-01-01", "true", "false"],
            ["2024-02-01", "false", "false"],
            ["2024-03-01", "false", "false"],
            ["2024-04-01", "false", "false"],
            ["2024-05-01", "false", "false"],
            ["2024-06-01", "false", "false"],
        ]
    );
}

#[test]
fn exec_weekly_holds_weekly_figures_and_the_experiment_summary_its_statistics() {
    let p = demo();
    kiln_ok(
        &p,
        &[
            "build",
            "--select",
            "+exec_weekly +experiment_summary",
            "--indirect-selection",
            "cautious",
        ],
    );
    // No monthly figure repeated on each week: those are in exec_monthly, joined on month_start.
    let columns: Vec<String> = query(
        &p,
        "select column_name from information_schema.columns where table_name = 'exec_weekly' order by ordinal_position",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(
        columns,
        [
            "week_start",
            "week_end",
            "month_start",
            "active_accounts",
            "weekly_active_users",
            "active_user_days",
            "hours_on_platform",
            "hours_per_active_user_per_day"
        ]
    );

    // Control converted 1 of 9 units, treatment 7 of 13: lift 7/13 - 1/9 = 0.427350, 95% CI
    // 0.427350 -/+ 1.959964 * sqrt((7/13)(6/13)/13 + (1/9)(8/9)/9) = [0.087361, 0.767340].
    assert_eq!(
        query(
            &p,
            "select variant, units, converted_units, conversion_rate, absolute_lift, relative_lift, \
                    lift_ci_95_lower, lift_ci_95_upper, is_significant, normal_approximation_holds \
             from main.experiment_summary order by variant"
        ),
        [
            [
                "control", "9", "1", "0.111111", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"
            ],
            [
                "treatment",
                "13",
                "7",
                "0.538462",
                "0.42735",
                "3.846154",
                "0.087361",
                "0.76734",
                "true",
                "false"
            ],
        ]
    );
}

/// Column lineage on the demo, nothing built: the executives' revenue figure traced back through
/// the marts and staging models to the raw billing columns it is summed from, with OpenLineage's
/// transformation types. (exec_weekly carries no revenue figure: its doc comment sends the
/// month's revenue to exec_monthly; its engagement figures are traced too.)
#[test]
fn lineage_traces_the_executive_figures_back_to_raw_columns() {
    let p = demo();
    let revenue = kiln_ok(&p, &["lineage", "-s", "exec_monthly.revenue"]);
    let hours = kiln_ok(
        &p,
        &[
            "lineage",
            "-s",
            "exec_weekly.hours_on_platform",
            "--upstream",
        ],
    );
    let plans = kiln_ok(
        &p,
        &[
            "lineage",
            "-s",
            "billing_plans.list_price_per_seat",
            "--downstream",
        ],
    );
    insta::assert_snapshot!(format!(
        "{}\n\n{}\n\n{}",
        revenue.stdout.trim_end(),
        hours.stdout.trim_end(),
        plans.stdout.trim_end()
    ));
    // Every model and snapshot of the demo is read in full.
    let lineage: serde_json::Value =
        serde_json::from_str(&p.read("target/kiln/lineage.json")).expect("lineage.json");
    let nodes = lineage["nodes"].as_object().expect("nodes");
    assert_eq!(nodes.len(), 34, "{:?}", nodes.keys().collect::<Vec<_>>());
    let incomplete: Vec<&String> = nodes
        .iter()
        .filter(|(_, n)| n["complete"] != true)
        .map(|(id, _)| id)
        .collect();
    assert!(incomplete.is_empty(), "{incomplete:?}");
}

/// A misspelled column in a demo model stops `kiln compile` before anything runs: the model's
/// file, line and column, and the upstream column it meant.
#[test]
fn a_misspelled_column_in_the_demo_fails_compile() {
    let p = demo();
    let file = p.dir().join("models/aggregate/exec_weekly.sql");
    let sql = std::fs::read_to_string(&file).expect("exec_weekly.sql");
    let broken = sql.replace(
        "sum(hours_on_platform) as hours_on_platform",
        "sum(hours_on_platfrom) as hours_on_platform",
    );
    assert_ne!(
        sql, broken,
        "the demo's exec_weekly changed: update this test"
    );
    std::fs::write(&file, broken).expect("write exec_weekly.sql");
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    insta::assert_snapshot!(run.stderr);
}
