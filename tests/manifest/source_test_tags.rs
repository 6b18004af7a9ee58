//! Tests defined on a source: dbt gives them the source's and the table's `tags:` (and a column
//! test the column's), sorted with their own, in `tags`; their `config.tags` stay their own.
//! What dbt-core 1.11 writes for this project was recorded by hand (`dbt parse` on a copy).

use super::*;

const SOURCES_YML: &str = "sources:
  - name: raw
    tags: [src_tag]
    config:
      tags: [src_cfg_tag]
    tables:
      - name: x
        tags: [tbl_tag]
        data_tests:
          - not_null:
              column_name: who
          - unique:
              column_name: who
              config:
                tags: [own_tag]
        columns:
          - name: who
            tags: [col_tag]
            data_tests:
              - accepted_values:
                  arguments:
                    values: ['project']
      - name: y
        data_tests:
          - not_null:
              column_name: who
";

#[test]
fn source_tests_take_the_source_and_table_tags_as_dbt_does() {
    let tmp = tempfile::Builder::new()
        .prefix("kiln-source-tags")
        .tempdir()
        .expect("temp dir");
    let dir = tmp.path().join("rel");
    std::fs::create_dir_all(dir.join("models")).expect("mkdir");
    std::fs::write(
        dir.join("dbt_project.yml"),
        "name: rel\nversion: '1.0.0'\nconfig-version: 2\nprofile: rel\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("profiles.yml"),
        "rel:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: rel.duckdb\n",
    )
    .expect("write");
    std::fs::write(dir.join("models/sources.yml"), SOURCES_YML).expect("write");
    let manifest = json_of(&kiln(&dir, "parse"));
    assert_valid(&manifest, "kiln parse (source test tags)");
    // dbt-core 1.11's `tags` and `config.tags` for each test.
    let want: [(&str, &[&str], &[&str]); 4] = [
        (
            "test.rel.source_not_null_raw_x_who.e8b2a42b5b",
            &["src_tag", "tbl_tag"],
            &[],
        ),
        (
            "test.rel.source_unique_raw_x_who.442b6e052b",
            &["own_tag", "src_tag", "tbl_tag"],
            &["own_tag"],
        ),
        (
            "test.rel.source_accepted_values_raw_x_who__project.4a5857a5db",
            &["col_tag", "src_tag", "tbl_tag"],
            &[],
        ),
        (
            "test.rel.source_not_null_raw_y_who.c45c6e93d6",
            &["src_tag"],
            &[],
        ),
    ];
    for (id, tags, config_tags) in want {
        let test = &manifest["nodes"][id];
        assert_eq!(test["tags"], json!(tags), "{id}");
        assert_eq!(test["config"]["tags"], json!(config_tags), "{id}");
    }
    // Selection by a tag the test inherits.
    let out = Command::cargo_bin("kiln")
        .expect("the kiln binary")
        .args(["ls", "--resource-type", "test", "--select", "tag:tbl_tag"])
        .arg("--project-dir")
        .arg(&dir)
        .arg("--profiles-dir")
        .arg(&dir)
        .env("HOME", dir.join("home"))
        .output()
        .expect("run kiln");
    let listed = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<&str> = listed.lines().filter(|l| l.starts_with("rel.")).collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "rel.source_accepted_values_raw_x_who__project",
            "rel.source_not_null_raw_x_who",
            "rel.source_unique_raw_x_who",
        ],
        "{listed}"
    );
}
