//! The `kiln` package's quality checks (packages/kiln, embedded in kiln): format, completeness
//! and uniqueness checks on a seed, volume outliers and schema changes over the history kiln
//! keeps between runs.

use crate::db::run_results;
use crate::support::TestProject;

/// `test name → (status, failures)` from run_results.json, for the data tests.
fn tests(p: &TestProject) -> std::collections::BTreeMap<String, (String, i64)> {
    run_results(p)["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| {
            r["unique_id"]
                .as_str()
                .unwrap_or_default()
                .starts_with("test.")
        })
        .map(|r| {
            let id = r["unique_id"].as_str().unwrap_or_default();
            let name = id.split('.').nth(2).unwrap_or_default().to_string();
            (
                name,
                (
                    r["status"].as_str().unwrap_or_default().to_string(),
                    r["failures"].as_i64().unwrap_or(-1),
                ),
            )
        })
        .collect()
}

/// The status and failures of the test named `prefix` (or the one test whose name starts so).
pub(crate) fn status(p: &TestProject, prefix: &str) -> (String, i64) {
    let all = tests(p);
    if let Some(exact) = all.get(prefix) {
        return exact.clone();
    }
    let found: Vec<_> = all.iter().filter(|(k, _)| k.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "one test named {prefix}*: {all:?}");
    found[0].1.clone()
}

const PEOPLE_YML: &str = r#"
seeds:
  - name: people
    config:
      column_types: {phone: varchar, born: varchar, code: varchar}
    data_tests:
      - kiln.unique_combination:
          arguments:
            combination_of_columns: [team, code]
    columns:
      - name: email
        data_tests:
          - kiln.email_format
          - kiln.not_null_proportion:
              arguments: {at_least: 0.9}
              config: {severity: warn}
      - name: phone
        data_tests: [kiln.e164_phone]
      - name: born
        data_tests: [kiln.iso_date]
      - name: code
        data_tests:
          - kiln.matches_regex:
              arguments: {pattern: "[A-Z]{2}-[0-9]+"}
          - kiln.length_between:
              arguments: {min_length: 4, max_length: 5}
"#;

#[test]
fn format_completeness_and_uniqueness_checks_on_a_seed() {
    let good = "id,team,email,phone,born,code\n\
        1,a,ann@example.com,+14155550100,2020-01-31,AB-1\n\
        2,a,bob@mail.example.org,+4930123456,2021-12-01T10:00:00Z,AB-2\n\
        3,b,cy+tag@example.io,+33142685300,2019-02-28,CD-10\n";
    let p = TestProject::minimal()
        .file("seeds/people.csv", good)
        .file("seeds/people.yml", PEOPLE_YML);
    p.kiln(&["build"]).run().assert_success();
    for (name, (st, n)) in tests(&p) {
        assert_eq!((st.as_str(), n), ("pass", 0), "{name}");
    }

    // One malformed e-mail, one local phone number, an impossible month, a bad code, a repeated
    // (team, code) and a missing e-mail (3 of 4 present: under 90%).
    let bad = format!(
        "{good}4,b,someone-at-example.com,0049301234,2020-13-01,cd-1,\n\
         5,b,,+4930123457,2020-01-01,CD-10\n"
    );
    p.write("seeds/people.csv", &bad);
    let run = p.kiln(&["build"]).run();
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert_eq!(status(&p, "kiln_email_format"), ("fail".into(), 1));
    assert_eq!(status(&p, "kiln_e164_phone"), ("fail".into(), 1));
    assert_eq!(status(&p, "kiln_iso_date"), ("fail".into(), 1));
    assert_eq!(status(&p, "kiln_matches_regex"), ("fail".into(), 1));
    assert_eq!(status(&p, "kiln_length_between"), ("pass".into(), 0));
    assert_eq!(status(&p, "kiln_unique_combination"), ("fail".into(), 1));
    assert_eq!(status(&p, "kiln_not_null_proportion"), ("warn".into(), 1));
    // The failing values are what the test's query returns.
    let compiled =
        p.read("target/compiled/shop/seeds/people.yml/kiln_email_format_people_email.sql");
    assert!(
        compiled.contains("regexp_full_match(cast(email as TEXT)"),
        "DuckDB's regex function: {compiled}"
    );
}

/// `n` rows per day for each `(day, n)`.
fn events(days: &[(&str, usize)]) -> String {
    let mut out = String::from("event_id,occurred_at\n");
    let mut id = 0;
    for (day, n) in days {
        for i in 0..*n {
            id += 1;
            out.push_str(&format!("{id},{day} {:02}:00:00\n", i % 24));
        }
    }
    out
}

const EVENTS_YML: &str = r#"
seeds:
  - name: events
    data_tests:
      - kiln.volume_anomaly:
          arguments: {event_time: occurred_at}
          config: {severity: warn}
      - kiln.volume_anomaly:
          config: {severity: warn}
"#;

