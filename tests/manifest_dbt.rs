//! kiln's manifest.json of the demo warehouse against dbt-core 1.11's, resource by resource and
//! field by field: what data catalogs (DataHub, OpenMetadata) ingest must not depend on which of
//! the two built the project.
//!
//! dbt's manifest is recorded in `tests/dbt_recorded/manifest.json` by
//! `tests/dbt_recorded/record.sh` (a `dbt build` of a copy of the demo, the copy's path replaced
//! by `<project>`). This test builds the same copy with kiln, replaces the copy's path the same
//! way, and compares the two. The recording is read at run time and nothing about the demo is
//! written here, so re-recording after the demo changes needs no edit to this file.
//!
//! Every difference fails the test, named by its path (`nodes/<unique_id>/config/severity`),
//! except those listed in [`LEGITIMATE`] with the reason each one may differ.

#[path = "cli/support.rs"]
mod support;

use serde_json::{Map, Value};
use std::path::Path;
use support::TestProject;

/// What record.sh writes in place of the path of the project it built.
const PROJECT_PLACEHOLDER: &str = "<project>";

/// Fields that legitimately differ between dbt's manifest and kiln's. A pattern is a path of
/// segments separated by `/`, where `*` stands for any one segment (a unique_id, a field name).
/// A listed field is still required on both sides; only its value is not compared.
const LEGITIMATE: &[(&str, &str)] = &[
    // The invocation: each run has its own id and clock.
    ("metadata/generated_at", "the time the file was written"),
    ("metadata/invocation_id", "a fresh UUID per invocation"),
    (
        "metadata/invocation_started_at",
        "the time the invocation started",
    ),
    ("metadata/run_started_at", "the time the run started"),
    // What wrote the file.
    (
        "metadata/dbt_version",
        "dbt writes its own release (1.11.x); kiln writes the dbt version it is compatible with",
    ),
    (
        "metadata/user_id",
        "dbt's anonymous-usage id, random per machine; kiln collects no usage data and writes null",
    ),
    (
        "metadata/send_anonymous_usage_stats",
        "dbt's tracking switch (on by default); kiln sends nothing and writes false",
    ),
    // Parse time of each resource: dbt writes the wall clock, kiln a constant (0.0) so that
    // identical projects give identical files.
    ("nodes/*/created_at", "parse time"),
    // kiln's volume check compares each day with the history kiln keeps between runs (the band
    // is in its SQL); dbt keeps no history, so the same macro compiles its no-history query.
    (
        "nodes/test.kiln_demo.kiln_volume_anomaly_stg_product__click_events_occurred_at__5.de82bbc367/compiled_code",
        "the volume check's band comes from kiln's history, which dbt does not keep",
    ),
    ("sources/*/created_at", "parse time"),
    ("exposures/*/created_at", "parse time"),
    ("macros/*/created_at", "parse time"),
    ("unit_tests/*/created_at", "parse time"),
    // dbt hashes its own serialisation of a unit test's definition; kiln hashes the entry's
    // values (the checksum changes when the definition does, in both).
    (
        "unit_tests/*/checksum",
        "a hash of the definition, serialised differently",
    ),
    // dbt's default front page of the docs site is dbt-core's prose; kiln writes its own text
    // (same id, package, path).
    (
        "docs/doc.dbt.__overview__/block_contents",
        "kiln's own words",
    ),
];

/// Macros dbt lists in a node's `depends_on.macros` that are not the node's own calls: dbt's test
/// materialization calls the first three when a test runs, and dbt records them on the test;
/// `is_incremental` is a macro in dbt and a function of the Jinja context in kiln. They are taken
/// out of dbt's lists before comparing.
const DBT_RUNTIME_MACROS: &[&str] = &[
    "macro.dbt.get_limit_subquery_sql",
    "macro.dbt.should_store_failures",
    "macro.dbt.statement",
    "macro.dbt.is_incremental",
];

