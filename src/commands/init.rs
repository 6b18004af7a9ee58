//! `kiln init <name>`: a new project folder with dbt_project.yml, profiles.yml (DuckDB), an
//! example model with its properties, and the usual folders.

use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use std::path::Path;

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

pub fn run(inv: &Invocation, name: Option<&str>, skip_profile: bool) -> Result<Outcome, Error> {
    let Some(name) = name else {
        return Err(Diagnostic::error("flags", "kiln init needs a project name")
            .with_help("run `kiln init my_project`")
            .into());
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(
            Diagnostic::error("flags", format!("'{name}' is not a valid project name"))
                .with_help("use letters, digits and underscores, starting with a letter")
                .into(),
        );
    }
    let base = inv
        .project_dir
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let dir = base.join(name);
    if dir.exists() {
        return Err(
            Diagnostic::error("init", format!("{} already exists", dir.display()))
                .with_help("choose another name or remove the folder")
                .into(),
        );
    }
    write(
        &dir.join("dbt_project.yml"),
        &format!(
            "name: {name}\nversion: '1.0.0'\nconfig-version: 2\nprofile: {name}\n\nmodel-paths: [\"models\"]\nseed-paths: [\"seeds\"]\ntest-paths: [\"tests\"]\nmacro-paths: [\"macros\"]\nsnapshot-paths: [\"snapshots\"]\nanalysis-paths: [\"analyses\"]\n\nclean-targets: [\"target\", \"dbt_packages\"]\n\nmodels:\n  {name}:\n    example:\n      +materialized: view\n"
        ),
    )?;
    if !skip_profile {
        write(
            &dir.join("profiles.yml"),
            &format!(
                "{name}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {name}.duckdb\n      schema: main\n      threads: 4\n"
            ),
        )?;
    }
    write(
        &dir.join("models/example/my_first_model.sql"),
        "-- A first model: a view over a tiny inline table.\nselect 1 as id, 'hello' as greeting\nunion all\nselect 2 as id, 'world' as greeting\n",
    )?;
    write(
        &dir.join("models/example/my_second_model.sql"),
        "select id, upper(greeting) as greeting\nfrom {{ ref('my_first_model') }}\nwhere id = 1\n",
    )?;
    write(
        &dir.join("models/example/schema.yml"),
        "version: 2\n\nmodels:\n  - name: my_first_model\n    description: \"A starter model\"\n    columns:\n      - name: id\n        description: \"The primary key\"\n        data_tests:\n          - unique\n          - not_null\n  - name: my_second_model\n    description: \"A model built on the first\"\n",
    )?;
    for d in ["seeds", "macros", "snapshots", "analyses", "tests"] {
        write(&dir.join(d).join(".gitkeep"), "")?;
    }
    write(
        &dir.join(".gitignore"),
        "target/\ndbt_packages/\nlogs/\n*.duckdb\n*.duckdb.wal\n",
    )?;
    inv.output
        .info(&format!("Created project '{name}' in {}", dir.display()));
    inv.output
        .info(&format!("Next: cd {} && kiln compile", dir.display()));
    Ok(Outcome::Success)
}
