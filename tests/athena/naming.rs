//! An incremental's stage (`<t>__dbt_tmp`) under each of dbt-athena's five `s3_data_naming`
//! modes: dropping it after a run deletes only its own files, never the table's data, and it
//! never shares the table's folder (Athena reads every file under a table's location, so a
//! stage there would be read as the table's rows).

use super::harness::queries;
use super::*;

const APPEND: &str =
    "{{ config(materialized='incremental', incremental_strategy='append') }}\nselect 1 as id";

/// A second run of an append model with `naming`: the stage built and dropped, the table's
/// files all there (the first build's and the insert's), no stage entry or file left, and
/// every deleted key the stage's own.
fn stage_drop_keeps_the_table(naming: &str) {
    let w = Warehouse::new(&[("models/events.sql", APPEND)]);
    let profiles = w.project.read("profiles.yml");
    w.project.write(
        "profiles.yml",
        &format!("{profiles}      s3_data_naming: {naming}\n"),
    );
    w.put("data/analytics/events_v2/keep.parquet");
    w.put("data/events_v2/keep.parquet");
    w.kiln(&["run"]).assert_success();
    let bucket = format!("s3://{}/", w.bucket);
    let table = w.location("events");
    let folder = table.trim_start_matches(&bucket).to_string();
    let first: Vec<String> = w
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(&folder))
        .collect();
    assert_eq!(first.len(), 1, "{naming}: {first:?}");

    w.proxy.clear();
    let run = w.kiln(&["run"]);
    run.assert_success();
    assert_eq!(
        w.tables(),
        ["events"],
        "{naming}: the stage's entry is gone"
    );
    assert_eq!(w.location("events"), table, "{naming}: appended in place");
    // the stage was built outside the table's folder
    let queries = queries(&w);
    let stage = queries
        .iter()
        .find(|q| q.contains("\"events__dbt_tmp\""))
        .and_then(|q| q.split("location='").nth(1))
        .and_then(|l| l.split('\'').next())
        .unwrap_or_else(|| panic!("{naming}: no stage built: {queries:#?}"))
        .to_string();
    assert!(
        !stage.starts_with(&table),
        "{naming}: the stage {stage} lies inside the table's folder {table}"
    );
    // the table's files: the first build's and the appended rows', nothing lost
    let now: Vec<String> = w
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(&folder))
        .collect();
    assert!(
        first.iter().all(|k| now.contains(k)),
        "{naming}: the table's data was deleted: {first:?} -> {now:?}"
    );
    assert_eq!(now.len(), 2, "{naming}: {now:?}");
    // nothing of the stage is left, and only the stage's files were deleted
    let stage_folder = stage.trim_start_matches(&bucket);
    assert!(
        !w.keys().iter().any(|k| k.starts_with(stage_folder)),
        "{naming}: the stage's files remain"
    );
    for key in [
        "data/analytics/events_v2/keep.parquet",
        "data/events_v2/keep.parquet",
    ] {
        assert!(w.keys().contains(&key.to_string()), "{naming}: {key}");
    }
    for c in w.proxy.calls().iter().filter(|c| c.op == "DeleteObjects") {
        let body = String::from_utf8_lossy(&c.body);
        for key in body
            .split("<Key>")
            .skip(1)
            .filter_map(|k| k.split("</Key>").next())
        {
            assert!(
                key.starts_with(stage_folder),
                "{naming}: deleted {key}, outside the stage's folder {stage_folder}"
            );
        }
    }
}

#[test]
fn dropping_the_stage_keeps_the_table_data_in_every_naming_mode() {
    for naming in [
        "schema_table_unique",
        "table_unique",
        "schema_table",
        "table",
        "unique",
    ] {
        stage_drop_keeps_the_table(naming);
    }
}