/// dbt's own macro packages (dbt-core's and dbt-duckdb's): their Jinja is theirs, kiln's built-in
/// macros are kiln's, so SQL they generate may be laid out differently.
const DBT_PACKAGES: &[&str] = &["dbt", "dbt_duckdb"];

/// Cross-database macros for which kiln writes equivalent SQL in another form than dbt-duckdb
/// (`split_part(x, '@', 2)` for `string_split(x, '@')[ 2 ]`, `date_diff('day', cast(a as
/// timestamp), ...)` for `date_diff('day', a::timestamp, ...)`, `x + interval '1 month' * 1`
/// for `x + cast(1 as bigint) * interval 1 month`). A node whose SQL goes through one of them
/// (directly or through the project's macros) has its `compiled_code` left out of the comparison.
const REWORDED_MACROS: &[&str] = &["dateadd", "datediff", "split_part"];

/// `metadata.env` keys kiln adds (the target that wrote the artifacts; see the state checks in
/// tests/cli). dbt's `env` holds only `DBT_ENV_CUSTOM_ENV_*` variables, of which the test sets none.
const KILN_ENV_KEYS: &[&str] = &["kiln_target"];

/// The top-level sections whose entries are keyed by unique_id.
const KEYED_SECTIONS: &[&str] = &[
    "nodes",
    "sources",
    "macros",
    "docs",
    "exposures",
    "metrics",
    "groups",
    "selectors",
    "disabled",
    "parent_map",
    "child_map",
    "group_map",
    "saved_queries",
    "semantic_models",
    "unit_tests",
    "functions",
];

/// A copy of the demo project in a temp folder, as record.sh makes it.
fn demo() -> TestProject {
    TestProject::demo()
}

fn read_json(path: &Path, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// dbt's recorded manifest.
fn dbt_manifest() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dbt_recorded/manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    read_json(&path, &text)
}

/// kiln's manifest after `kiln build` of a copy of the demo, the copy's path replaced as
/// record.sh replaces it (built once for the tests of this file).
fn kiln_manifest() -> Value {
    static BUILT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_demo).clone()
}

fn build_demo() -> Value {
    let p = demo();
    let run = p.kiln(&["build"]).run();
    run.assert_success();
    let rel = "target/kiln/manifest.json";
    let dir = p.dir();
    let canonical = dir.canonicalize().expect("canonical project dir");
    let text = p
        .read(rel)
        .replace(&canonical.display().to_string(), PROJECT_PLACEHOLDER)
        .replace(&dir.display().to_string(), PROJECT_PLACEHOLDER);
    read_json(Path::new(rel), &text)
}

/// Whether `path` matches one of [`LEGITIMATE`]'s patterns.
fn legitimate(path: &[String]) -> bool {
    LEGITIMATE.iter().any(|(pattern, _)| {
        let parts: Vec<&str> = pattern.split('/').collect();
        parts.len() == path.len() && parts.iter().zip(path).all(|(p, s)| *p == "*" || p == s)
    })
}

/// The differences between dbt's value and kiln's at `path`, one line each.
struct Differences {
    lines: Vec<String>,
}

impl Differences {
    fn push(&mut self, path: &[String], what: String) {
        self.lines.push(format!("{}: {what}", path.join("/")));
    }

    /// Compares `dbt` with `kiln`, recursively. Objects: the same keys (missing and extra ones
    /// named) in the same order; arrays: the same length and items; scalars: equal.
    fn compare(&mut self, path: &mut Vec<String>, dbt: &Value, kiln: &Value) {
        if legitimate(path) {
            return;
        }
        match (dbt, kiln) {
            (Value::Object(d), Value::Object(k)) => self.compare_objects(path, d, k),
            (Value::Array(d), Value::Array(k)) => {
                if d.len() != k.len() {
                    self.push(
                        path,
                        format!(
                            "{} items in dbt's, {} in kiln's\n    dbt:  {}\n    kiln: {}",
                            d.len(),
                            k.len(),
                            short(dbt),
                            short(kiln)
                        ),
                    );
                    return;
                }
                for (i, (a, b)) in d.iter().zip(k).enumerate() {
                    path.push(i.to_string());
                    self.compare(path, a, b);
                    path.pop();
                }
            }
            _ if dbt == kiln => {}
            _ => self.push(
                path,
                format!("\n    dbt:  {}\n    kiln: {}", short(dbt), short(kiln)),
            ),
        }
    }

