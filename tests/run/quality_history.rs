//! The history behind the `kiln` package's checks across runs: a reused table adds no
//! observation to `kiln.volume_anomaly`'s history, and `kiln.schema_change`'s status follows the
//! level of each change (`added`, `removed`, `type_changed`: warn, error or ignore).

use crate::quality::status;
use crate::support::TestProject;

/// How many observations the history holds for each check whose id contains `part`.
fn observations(p: &TestProject, part: &str) -> Vec<usize> {
    let state: serde_json::Value =
        serde_json::from_str(&p.read("target/kiln_quality_state.json")).expect("JSON");
    state["checks"]
        .as_object()
        .expect("checks")
        .iter()
        .filter(|(k, _)| k.contains(part))
        .map(|(_, v)| v.as_array().expect("list").len())
        .collect()
}

#[test]
fn a_reused_table_adds_no_observation_to_the_volume_history() {
    let p = TestProject::minimal()
        .file(
            "seeds/events.csv",
            "event_id,occurred_at\n1,2026-03-01 10:00:00\n2,2026-03-02 11:00:00\n",
        )
        .file(
            "seeds/events.yml",
            "seeds:\n  - name: events\n    data_tests:\n      - kiln.volume_anomaly:\n          arguments: {event_time: occurred_at}\n      - kiln.volume_anomaly\n",
        );
    p.kiln(&["build"]).run().assert_success();
    assert_eq!(observations(&p, "kiln_volume_anomaly"), [1, 1]);
    // Unchanged: the seed is reused, and its checks observe nothing new.
    let again = p.kiln(&["build"]).run();
    again.assert_success();
    assert!(again.stdout.contains("REUSED"), "{}", again.stdout);
    assert_eq!(observations(&p, "kiln_volume_anomaly"), [1, 1]);
    assert!(
        again
            .stdout
            .contains("collecting history: 1 of the 3 earlier runs"),
        "{}",
        again.stdout
    );
    // A rebuild of changed rows is a new observation.
    p.write(
        "seeds/events.csv",
        "event_id,occurred_at\n1,2026-03-01 10:00:00\n2,2026-03-02 11:00:00\n3,2026-03-03 12:00:00\n",
    );
    p.kiln(&["build"]).run().assert_success();
    assert_eq!(observations(&p, "kiln_volume_anomaly"), [2, 2]);
}

/// A project whose model `contacts` is checked by `kiln.schema_change` with `arguments`.
fn schema_project(arguments: &str) -> TestProject {
    TestProject::minimal()
        .file(
            "models/contacts.sql",
            "select 1 as id, 'a@example.com' as email, 3 as score",
        )
        .file(
            "models/contacts.yml",
            &format!(
                "models:\n  - name: contacts\n    data_tests:\n      - kiln.schema_change:\n          arguments: {arguments}\n"
            ),
        )
}

#[test]
fn schema_change_status_follows_each_change_level() {
    // (arguments, the model's new SQL, expected exit code, status, failures)
    let cases: [(&str, &str, i32, &str, i64); 6] = [
        // An added column warns by default: the build succeeds.
        (
            "{}",
            "select 1 as id, 'a@example.com' as email, 3 as score, 2 as rank",
            0,
            "warn",
            1,
        ),
        // Set to error, the same addition fails.
        (
            "{added: error}",
            "select 1 as id, 'a@example.com' as email, 3 as score, 2 as rank",
            1,
            "fail",
            1,
        ),
        // A removed column errors by default, even beside a warning.
        ("{}", "select 1 as id, 3 as score, 2 as rank", 1, "fail", 2),
        // Removals ignored: only the addition is left, a warning.
        (
            "{removed: ignore}",
            "select 1 as id, 3 as score, 2 as rank",
            0,
            "warn",
            1,
        ),
        // A type change set to warn warns.
        (
            "{type_changed: warn}",
            "select 1 as id, 'a@example.com' as email, 'x' as score",
            0,
            "warn",
            1,
        ),
        // Ignored entirely: a pass.
        (
            "{type_changed: ignore}",
            "select 1 as id, 'a@example.com' as email, 'x' as score",
            0,
            "pass",
            0,
        ),
    ];
    for (arguments, changed, code, want, failures) in cases {
        let p = schema_project(arguments);
        p.kiln(&["build"]).run().assert_success();
        p.write("models/contacts.sql", changed);
        let out = p.kiln(&["build"]).run();
        assert_eq!(out.code, Some(code), "{arguments}: {}", out.stdout);
        assert_eq!(
            status(&p, "kiln_schema_change"),
            (want.to_string(), failures),
            "{arguments}: {}",
            out.stdout
        );
    }
}

#[test]
fn schema_change_with_severity_warn_only_warns() {
    let p = schema_project("{}").file(
        "models/contacts.yml",
        "models:\n  - name: contacts\n    data_tests:\n      - kiln.schema_change:\n          config: {severity: warn}\n",
    );
    p.kiln(&["build"]).run().assert_success();
    p.write("models/contacts.sql", "select 1 as id");
    let out = p.kiln(&["build"]).run();
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    assert_eq!(status(&p, "kiln_schema_change"), ("warn".into(), 2));
}
