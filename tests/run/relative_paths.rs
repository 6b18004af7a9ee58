//! kiln's one rule for relative file paths (README, "Relative file paths"): a model's
//! `read_csv('data/x.csv')`, a glob, a quoted file name after `from` and a source's
//! `external_location` are all read from the project directory, like the profile's DuckDB
//! `path`, wherever kiln runs from, even when the working directory holds a file of the same
//! relative name.

use crate::db::column;
use crate::support::TestProject;

fn project() -> TestProject {
    TestProject::minimal()
        .file("data/x.csv", "who\nproject\n")
        .file(
            "models/from_file.sql",
            "{{ config(materialized='table') }}\nselect who from read_csv('data/x.csv', header = true)\n",
        )
        .file(
            "models/from_glob.sql",
            "{{ config(materialized='table') }}\nselect who from read_csv(['data/*.csv'], header = true)\n",
        )
        .file(
            "models/from_scan.sql",
            "{{ config(materialized='table') }}\nselect who from 'data/x.csv'\n",
        )
        .file(
            "models/sources.yml",
            "sources:\n  - name: raw\n    meta:\n      external_location: \"read_csv('data/{name}.csv', header = true)\"\n    tables:\n      - name: x\n",
        )
        .file(
            "models/from_source.sql",
            "{{ config(materialized='table') }}\nselect who from {{ source('raw', 'x') }}\n",
        )
}

const MODELS: [&str; 4] = ["from_file", "from_glob", "from_scan", "from_source"];

/// Run from another folder whose `data/x.csv` is a decoy: every model read the project's file.
#[test]
fn relative_file_paths_are_read_from_the_project_directory() {
    let p = project();
    let elsewhere = p.root().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("data")).expect("mkdir");
    std::fs::write(elsewhere.join("data/x.csv"), "who\ndecoy\n").expect("write decoy");
    p.kiln(&["build"])
        .current_dir(&elsewhere)
        .run()
        .assert_success();
    for model in MODELS {
        assert_eq!(
            column(&p, &format!("select who from main.{model}")),
            ["project"],
            "{model}"
        );
    }
    // A relative --project-dir too; the database is the project's, not one in the cwd.
    std::fs::write(p.dir().join("data/x.csv"), "who\nproject again\n").expect("rewrite");
    let k = p.kiln_bare(&[
        "build",
        "--project-dir",
        "../project",
        "--profiles-dir",
        "../project",
    ]);
    k.current_dir(&elsewhere).run().assert_success();
    assert!(!elsewhere.join("dev.duckdb").exists());
    for model in MODELS {
        assert_eq!(
            column(&p, &format!("select who from main.{model}")),
            ["project again"],
            "{model}"
        );
    }
}

/// The file is missing from the project but present in the working directory: the rule holds
/// (the build fails naming the project's path), rather than reading the stray file.
#[test]
fn a_file_only_in_the_working_directory_is_not_read() {
    let p = project()
        .without("models/from_glob.sql")
        .without("models/from_scan.sql")
        .without("models/from_source.sql")
        .without("models/sources.yml");
    std::fs::remove_file(p.dir().join("data/x.csv")).expect("remove");
    let elsewhere = p.root().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("data")).expect("mkdir");
    std::fs::write(elsewhere.join("data/x.csv"), "who\ndecoy\n").expect("write decoy");
    let run = p.kiln(&["run"]).current_dir(&elsewhere).run();
    run.assert_code(1);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains(&format!("{}", p.dir().join("data/x.csv").display())),
        "{out}"
    );
}