    fn compare_objects(
        &mut self,
        path: &mut Vec<String>,
        d: &Map<String, Value>,
        k: &Map<String, Value>,
    ) {
        let missing: Vec<&String> = d.keys().filter(|key| !k.contains_key(*key)).collect();
        let extra: Vec<&String> = k.keys().filter(|key| !d.contains_key(*key)).collect();
        if !missing.is_empty() {
            self.push(path, format!("missing in kiln's: {missing:?}"));
        }
        if !extra.is_empty() {
            self.push(path, format!("not in dbt's: {extra:?}"));
        }
        // dbt writes each resource's fields in its dataclass order (the schema's order); kiln
        // follows it, so a reader diffing the two files sees the same layout.
        let order_d: Vec<&String> = d.keys().filter(|key| k.contains_key(*key)).collect();
        let order_k: Vec<&String> = k.keys().filter(|key| d.contains_key(*key)).collect();
        if order_d != order_k && path.len() <= 3 && !is_keyed(path) {
            self.push(
                path,
                format!("fields in another order\n    dbt:  {order_d:?}\n    kiln: {order_k:?}"),
            );
        }
        for (key, dv) in d {
            let Some(kv) = k.get(key) else { continue };
            path.push(key.clone());
            self.compare(path, dv, kv);
            path.pop();
        }
    }
}

/// A map keyed by unique_id or by user-chosen names (a section, `columns`, `meta`), whose order
/// is not dbt's dataclass order.
fn is_keyed(path: &[String]) -> bool {
    path.len() == 1 && KEYED_SECTIONS.contains(&path[0].as_str())
}

/// A value shortened for the failure message.
fn short(v: &Value) -> String {
    const MAX: usize = 400;
    let text = v.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Every macro `ids` reach through dbt's macros' `depends_on.macros`.
fn macro_closure(dbt: &Value, ids: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let mut stack: Vec<String> = ids
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    while let Some(id) = stack.pop() {
        if out.contains(&id) {
            continue;
        }
        if let Some(deps) = dbt["macros"][&id]["depends_on"]["macros"].as_array() {
            stack.extend(deps.iter().filter_map(|v| v.as_str().map(String::from)));
        }
        out.push(id);
    }
    out
}

/// SQL with its layout removed: runs of whitespace as one space, none around `(`, `)` and `,`.
fn without_layout(sql: &str) -> String {
    let collapsed = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    let chars: Vec<char> = collapsed.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let tight = |j: Option<&char>| matches!(j, Some('(' | ')' | ','));
        if *c == ' ' && (tight(chars.get(i + 1)) || (i > 0 && tight(chars.get(i - 1)))) {
            continue;
        }
        out.push(*c);
    }
    out
}

