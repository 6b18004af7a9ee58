//! Which adapter claims which capability, listed per capability (sqlparser's
//! `all_dialects_where` habit): a new adapter, or a changed default, shows up here as a list
//! that no longer matches, instead of hiding behind a default.

use super::*;
use crate::project::profiles::Engines;

/// Every adapter kiln has, in the registry's order.
fn all_adapters() -> Vec<Box<dyn Adapter>> {
    vec![Box::new(DuckDb::in_memory()), Box::new(Athena::default())]
}

/// The adapters for which `claims` holds, by type name.
fn adapters_where(mut claims: impl FnMut(&dyn Adapter) -> bool) -> Vec<&'static str> {
    all_adapters()
        .iter()
        .filter(|a| claims(a.as_ref()))
        .map(|a| a.adapter_type())
        .collect()
}

#[test]
fn the_list_is_the_registry() {
    let registered: Vec<&str> = ADAPTERS.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(adapters_where(|_| true), registered);
}

#[test]
fn transactions() {
    assert_eq!(adapters_where(|a| a.supports_transactions()), ["duckdb"]);
}

#[test]
fn rename() {
    assert_eq!(adapters_where(|a| a.supports_rename()), ["duckdb"]);
}

#[test]
fn foreign_key_swaps() {
    assert_eq!(
        adapters_where(|a| a.supports_foreign_key_swaps()),
        ["athena"]
    );
}

#[test]
fn catalog_publish() {
    assert_eq!(adapters_where(|a| a.supports_catalog_publish()), ["athena"]);
    // and only such an engine says where a table's files go
    assert_eq!(
        adapters_where(|a| a.table_location("s", "t", "b").is_some()),
        Vec::<&str>::new()
    );
    assert!(Athena::sample().table_location("s", "t", "b").is_some());
}

#[test]
fn temporary_tables() {
    assert_eq!(
        adapters_where(|a| a.supports_temporary_tables()),
        ["duckdb"]
    );
}

#[test]
fn build_state() {
    assert_eq!(adapters_where(|a| a.supports_build_state()), ["duckdb"]);
    // (an adapter that keeps build state can probe a source's rows)
    for a in all_adapters() {
        assert_eq!(
            a.supports_build_state(),
            a.source_probe_sql("s.t").is_some(),
            "{}",
            a.adapter_type()
        );
    }
}

#[test]
fn grants() {
    assert_eq!(adapters_where(|a| a.supports_grants()), Vec::<&str>::new());
}

#[test]
fn atomic_table_replace() {
    assert_eq!(
        adapters_where(|a| a.replace_table_as_sql("t", "select 1").is_some()),
        ["duckdb"]
    );
}

#[test]
fn comments() {
    assert_eq!(adapters_where(|a| a.supports_comments()), ["duckdb"]);
}

#[test]
fn clone() {
    assert_eq!(adapters_where(|a| a.supports_clone()), ["duckdb"]);
    // (an adapter that claims it says how)
    for a in all_adapters() {
        let how = a.clone_sql("t", "s", None, None);
        assert_eq!(how.is_some(), a.supports_clone(), "{}", a.adapter_type());
    }
}

#[test]
fn execution() {
    assert_eq!(adapters_where(|a| a.can_execute()), ["duckdb"]);
}

#[test]
fn dedupe_in_one_query() {
    assert_eq!(
        adapters_where(|a| a.dedupe_rows_sql("select 1", "k", "1").is_some()),
        ["duckdb"]
    );
}

#[test]
fn rows_affected_from_a_count() {
    let count = Rows {
        columns: vec![Column {
            name: "Count".into(),
            data_type: "BIGINT".into(),
            comment: None,
        }],
        rows: vec![vec![Cell::Int(3)]],
    };
    assert_eq!(
        adapters_where(|a| a.rows_affected(&count) == Some(3)),
        ["duckdb"]
    );
}

