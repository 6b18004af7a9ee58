//! A whole dbt project built with `kiln build --target athena` against moto, twice, for the
//! demo (`demo.rs`) and the jaffle-shop fixture (`jaffle.rs`). moto runs no SQL, so the test
//! plays the engine: the proxy's engine registers each CTAS's table in Glue with the columns
//! the query outputs (kiln's own reading of each model, from the lineage.json of a
//! `kiln compile --target athena` run first, and each seed's CSV header), answers data tests
//! as passing, and answers the queries the harness knows (a snapshot's column probe, a unit
//! test's probe and comparison: [`Rule::Answer`]).
//!
//! Asserted on each build: it succeeds; every model, seed and snapshot it built is in Glue
//! with its kind (a view, a Hive table, an Iceberg table) and nothing staged is left; every
//! statement kiln sent passes Athena's grammars (`grammar::check`); every query carries
//! kiln's own token, none twice. Before the second build a sibling folder of every table and
//! another team's object are planted: every S3 delete stays inside the folder of a relation
//! kiln built, and the planted objects survive.

use super::{SECRET, Warehouse, grammar, moto};
use crate::proxy::{Proxy, Rule};
use crate::support::TestProject;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The Glue table of a relation: its kind and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueTable {
    /// `VIRTUAL_VIEW`, `EXTERNAL_TABLE` or `ICEBERG` (an external table whose
    /// `Parameters.table_type` says so).
    pub kind: String,
    pub location: String,
}

/// A project copied into a temp dir, its profile `profile`'s `athena` target pointed at a
/// fresh account and bucket of the emulator through a recording proxy.
pub fn warehouse(project: TestProject, profile: &str) -> Warehouse {
    let moto = moto::moto();
    let account = moto::unique_account();
    let proxy = Proxy::start(moto.addr, &account);
    proxy.rule(Rule::Engine);
    proxy.rule(Rule::PassTests);
    let bucket = moto::unique("kiln-whole-");
    // one thread: one call order
    project.write(
        "profiles.yml",
        &format!(
            "{profile}:\n  target: athena\n  outputs:\n    athena:\n      type: athena\n      \
             region_name: us-east-1\n      s3_staging_dir: s3://{bucket}/staging/\n      \
             s3_data_dir: s3://{bucket}/data/\n      database: awsdatacatalog\n      \
             schema: analytics\n      work_group: primary\n      endpoint_url: {}\n      \
             num_retries: 1\n      poll_interval: 0.01\n      threads: 1\n      \
             aws_access_key_id: \"{{{{ env_var('KILN_TEST_KEY_ID') }}}}\"\n      \
             aws_secret_access_key: \"{{{{ env_var('KILN_TEST_SECRET') }}}}\"\n",
            proxy.url()
        ),
    );
    Warehouse::with_bucket(account, proxy, bucket, "AKIAKILNWHOLE", project)
}