/// The legitimate differences in `compiled_code` made equal, node by node: SQL that dbt's own
/// macros generate is compared without its layout, and SQL that goes through
/// [`REWORDED_MACROS`] is not compared. Everything else must match byte for byte.
fn align_compiled_code(dbt: &Value, kiln: &mut Value) {
    let Some(nodes) = dbt["nodes"].as_object() else {
        return;
    };
    for (id, node) in nodes {
        let (Some(d), Some(k)) = (
            node["compiled_code"].as_str(),
            kiln["nodes"][id]["compiled_code"].as_str(),
        ) else {
            continue;
        };
        let reached = macro_closure(
            dbt,
            node["depends_on"]["macros"]
                .as_array()
                .map_or(&[], Vec::as_slice),
        );
        let package = |id: &String| id.split('.').nth(1).unwrap_or_default().to_string();
        let builtin = reached
            .iter()
            .any(|m| DBT_PACKAGES.contains(&package(m).as_str()));
        let reworded = reached.iter().any(|m| {
            let name = m.rsplit('.').next().unwrap_or_default();
            DBT_PACKAGES.contains(&package(m).as_str())
                && REWORDED_MACROS
                    .iter()
                    .any(|r| name == *r || name.ends_with(&format!("__{r}")))
        });
        if reworded || (builtin && without_layout(d) == without_layout(k)) {
            kiln["nodes"][id]["compiled_code"] = Value::from(d);
        }
    }
}

/// [`DBT_RUNTIME_MACROS`] taken out of dbt's `depends_on.macros` lists.
fn drop_runtime_macros(dbt: &mut Value) {
    for node in dbt["nodes"]
        .as_object_mut()
        .into_iter()
        .flat_map(|n| n.values_mut())
    {
        if let Some(list) = node["depends_on"]["macros"].as_array_mut() {
            list.retain(|m| !m.as_str().is_some_and(|m| DBT_RUNTIME_MACROS.contains(&m)));
        }
    }
}

/// The project's own macros: dbt's manifest also lists dbt-core's and dbt-duckdb's (packages
/// `dbt`, `dbt_duckdb`), whose Jinja is theirs, as kiln's built-ins are kiln's own. The
/// project's macros must match; the built-ins are not compared.
fn project_macros(m: &Value, project: &str) -> Value {
    Value::Object(
        m["macros"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, mac)| mac["package_name"] == project)
            .map(|(id, mac)| (id.clone(), mac.clone()))
            .collect(),
    )
}

