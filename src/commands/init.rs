//! `kiln init <name>`: a new project folder with dbt_project.yml, profiles.yml (DuckDB, or
//! the adapter `--adapter` names, its fields from `--field key=value`, else asked for: the
//! adapter lists them, `adapter::init_fields`), an example model with its properties, and the
//! usual folders.

use crate::adapter::{ADAPTERS, InitField, init_fields};
use crate::error::{Diagnostic, Error, Outcome};
use crate::invocation::Invocation;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

/// `kiln init`'s profile flags.
pub struct ProfileArgs<'a> {
    pub adapter: &'a str,
    pub fields: &'a [String],
}

/// The target's fields, in the adapter's order: from `--field`, else the default, else asked
/// for (on the terminal, or one line of stdin each). A field no one gave is exit 2.
fn target_fields(name: &str, args: &ProfileArgs<'_>) -> Result<Vec<(String, String)>, Error> {
    let Some(spec) = init_fields(args.adapter) else {
        let known: Vec<&str> = ADAPTERS.iter().map(|(n, _, _)| *n).collect();
        return Err(Diagnostic::error(
            "flags",
            format!("kiln init has no adapter '{}'", args.adapter),
        )
        .with_help(format!("--adapter takes one of: {}", known.join(", ")))
        .into());
    };
    let mut given: Vec<(String, String)> = vec![];
    for f in args.fields {
        let Some((k, v)) = f.split_once('=') else {
            return Err(
                Diagnostic::error("flags", format!("--field {f}: not key=value"))
                    .with_help("write it as --field region_name=eu-west-1")
                    .into(),
            );
        };
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Diagnostic::error(
                "flags",
                format!("--field {f}: '{k}' is not a field name"),
            )
            .with_help("write it as --field region_name=eu-west-1")
            .into());
        }
        given.push((k.to_string(), v.trim().to_string()));
    }
    let interactive = std::io::stdin().is_terminal();
    let mut stdin = std::io::stdin().lock();
    let mut out = vec![];
    for InitField {
        key,
        prompt,
        default,
    } in spec
    {
        let value =
            match given.iter().find(|(k, _)| k == key) {
                Some((_, v)) => v.clone(),
                None => match default {
                    Some(d) => d.replace("{name}", name),
                    None => ask(&mut stdin, interactive, key, prompt).ok_or_else(|| {
                        Error::from(
                        Diagnostic::error(
                            "flags",
                            format!("kiln init --adapter {} needs {key} ({prompt})", args.adapter),
                        )
                        .with_help(format!(
                            "pass --field {key}=<value>, or run kiln init on a terminal to be asked"
                        )),
                    )
                    })?,
                },
            };
        if !value.is_empty() {
            out.push((key.to_string(), value));
        }
    }
    // fields the adapter does not list (endpoint_url, aws_profile_name...) keep their order
    for (k, v) in given {
        if !spec.iter().any(|s| s.key == k) {
            out.push((k, v));
        }
    }
    Ok(out)
}

/// One answer: asked on stderr when stdin is a terminal, else the next line of stdin (a
/// missing or empty one is no answer).
fn ask(stdin: &mut impl BufRead, interactive: bool, key: &str, prompt: &str) -> Option<String> {
    if interactive {
        let mut err = std::io::stderr();
        let _ = write!(err, "{key} ({prompt}): ");
        let _ = err.flush();
    }
    let mut line = String::new();
    match stdin.read_line(&mut line) {
        Ok(n) if n > 0 && !line.trim().is_empty() => Some(line.trim().to_string()),
        _ => None,
    }
}

/// A YAML scalar: plain when it reads back as the same string, else single-quoted.
fn yaml_scalar(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:".contains(c))
        && !v.starts_with(['-', ':', '.']);
    if plain {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', "''"))
    }
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

pub fn run(
    inv: &Invocation,
    name: Option<&str>,
    skip_profile: bool,
    profile: &ProfileArgs<'_>,
) -> Result<Outcome, Error> {
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
    let target = if skip_profile {
        vec![]
    } else {
        target_fields(name, profile)?
    };
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
        let mut text = format!(
            "{name}:\n  target: dev\n  outputs:\n    dev:\n      type: {}\n",
            profile.adapter
        );
        for (k, v) in &target {
            text.push_str(&format!("      {k}: {}\n", yaml_scalar(v)));
        }
        write(&dir.join("profiles.yml"), &text)?;
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