#[test]
fn seeds_load() {
    // ANSI SQL reads no CSV: an adapter loads seeds only by overriding `load_csv`.
    let duck = DuckDb::in_memory();
    let mut conn = duck.connect().expect("an in-memory database");
    let csv = csv::CsvFile {
        path: std::path::Path::new("/no/such/file.csv"),
        delimiter: ',',
        names: &["id".to_string()],
        declared: &[None],
    };
    let loads = adapters_where(|a| {
        a.load_csv(conn.as_mut(), &csv)
            .err()
            .is_none_or(|e| !e.starts_with("kiln cannot load seeds"))
    });
    assert_eq!(loads, ["duckdb", "athena"]);
    // and only Athena reads them from storage, through a table over the uploaded file
    assert_eq!(
        adapters_where(|a| a.csv_table_sql("t", &[], "s3://b/p/", ',').is_some()),
        ["athena"]
    );
}

#[test]
fn type_classes() {
    // Every adapter knows the standard names; DuckDB its own integers too.
    for a in all_adapters() {
        assert_eq!(a.type_class("VARCHAR(12)"), TypeClass::Text);
        assert_eq!(a.type_class("bigint"), TypeClass::Integer);
        assert_eq!(a.type_class("DOUBLE"), TypeClass::Float);
        assert_eq!(a.type_class("DECIMAL(18,2)"), TypeClass::Decimal);
        assert_eq!(a.type_class("DATE"), TypeClass::Other);
    }
    assert_eq!(
        adapters_where(|a| a.type_class("HUGEINT") == TypeClass::Integer),
        ["duckdb"]
    );
}

#[test]
fn targets_from_profile_fields() {
    let fields = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
    let dir = std::path::Path::new("/project");
    let duck = fields(serde_json::json!({"type": "duckdb", "path": "dev.duckdb"}));
    let (read, quote) = ENGINES
        .read(
            "duckdb",
            crate::project::profiles::TargetFields {
                fields: &duck,
                project_dir: dir,
                target_dir: &dir.join("target"),
            },
        )
        .expect("duckdb is registered")
        .expect("the fields read");
    assert_eq!(read.database, "dev");
    assert_eq!(read.schema, "main");
    assert_eq!(read.details, ["duckdb path: /project/dev.duckdb"]);
    assert_eq!(quote, '"');
    let athena = fields(serde_json::json!({"type": "athena", "schema": "analytics"}));
    let err = ENGINES
        .read(
            "athena",
            crate::project::profiles::TargetFields {
                fields: &athena,
                project_dir: dir,
                target_dir: dir,
            },
        )
        .expect("athena is registered")
        .expect_err("s3_staging_dir is required");
    assert_eq!(err.message, "missing field `s3_staging_dir`");
    assert!(
        ENGINES
            .read(
                "postgres",
                crate::project::profiles::TargetFields {
                    fields: &athena,
                    project_dir: dir,
                    target_dir: dir,
                },
            )
            .is_none()
    );
    assert_eq!(
        ENGINES.help(),
        "`type: duckdb` (embedded) or `type: athena`"
    );
}

/// Text that is SQL of one engine (DuckDB's functions and syntax, statements whose spelling
/// differs between engines, transaction control): it belongs in `src/adapter/` (or in a
/// dispatched macro), never in the string literals of the stages that use the adapter.
const ENGINE_SQL: &[&str] = &[
    "read_csv",
    "try_cast",
    "regexp_full_match",
    "qualify",
    "create temporary",
    "create or replace",
    "md5(",
    "now()",
    "epoch(",
    "information_schema",
    "duckdb_",
    "typeof(",
    "hugeint",
    "limit 0",
    "describe (",
    "rename to",
    "comment on",
    "merge into",
    "alter table",
];

/// A string literal that is transaction control, whole.
const TRANSACTION_CONTROL: &[&str] = &["begin", "begin transaction", "commit", "rollback"];

/// `(file under src/, literal or token, why it may stay)`.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "materialize/microbatch.rs",
        "begin",
        "the name of the microbatch config key `begin`, not SQL",
    ),
    (
        "jinja/relation.rs",
        "limit 0",
        "`--empty`: dbt-core renders a limited relation this way for every adapter \
         (`BaseRelation.render_limited`), and compiled SQL stays dbt's; an engine without \
         `limit` would need it as an adapter method",
    ),
];