#[test]
fn demo_manifest_matches_dbt_core_node_by_node() {
    let mut dbt = dbt_manifest();
    let mut kiln = kiln_manifest();
    let project = dbt["metadata"]["project_name"]
        .as_str()
        .expect("the recording names its project")
        .to_string();
    let mut diffs = Differences { lines: vec![] };

    // Top-level keys, in order.
    let keys = |m: &Value| -> Vec<String> {
        m.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    if keys(&dbt) != keys(&kiln) {
        diffs.push(
            &[],
            format!(
                "top-level keys\n    dbt:  {:?}\n    kiln: {:?}",
                keys(&dbt),
                keys(&kiln)
            ),
        );
    }

    // Metadata, with kiln's own `env` keys taken out.
    if let Some(env) = kiln["metadata"]["env"].as_object_mut() {
        for key in KILN_ENV_KEYS {
            env.remove(*key);
        }
    }
    diffs.compare(
        &mut vec!["metadata".into()],
        &dbt["metadata"],
        &kiln["metadata"],
    );

    align_compiled_code(&dbt, &mut kiln);
    drop_runtime_macros(&mut dbt);

    // Macros: the project's own.
    for m in [&mut dbt, &mut kiln] {
        let own = project_macros(m, &project);
        m["macros"] = own;
    }

    for section in KEYED_SECTIONS {
        let (Some(d), Some(k)) = (dbt[*section].as_object(), kiln[*section].as_object()) else {
            if dbt.get(*section) != kiln.get(*section) {
                diffs.push(&[section.to_string()], "missing or not a map".into());
            }
            continue;
        };
        let missing: Vec<&String> = d.keys().filter(|id| !k.contains_key(*id)).collect();
        let extra: Vec<&String> = k.keys().filter(|id| !d.contains_key(*id)).collect();
        for id in missing {
            diffs.push(
                &[section.to_string(), id.clone()],
                "missing in kiln's".into(),
            );
        }
        for id in extra {
            diffs.push(&[section.to_string(), id.clone()], "not in dbt's".into());
        }
        for (id, dv) in d {
            let Some(kv) = k.get(id) else { continue };
            diffs.compare(&mut vec![section.to_string(), id.clone()], dv, kv);
        }
    }

    assert!(
        diffs.lines.is_empty(),
        "kiln's manifest.json differs from dbt-core's (tests/dbt_recorded/manifest.json) in {} places:\n{}",
        diffs.lines.len(),
        diffs.lines.join("\n")
    );
}

/// The manifest of a whole build (build paths, compiled code, the demo's sources and exposures)
/// validates against dbt's published v12 schema, as tests/manifest.rs checks parse and compile.
#[test]
fn demo_manifest_matches_dbt_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/manifest-v12.json");
    let text = std::fs::read_to_string(&path).expect("the v12 schema");
    let schema = read_json(&path, &text);
    let validator = jsonschema::validator_for(&schema).expect("dbt's schema compiles");
    let manifest = kiln_manifest();
    let problems: Vec<String> = validator
        .iter_errors(&manifest)
        .map(|e| {
            format!(
                "{}: {}",
                e.instance_path(),
                short(&Value::from(e.to_string()))
            )
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The comparison has teeth: one changed field of one node is reported with its path.
#[test]
fn a_changed_field_is_named_by_its_path() {
    let dbt = dbt_manifest();
    let mut changed = dbt.clone();
    let id = changed["nodes"]
        .as_object()
        .and_then(|n| n.keys().find(|id| id.starts_with("test.")))
        .cloned()
        .expect("the recording has tests");
    changed["nodes"][&id]["config"]["severity"] = Value::from("SURPRISE");
    changed["nodes"][&id]["kiln_only"] = Value::Bool(true);
    let mut diffs = Differences { lines: vec![] };
    diffs.compare(
        &mut vec!["nodes".into(), id.clone()],
        &dbt["nodes"][&id],
        &changed["nodes"][&id],
    );
    assert_eq!(diffs.lines.len(), 2, "{:?}", diffs.lines);
    assert!(diffs.lines[0].starts_with(&format!("nodes/{id}: not in dbt's: [\"kiln_only\"]")));
    assert!(diffs.lines[1].starts_with(&format!("nodes/{id}/config/severity:")));
    // A legitimate difference is not reported.
    let mut later = dbt.clone();
    later["nodes"][&id]["created_at"] = Value::from(0.0);
    let mut none = Differences { lines: vec![] };
    none.compare(
        &mut vec!["nodes".into(), id.clone()],
        &dbt["nodes"][&id],
        &later["nodes"][&id],
    );
    assert!(none.lines.is_empty(), "{:?}", none.lines);
}

/// dbt's manifest as `--state`: kiln reads it with the same reader as its own, and finds the demo
/// unmodified resource by resource, so a team can move between dbt and kiln with `state:`
/// selection (slim CI) working across the switch. One edited model is then the only one
/// modified.
#[test]
fn dbts_manifest_as_state_finds_the_demo_unmodified() {
    let p = demo();
    let dir = p.dir();
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dbt_recorded/manifest.json");
    let text = std::fs::read_to_string(&recorded).expect("dbt's manifest");
    std::fs::create_dir_all(dir.join("prod")).expect("create state dir");
    std::fs::write(
        dir.join("prod/manifest.json"),
        text.replace(PROJECT_PLACEHOLDER, &dir.display().to_string()),
    )
    .expect("write state manifest");
    let ls = |selector: &str| {
        let run = p
            .kiln(&[
                "ls",
                "-s",
                selector,
                "--state",
                "prod",
                "--output",
                "name",
                "--indirect-selection",
                "empty",
            ])
            .run();
        run.assert_success();
        run.stdout
    };
    assert_eq!(ls("state:modified"), "");
    assert_eq!(ls("state:new"), "");
    let model = "models/aggregate/growth.sql";
    let sql = p.read(model);
    p.write(model, &format!("{sql}\n-- edited\n"));
    assert_eq!(ls("state:modified"), "growth\n");
}