#[test]
fn a_day_with_ten_times_the_usual_events_warns() {
    let usual = [
        ("2026-03-01", 20),
        ("2026-03-02", 22),
        ("2026-03-03", 19),
        ("2026-03-04", 21),
        ("2026-03-05", 20),
    ];
    let p = TestProject::minimal()
        .file("seeds/events.csv", &events(&usual))
        .file("seeds/events.yml", EVENTS_YML);
    // Whole table: the first three runs collect history; per day: every day is compared at once.
    // (Rebuilt each time: a reused seed adds no observation, tests/run/quality_history.rs.)
    for run in 1..=3 {
        let out = p.kiln(&["build", "--no-reuse"]).run();
        out.assert_success();
        assert!(
            out.stdout.contains(&format!(
                "collecting history: {} of the 3 earlier runs",
                run - 1
            )),
            "{}",
            out.stdout
        );
        assert_eq!(
            status(&p, "kiln_volume_anomaly_events_occurred_at"),
            ("pass".into(), 0)
        );
        assert_eq!(
            status(&p, "kiln_volume_anomaly_events_"),
            ("pass".into(), 0)
        );
    }
    // A usual new day passes; then a day ten times the usual volume warns, per day and (the
    // table growing by half) as a whole.
    let mut days = usual.to_vec();
    days.push(("2026-03-06", 21));
    p.write("seeds/events.csv", &events(&days));
    p.kiln(&["build"]).run().assert_success();
    assert_eq!(
        status(&p, "kiln_volume_anomaly_events_occurred_at"),
        ("pass".into(), 0)
    );
    days.push(("2026-03-07", 200));
    p.write("seeds/events.csv", &events(&days));
    let out = p.kiln(&["build"]).run();
    assert_eq!(
        out.code,
        Some(0),
        "a warning is not a failure: {}",
        out.stdout
    );
    assert_eq!(
        status(&p, "kiln_volume_anomaly_events_occurred_at"),
        ("warn".into(), 1)
    );
    assert_eq!(
        status(&p, "kiln_volume_anomaly_events_"),
        ("warn".into(), 1)
    );
    assert!(
        out.stdout.contains("1 period(s) compared with the band"),
        "{}",
        out.stdout
    );
    // The history is kept under target/ by default.
    let state: serde_json::Value =
        serde_json::from_str(&p.read("target/kiln_quality_state.json")).expect("JSON");
    let whole = state["checks"]
        .as_object()
        .expect("checks")
        .iter()
        .find(|(k, _)| k.contains(".kiln_volume_anomaly_events_."))
        .map(|(_, v)| v.as_array().expect("list").len());
    assert_eq!(whole, Some(5), "{state}");
}

#[test]
fn dropping_a_column_is_reported_as_a_schema_change_and_the_history_survives_clean() {
    let p = TestProject::minimal()
        .file(
            "dbt_project.yml",
            "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\n\
             vars:\n  kiln:\n    quality:\n      state_path: quality/state.json\n",
        )
        .file(
            "models/contacts.sql",
            "select 1 as id, 'a@example.com' as email, 3 as score",
        )
        .file(
            "models/contacts.yml",
            "models:\n  - name: contacts\n    data_tests:\n      - kiln.schema_change:\n          arguments: {type_changed: ignore}\n",
        );
    let first = p.kiln(&["build"]).run();
    first.assert_success();
    assert!(p.exists("quality/state.json"));
    p.kiln(&["clean"]).run().assert_success();
    assert!(
        p.exists("quality/state.json"),
        "kiln clean keeps the history outside target/"
    );

    p.write(
        "models/contacts.sql",
        "select 1 as id, 'x' as score, date '2026-01-01' as signed_up",
    );
    let out = p.kiln(&["build"]).run();
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stdout.contains("column email removed (varchar), error"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("column signed_up added (date), warn"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("column score"),
        "type changes ignored: {}",
        out.stdout
    );
    assert_eq!(status(&p, "kiln_schema_change"), ("fail".into(), 2));
    // The next run compares with this one: no change, a pass.
    p.kiln(&["build"]).run().assert_success();
    assert_eq!(status(&p, "kiln_schema_change"), ("pass".into(), 0));
}

#[test]
fn kiln_freshness_checks_models_with_a_freshness_config_and_source_freshness_does_not() {
    let model_yml = "models:\n  - name: events\n    config:\n      loaded_at_field: received_at\n      freshness:\n        warn_after: {count: 24, period: hour}\n        error_after: {count: 48, period: hour}\n  - name: recent\n    config:\n      loaded_at_field: received_at\n      freshness:\n        error_after: {count: 100000, period: day}\n";
    let p = TestProject::minimal()
        .file(
            "models/events.sql",
            "select 1 as id, timestamp '2020-01-01 00:00:00' as received_at",
        )
        .file(
            "models/recent.sql",
            "select 1 as id, timestamp '2020-01-01 00:00:00' as received_at",
        )
        .file("models/models.yml", model_yml);
    p.kiln(&["build"]).run().assert_success();
    let only_sources = p.kiln(&["source", "freshness"]).run();
    only_sources.assert_success();
    assert!(
        only_sources.stdout.contains("Nothing to do"),
        "{}",
        only_sources.stdout
    );
    let out = p.kiln(&["freshness"]).run();
    assert_eq!(out.code, Some(1), "a stale model fails: {}", out.stdout);
    assert!(
        out.stdout
            .contains("Failure in model events (models/events.sql)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("error_after is 48 hours"),
        "{}",
        out.stdout
    );
    let sources: serde_json::Value =
        serde_json::from_str(&p.read("target/sources.json")).expect("JSON");
    let mut got: Vec<(String, String)> = sources["results"]
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
    got.sort();
    assert_eq!(
        got,
        vec![
            ("model.shop.events".to_string(), "error".to_string()),
            ("model.shop.recent".to_string(), "pass".to_string()),
        ]
    );
}