#[test]
fn engine_sql_stays_in_the_adapter() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = vec![];
    for stage in ["materialize", "runner", "commands", "jinja"] {
        let files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(src.join(stage))
            .into_iter()
            .map(|e| e.expect("walk src/").into_path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        // Test-only modules (`#[cfg(test)] mod x;`) hold expected SQL and SQL to test with.
        let test_modules = test_module_files(&files);
        for path in &files {
            if test_modules.contains(path) {
                continue;
            }
            let rel = path
                .strip_prefix(&src)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(path).expect("read a source file");
            let allowed = |what: &str| ALLOWED.iter().any(|(f, t, _)| *f == rel && *t == what);
            for (line, literal) in string_literals(&text) {
                let lower = literal.to_ascii_lowercase();
                let whole = lower.trim().trim_end_matches(';');
                let hits = ENGINE_SQL
                    .iter()
                    .filter(|t| lower.contains(*t))
                    .chain(TRANSACTION_CONTROL.iter().filter(|t| whole == **t));
                for token in hits {
                    if !allowed(token) {
                        found.push(format!("src/{rel}:{line}: `{token}` in \"{literal}\""));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "engine SQL outside src/adapter/ (move it behind an Adapter method):\n{}",
        found.join("\n")
    );
}

/// The files of modules declared `#[cfg(test)] mod x;` by one of `files`.
fn test_module_files(files: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for path in files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        // a `mod.rs` declares modules beside it; `x.rs` declares them in `x/`
        let dir = match path.file_stem().and_then(|s| s.to_str()) {
            Some("mod") | None => path.parent().map(std::path::Path::to_path_buf),
            Some(stem) => path.parent().map(|p| p.join(stem)),
        };
        let Some(dir) = dir else { continue };
        let mut lines = text.lines().map(str::trim).peekable();
        while let Some(line) = lines.next() {
            if line != "#[cfg(test)]" {
                continue;
            }
            let Some(name) = lines
                .peek()
                .and_then(|l| l.strip_prefix("mod "))
                .and_then(|l| l.strip_suffix(';'))
            else {
                continue;
            };
            out.push(dir.join(format!("{name}.rs")));
            out.push(dir.join(name).join("mod.rs"));
        }
    }
    out
}

#[test]
fn string_literals_are_found() {
    let code = "let a = \"x\\\"y\"; // \"comment\"\n/* \"block\" */ let b = r#\"raw \"q\"\"#;\nfn f<'a>(c: char) { '\"'; 'x'; }\n#[cfg(test)]\nmod tests { \"test\" }";
    let found: Vec<(usize, String)> = string_literals(code);
    assert_eq!(
        found,
        [(1, "x\\\"y".to_string()), (2, "raw \"q\"".to_string())]
    );
}

/// The string literals of a Rust file, with the line each starts on: comments skipped, and
/// nothing from a `#[cfg(test)]` module at the end of the file on.
fn string_literals(text: &str) -> Vec<(usize, String)> {
    let end = text
        .match_indices("#[cfg(test)]")
        .find(|(at, _)| text[at + 12..].trim_start().starts_with("mod "))
        .map_or(text.len(), |(at, _)| at);
    let chars: Vec<char> = text[..end].chars().collect();
    let mut out = vec![];
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        let ident_before = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && at(i + 1) == '/') {
                line += usize::from(chars[i] == '\n');
                i += 1;
            }
            i += 2;
        } else if c == 'r' && !ident_before && (at(i + 1) == '"' || at(i + 1) == '#') {
            let mut hashes = 0;
            let mut j = i + 1;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                i += 1;
                continue;
            }
            let (start_line, mut lit) = (line, String::new());
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                line += usize::from(chars[j] == '\n');
                lit.push(chars[j]);
                j += 1;
            }
            out.push((start_line, lit));
            i = j;
        } else if c == '"' {
            let (start_line, mut lit) = (line, String::new());
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    lit.push('\\');
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                lit.push(at(i));
                i += 1;
            }
            out.push((start_line, lit));
            i += 1;
        } else if c == '\'' {
            // a char literal ('x', '\n', '"'), or a lifetime ('a)
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}