/// An artifact of the last kiln command, from the project's target path (the demo's is
/// `target/kiln`, dbt's default `target`).
pub fn artifact(w: &Warehouse, name: &str) -> Value {
    let path = ["target/kiln", "target"]
        .iter()
        .map(|dir| format!("{dir}/{name}"))
        .find(|p| w.project.exists(p))
        .unwrap_or_else(|| panic!("no {name} under target/"));
    serde_json::from_str(&w.project.read(&path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every Glue table of every database: (database, name) -> kind and location.
pub fn glue_tables(w: &Warehouse) -> BTreeMap<(String, String), GlueTable> {
    let dbs = w.glue("GetDatabases", json!({})).json();
    let mut out = BTreeMap::new();
    for db in dbs["DatabaseList"].as_array().cloned().unwrap_or_default() {
        let name = db["Name"].as_str().unwrap_or_default().to_string();
        let tables = w.glue("GetTables", json!({"DatabaseName": name})).json();
        for t in tables["TableList"].as_array().cloned().unwrap_or_default() {
            let iceberg = t["Parameters"]["table_type"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case("iceberg"));
            out.insert(
                (
                    name.clone(),
                    t["Name"].as_str().unwrap_or_default().to_string(),
                ),
                GlueTable {
                    kind: if iceberg {
                        "ICEBERG".to_string()
                    } else {
                        t["TableType"].as_str().unwrap_or_default().to_string()
                    },
                    location: t["StorageDescriptor"]["Location"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                },
            );
        }
    }
    out
}

/// The relations run_results.json says were built: (database, name) -> resource type and
/// materialization (`model:table`, `seed:seed`, `snapshot:snapshot`...).
pub fn built(w: &Warehouse) -> BTreeMap<(String, String), String> {
    let results = artifact(w, "run_results.json");
    let manifest = artifact(w, "manifest.json");
    let mut out = BTreeMap::new();
    for r in results["results"].as_array().cloned().unwrap_or_default() {
        let id = r["unique_id"].as_str().unwrap_or_default();
        let node = &manifest["nodes"][id];
        let kind = node["resource_type"].as_str().unwrap_or_default();
        if !["model", "seed", "snapshot"].contains(&kind) || r["status"] != "success" {
            continue;
        }
        let materialized = node["config"]["materialized"].as_str().unwrap_or_default();
        if materialized == "ephemeral" {
            continue;
        }
        out.insert(
            (
                node["schema"].as_str().unwrap_or_default().to_lowercase(),
                node["alias"].as_str().unwrap_or_default().to_lowercase(),
            ),
            format!("{kind}:{materialized}"),
        );
    }
    out
}

/// The Glue kind a node of `kind` (`model:table`...) must have; `iceberg` when its config
/// says `table_type: iceberg`.
fn glue_kind(kind: &str, iceberg: bool) -> &'static str {
    if kind.ends_with(":view") {
        "VIRTUAL_VIEW"
    } else if iceberg || kind == "snapshot:snapshot" {
        "ICEBERG"
    } else {
        "EXTERNAL_TABLE"
    }
}

/// Trino's name of a type as Glue (Hive) spells it.
pub fn hive_type(trino: &str) -> String {
    let t = trino.trim().to_lowercase();
    match t.as_str() {
        "integer" => "int".into(),
        "real" => "float".into(),
        "" | "unknown" => "string".into(),
        _ if t.starts_with("varchar") || t.starts_with("char") => "string".into(),
        _ if t.starts_with("timestamp") => "timestamp".into(),
        _ => t,
    }
}

/// Glue's (Hive's) name of a type as Athena's result metadata gives it: (type, precision,
/// scale).
fn trino_info(hive: &str) -> (String, i64, i64) {
    let t = hive.trim().to_lowercase();
    if let Some(args) = t.strip_prefix("decimal(").and_then(|a| a.strip_suffix(')')) {
        let mut p = args.split(',').map(|x| x.trim().parse().unwrap_or(0));
        return (
            "decimal".into(),
            p.next().unwrap_or(38),
            p.next().unwrap_or(0),
        );
    }
    let name = match t.as_str() {
        "int" => "integer",
        "string" => "varchar",
        "float" => "real",
        other => other,
    };
    (name.to_string(), 0, 0)
}

/// A `GetQueryResults` body: a header row, then `rows` (`None` a NULL), the columns
/// (`name`, Hive type) as Athena's result metadata.
pub fn result(columns: &[(String, String)], rows: &[Vec<Option<String>>]) -> Value {
    let cell = |v: Option<&str>| match v {
        Some(v) => json!({"VarCharValue": v}),
        None => json!({}),
    };
    let mut data =
        vec![json!({"Data": columns.iter().map(|(n, _)| cell(Some(n))).collect::<Vec<_>>()})];
    for row in rows {
        data.push(json!({"Data": row.iter().map(|v| cell(v.as_deref())).collect::<Vec<_>>()}));
    }
    let info: Vec<Value> = columns
        .iter()
        .map(|(n, t)| {
            let (ty, precision, scale) = trino_info(t);
            json!({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n,
                   "Type": ty, "Precision": precision, "Scale": scale, "Nullable": "UNKNOWN",
                   "CaseSensitive": false})
        })
        .collect();
    json!({"ResultSet": {"Rows": data, "ResultSetMetadata": {"ColumnInfo": info}}, "UpdateCount": 0})
}

/// What the engine knows of the project, from kiln's own reading: each relation's output
/// columns (`name`, Hive type) by name, and the manifest of a `kiln compile`.
pub struct Known {
    pub columns: BTreeMap<String, Vec<(String, String)>>,
    pub manifest: Value,
}

/// Compiles the project for Athena (lineage.json: each model's and snapshot's columns as
/// kiln reads its SQL, typed; seeds' from their CSV header) and gives the proxy's engine
/// those columns to register.
pub fn know_the_columns(w: &Warehouse) -> Known {
    w.kiln(&["compile", "--target", "athena"]).assert_success();
    let lineage = artifact(w, "lineage.json");
    let manifest = artifact(w, "manifest.json");
    let mut columns: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (_, n) in lineage["nodes"].as_object().cloned().unwrap_or_default() {
        let Some(relation) = n["relation"].as_str() else {
            continue;
        };
        let Some(name) = relation
            .rsplit('.')
            .next()
            .map(|p| p.trim_matches('"').to_lowercase())
        else {
            continue;
        };
        let cols: Vec<(String, String)> = n["columns"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_lowercase(),
                    hive_type(c["type"].as_str().unwrap_or("")),
                )
            })
            .collect();
        if !cols.is_empty() {
            columns.insert(name, cols);
        }
    }
    // seeds kiln's reading did not type: their CSV header
    for (_, n) in manifest["nodes"].as_object().cloned().unwrap_or_default() {
        if n["resource_type"] != "seed" {
            continue;
        }
        let name = n["alias"].as_str().unwrap_or_default().to_lowercase();
        if columns.contains_key(&name) {
            continue;
        }
        let path = n["original_file_path"].as_str().unwrap_or_default();
        let text = w.project.read(path);
        let header = text.lines().next().unwrap_or_default();
        columns.insert(
            name,
            header
                .split(',')
                .map(|c| {
                    (
                        c.trim().trim_matches('"').to_lowercase(),
                        "string".to_string(),
                    )
                })
                .collect(),
        );
    }
    w.proxy.rule(Rule::Columns(columns.clone()));
    Known { columns, manifest }
}

/// dbt's snapshot meta columns (not part of a snapshot's query).
const SNAPSHOT_META: &[&str] = &[
    "dbt_scd_id",
    "dbt_updated_at",
    "dbt_valid_from",
    "dbt_valid_to",
    "dbt_is_deleted",
];

/// The engine's answer to each snapshot's column probe (its query wrapped to return no row):
/// the query's columns, as kiln read them.
pub fn answer_snapshot_probes(w: &Warehouse, known: &Known) {
    for (_, n) in known.manifest["nodes"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        if n["resource_type"] != "snapshot" {
            continue;
        }
        let name = n["alias"].as_str().unwrap_or_default().to_lowercase();
        let code = n["compiled_code"].as_str().unwrap_or_default().trim();
        assert!(!code.is_empty(), "snapshot {name} has no compiled code");
        let columns: Vec<(String, String)> = known
            .columns
            .get(&name)
            .unwrap_or_else(|| panic!("no columns for snapshot {name}"))
            .iter()
            .filter(|(c, _)| !SNAPSHOT_META.contains(&c.as_str()))
            .cloned()
            .collect();
        w.proxy.rule(Rule::Answer {
            contains: vec![format!(
                "select * from (\n{code}\n) as __dbt_sbq\nwhere false"
            )],
            result: result(&columns, &[]),
        });
    }
}

/// The statements kiln sent since the proxy's log was cleared.
pub fn statements(w: &Warehouse) -> Vec<String> {
    super::harness::queries(w)
}

/// Every statement kiln sent since the log was cleared passes Athena's grammars.
pub fn assert_statements_parse(w: &Warehouse, what: &str) {
    let sent = statements(w);
    assert!(!sent.is_empty(), "{what}: no statement sent");
    let verdicts = grammar::check(&sent);
    let failures: Vec<String> = sent
        .iter()
        .zip(verdicts)
        .filter_map(|(sql, v)| v.map(|e| format!("{e}\n{sql}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{what}: {} statement(s) Athena would reject:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// What the two builds showed, for the caller's own assertions.
pub struct TwoBuilds {
    /// The relations built: (schema, name) -> `resource:materialized`.
    pub nodes: BTreeMap<(String, String), String>,
    /// Glue after the first build and after the second.
    pub glue: [BTreeMap<(String, String), GlueTable>; 2],
    /// The API calls of the second build (`Warehouse::calls`).
    pub calls: Vec<String>,
}

/// Builds the project twice (`args` after `build --target athena`), asserting what every
/// whole-project build must (see the module's doc).
pub fn build_twice(w: &Warehouse, args: &[&str]) -> TwoBuilds {
    let known: BTreeSet<String> = known_iceberg(w);
    let build = |w: &Warehouse| {
        let mut all = vec!["build", "--target", "athena"];
        all.extend_from_slice(args);
        w.kiln(&all)
    };
    w.proxy.clear();
    let first = build(w);
    first.assert_success();
    assert!(
        !first.stdout.contains(SECRET) && !first.stderr.contains(SECRET),
        "the secret was printed"
    );
    assert_statements_parse(w, "first build");
    let nodes = built(w);
    let glue1 = glue_tables(w);
    assert_glue(&nodes, &glue1, &known);

    // siblings and foreign objects beside every table's folder
    let mut planted = vec!["other-team/export.csv".to_string()];
    for ((schema, name), t) in &glue1 {
        if t.kind != "VIRTUAL_VIEW" {
            planted.push(format!("data/{schema}/{name}_v2/part-0.parquet"));
        }
    }
    for key in &planted {
        w.put(key);
    }
    w.proxy.clear();
    let second = build(w);
    second.assert_success();
    assert_statements_parse(w, "second build");
    assert_eq!(built(w), nodes, "the second build built the same relations");
    let glue2 = glue_tables(w);
    assert_glue(&nodes, &glue2, &known);

    // every query with kiln's token, none twice
    let tokens: Vec<String> = w
        .proxy
        .calls()
        .iter()
        .filter(|c| c.op == "StartQueryExecution")
        .map(|c| {
            c.json()["ClientRequestToken"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(!tokens.is_empty());
    assert!(tokens.iter().all(|t| t.len() >= 32), "{tokens:?}");
    assert_eq!(
        tokens.iter().collect::<BTreeSet<_>>().len(),
        tokens.len(),
        "a token used twice"
    );

    // every delete inside the folder of a relation kiln built
    let calls = w.calls();
    let folders: Vec<String> = nodes
        .keys()
        .map(|(schema, name)| format!("data/{schema}/{name}/"))
        .collect();
    let deletes: Vec<&str> = calls
        .iter()
        .filter_map(|c| c.strip_prefix("DeleteObjects "))
        .flat_map(|keys| keys.split(' '))
        .collect();
    assert!(!deletes.is_empty(), "the second build replaced tables");
    for k in &deletes {
        assert!(
            folders.iter().any(|f| k.starts_with(f.as_str())),
            "{k} is outside every relation's folder"
        );
    }
    let keys = w.keys();
    for p in &planted {
        assert!(keys.contains(p), "{p} was deleted");
    }
    // every table's data is under its Glue location
    for ((schema, name), t) in &glue2 {
        if t.kind == "VIRTUAL_VIEW" {
            continue;
        }
        let prefix = t
            .location
            .trim_start_matches(&format!("s3://{}/", w.bucket))
            .to_string();
        assert!(
            prefix.starts_with(&format!("data/{schema}/{name}/")),
            "{schema}.{name} at {}",
            t.location
        );
        assert!(
            keys.iter().any(|k| k.starts_with(&prefix)),
            "{schema}.{name}: no data under {}",
            t.location
        );
    }
    TwoBuilds {
        nodes,
        glue: [glue1, glue2],
        calls,
    }
}

/// The nodes whose config says `table_type: iceberg`, by alias (from the last manifest).
fn known_iceberg(w: &Warehouse) -> BTreeSet<String> {
    let manifest = artifact(w, "manifest.json");
    manifest["nodes"]
        .as_object()
        .cloned()
        .unwrap_or_default()
        .values()
        .filter(|n| {
            n["config"]["table_type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("iceberg"))
        })
        .filter_map(|n| n["alias"].as_str().map(str::to_lowercase))
        .collect()
}

/// Every built node in Glue with its kind, and nothing staged left.
fn assert_glue(
    nodes: &BTreeMap<(String, String), String>,
    glue: &BTreeMap<(String, String), GlueTable>,
    iceberg: &BTreeSet<String>,
) {
    for ((schema, name), kind) in nodes {
        let t = glue
            .get(&(schema.clone(), name.clone()))
            .unwrap_or_else(|| panic!("{schema}.{name} ({kind}) is not in Glue"));
        assert_eq!(
            t.kind,
            glue_kind(kind, iceberg.contains(name)),
            "{schema}.{name} ({kind})"
        );
    }
    let staged: Vec<_> = glue
        .keys()
        .filter(|(_, n)| n.ends_with("__ha") || n.ends_with("__bkp") || n.ends_with("__dbt_tmp"))
        .collect();
    assert!(staged.is_empty(), "{staged:?}");
    let unknown: Vec<_> = glue.keys().filter(|k| !nodes.contains_key(*k)).collect();
    assert!(unknown.is_empty(), "in Glue but not built: {unknown:?}");
}

/// The calls of `calls` about the relation `name` (its staged names included), one node of
/// each kind of `kinds` found in `nodes`, as a text for a snapshot.
pub fn calls_per_kind(
    nodes: &BTreeMap<(String, String), String>,
    calls: &[String],
    kinds: &[&str],
) -> String {
    let mut text = String::new();
    for kind in kinds {
        let Some(name) = nodes
            .iter()
            .find(|(_, k)| k.as_str() == *kind)
            .map(|((_, n), _)| n.clone())
        else {
            panic!("no node of kind {kind}")
        };
        let mine = regex::Regex::new(&format!(
            r#"\b{name}(__ha|__bkp|__dbt_tmp)?\b|"{name}(__ha|__dbt_tmp)?""#
        ))
        .expect("regex");
        text.push_str(&format!("## {kind} ({name})\n"));
        for c in calls.iter().filter(|c| mine.is_match(c)) {
            text.push_str(c);
            text.push('\n');
        }
        text.push('\n');
    }
    text
}
