//! target/manifest.json, written by `kiln parse` and `kiln compile` on the jaffle-shop style
//! project in `tests/fixtures/manifest/`.
//!
//! What this locks in: the file validates against dbt's published v12 schema (a copy lives in
//! `tests/schemas/` so no test reaches outside the repository); it reads into test-local structs
//! that reject unknown fields, so the contract is pinned apart from kiln's serializer; names,
//! edges, relation names and inherited configs are what dbt writes for the same project; two
//! parses of one project differ only in the invocation's id and timestamps; and one model and one
//! generic test are pinned whole as insta snapshots.

use assert_cmd::Command;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const FIXTURE: &str = "tests/fixtures/manifest";
const SCHEMA: &str = "tests/schemas/manifest-v12.json";
const PROJECT: &str = "jaffle_shop";

/// Fields that change with every invocation.
const VOLATILE_METADATA: [&str; 4] = [
    "generated_at",
    "invocation_id",
    "invocation_started_at",
    "run_started_at",
];

// ---------------------------------------------------------------------------------------------
// Running kiln on a temporary copy of the fixture.
// ---------------------------------------------------------------------------------------------

/// The manifests of one temporary copy of the fixture: parsed twice, then compiled.
struct Runs {
    _tmp: tempfile::TempDir,
    project_dir: PathBuf,
    parse: Vec<u8>,
    parse_again: Vec<u8>,
    compile: Vec<u8>,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("fixture entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &dest);
            }
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy fixture file");
        }
    }
}

/// Runs `kiln <command>` on the project and returns target/manifest.json. The environment is
/// pinned: a temporary HOME, and exactly one `DBT_ENV_CUSTOM_ENV_` variable.
fn kiln(project_dir: &Path, command: &str) -> Vec<u8> {
    let mut cmd = Command::cargo_bin("kiln").expect("the kiln binary");
    for (key, _) in std::env::vars() {
        if key.starts_with("DBT_ENV_CUSTOM_ENV_") {
            cmd.env_remove(key);
        }
    }
    cmd.arg(command)
        .arg("--project-dir")
        .arg(project_dir)
        .arg("--profiles-dir")
        .arg(project_dir)
        .env("HOME", project_dir.join("home"))
        .env("DBT_ENV_CUSTOM_ENV_RUN_REASON", "tests")
        .assert()
        .success();
    std::fs::read(project_dir.join("target/manifest.json")).expect("target/manifest.json")
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let tmp = tempfile::Builder::new()
            .prefix("kiln-manifest")
            .tempdir()
            .expect("temp dir");
        let project_dir = tmp.path().join(PROJECT);
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE),
            &project_dir,
        );
        let parse = kiln(&project_dir, "parse");
        let parse_again = kiln(&project_dir, "parse");
        let compile = kiln(&project_dir, "compile");
        Runs {
            _tmp: tmp,
            project_dir,
            parse,
            parse_again,
            compile,
        }
    })
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("manifest.json is JSON")
}

fn typed(bytes: &[u8]) -> Manifest {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("manifest.json has dbt's shape: {e}"))
}

// ---------------------------------------------------------------------------------------------
// dbt's manifest, as test-local structs. `deny_unknown_fields` wherever dbt's schema forbids
// extra properties; `nullable` marks fields that must be present even when null.
// ---------------------------------------------------------------------------------------------

/// A field that must be present, possibly as `null` (plain `Option` fields may be absent).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    metadata: Metadata,
    nodes: BTreeMap<String, Node>,
    sources: BTreeMap<String, Source>,
    macros: BTreeMap<String, Macro>,
    docs: BTreeMap<String, Doc>,
    exposures: BTreeMap<String, Exposure>,
    metrics: Map<String, Value>,
    groups: Map<String, Value>,
    selectors: Map<String, Value>,
    disabled: BTreeMap<String, Vec<Value>>,
    parent_map: BTreeMap<String, Vec<String>>,
    child_map: BTreeMap<String, Vec<String>>,
    group_map: Map<String, Value>,
    saved_queries: Map<String, Value>,
    semantic_models: Map<String, Value>,
    unit_tests: Map<String, Value>,
    functions: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    dbt_schema_version: String,
    dbt_version: String,
    generated_at: String,
    invocation_id: String,
    invocation_started_at: String,
    env: BTreeMap<String, String>,
    project_name: String,
    project_id: String,
    #[serde(deserialize_with = "nullable")]
    user_id: Option<String>,
    send_anonymous_usage_stats: bool,
    adapter_type: String,
    quoting: Quoting,
    run_started_at: String,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Quoting {
    #[serde(deserialize_with = "nullable")]
    database: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    schema: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    identifier: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    column: Option<bool>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct FileHash {
    name: String,
    checksum: String,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Docs {
    show: bool,
    #[serde(deserialize_with = "nullable")]
    node_color: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DependsOn {
    macros: Vec<String>,
    /// Absent on seeds and macros.
    nodes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RefArgs {
    name: String,
    #[serde(deserialize_with = "nullable")]
    package: Option<String>,
    #[serde(deserialize_with = "nullable")]
    version: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contract {
    enforced: bool,
    alias_types: bool,
    #[serde(deserialize_with = "nullable")]
    checksum: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectedCte {
    id: String,
    sql: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestMetadata {
    name: String,
    kwargs: Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnConfig {
    meta: Map<String, Value>,
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Column {
    name: String,
    description: String,
    meta: Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    data_type: Option<String>,
    constraints: Vec<Value>,
    #[serde(deserialize_with = "nullable")]
    quote: Option<bool>,
    config: ColumnConfig,
    tags: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    granularity: Option<String>,
    doc_blocks: Vec<String>,
}

/// Any node: model, seed, snapshot, analysis, test. Fields every node has are required; the
/// others are checked per resource type in `node_fields_follow_resource_type`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Node {
    #[serde(deserialize_with = "nullable")]
    database: Option<String>,
    schema: String,
    name: String,
    resource_type: String,
    package_name: String,
    path: String,
    original_file_path: String,
    unique_id: String,
    fqn: Vec<String>,
    alias: String,
    checksum: FileHash,
    /// dbt allows any extra config key, so configs are maps.
    config: Map<String, Value>,
    tags: Vec<String>,
    description: String,
    columns: Map<String, Value>,
    meta: Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    group: Option<String>,
    docs: Docs,
    #[serde(deserialize_with = "nullable")]
    patch_path: Option<String>,
    #[serde(deserialize_with = "nullable")]
    build_path: Option<String>,
    unrendered_config: Map<String, Value>,
    created_at: f64,
    #[serde(deserialize_with = "nullable")]
    relation_name: Option<String>,
    raw_code: String,
    doc_blocks: Vec<String>,
    depends_on: DependsOn,
    // Seeds only.
    root_path: Option<String>,
    // Everything but seeds.
    language: Option<String>,
    refs: Option<Vec<RefArgs>>,
    sources: Option<Vec<(String, String)>>,
    metrics: Option<Vec<Vec<String>>>,
    functions: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "present")]
    compiled_path: Option<Option<String>>,
    contract: Option<Contract>,
    // Compiled nodes only.
    compiled: Option<bool>,
    compiled_code: Option<String>,
    extra_ctes_injected: Option<bool>,
    extra_ctes: Option<Vec<InjectedCte>>,
    // Models only.
    access: Option<String>,
    constraints: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "present")]
    version: Option<Option<Value>>,
    #[serde(default, deserialize_with = "present")]
    latest_version: Option<Option<Value>>,
    #[serde(default, deserialize_with = "present")]
    deprecation_date: Option<Option<String>>,
    primary_key: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    time_spine: Option<Option<Value>>,
    // Generic tests only.
    #[serde(default, deserialize_with = "present")]
    column_name: Option<Option<String>>,
    file_key_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    attached_node: Option<Option<String>>,
    test_metadata: Option<TestMetadata>,
    // on-run-start / on-run-end hooks (`operation` nodes) only.
    #[allow(dead_code)]
    index: Option<u64>,
}

/// For an optional field that may be null when present: `None` absent, `Some(None)` null.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Time {
    #[serde(deserialize_with = "nullable")]
    count: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    period: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Freshness {
    warn_after: Time,
    error_after: Time,
    #[serde(deserialize_with = "nullable")]
    filter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    #[serde(deserialize_with = "nullable")]
    database: Option<String>,
    schema: String,
    name: String,
    resource_type: String,
    package_name: String,
    path: String,
    original_file_path: String,
    unique_id: String,
    fqn: Vec<String>,
    source_name: String,
    source_description: String,
    loader: String,
    identifier: String,
    quoting: Quoting,
    #[serde(deserialize_with = "nullable")]
    loaded_at_field: Option<String>,
    #[serde(deserialize_with = "nullable")]
    loaded_at_query: Option<String>,
    #[serde(deserialize_with = "nullable")]
    freshness: Option<Freshness>,
    #[serde(deserialize_with = "nullable")]
    external: Option<Value>,
    description: String,
    columns: BTreeMap<String, Column>,
    meta: Map<String, Value>,
    source_meta: Map<String, Value>,
    tags: Vec<String>,
    config: Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    patch_path: Option<String>,
    unrendered_config: Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    relation_name: Option<String>,
    created_at: f64,
    #[serde(deserialize_with = "nullable")]
    unrendered_database: Option<String>,
    #[serde(deserialize_with = "nullable")]
    unrendered_schema: Option<String>,
    doc_blocks: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Exposure {
    name: String,
    resource_type: String,
    package_name: String,
    path: String,
    original_file_path: String,
    unique_id: String,
    fqn: Vec<String>,
    #[serde(rename = "type")]
    kind: String,
    owner: Map<String, Value>,
    description: String,
    #[serde(deserialize_with = "nullable")]
    label: Option<String>,
    #[serde(deserialize_with = "nullable")]
    maturity: Option<String>,
    meta: Map<String, Value>,
    tags: Vec<String>,
    config: Map<String, Value>,
    unrendered_config: Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    url: Option<String>,
    depends_on: DependsOn,
    refs: Vec<RefArgs>,
    sources: Vec<(String, String)>,
    metrics: Vec<Vec<String>>,
    created_at: f64,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct MacroArgument {
    name: String,
    #[serde(rename = "type", deserialize_with = "nullable")]
    kind: Option<String>,
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Macro {
    name: String,
    resource_type: String,
    package_name: String,
    path: String,
    original_file_path: String,
    unique_id: String,
    macro_sql: String,
    depends_on: DependsOn,
    description: String,
    meta: Map<String, Value>,
    docs: Docs,
    config: MacroConfig,
    #[serde(deserialize_with = "nullable")]
    patch_path: Option<String>,
    arguments: Vec<MacroArgument>,
    created_at: f64,
    #[serde(deserialize_with = "nullable")]
    supported_languages: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MacroConfig {
    meta: Map<String, Value>,
    docs: Docs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    name: String,
    resource_type: String,
    package_name: String,
    path: String,
    original_file_path: String,
    unique_id: String,
    block_contents: String,
}

fn uid(kind: &str, name: &str) -> String {
    format!("{kind}.{PROJECT}.{name}")
}

/// The generic test whose unique_id starts with `test.jaffle_shop.<name>.`.
fn test_node<'m>(m: &'m Manifest, name: &str) -> (&'m String, &'m Node) {
    let prefix = format!("test.{PROJECT}.{name}.");
    m.nodes
        .iter()
        .find(|(id, _)| id.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no test {name}"))
}

// ---------------------------------------------------------------------------------------------
// 1. dbt's published schema.
// ---------------------------------------------------------------------------------------------

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA);
    serde_json::from_slice(&std::fs::read(&path).expect("the v12 schema")).expect("schema JSON")
}

/// The schema's branch for one node, so that an invalid node is reported field by field rather
/// than as "matches none of the node types".
fn node_branch<'s>(schema: &'s Value, node: &Value) -> Option<&'s Value> {
    let title = match node.get("resource_type")?.as_str()? {
        "model" => "Model",
        "seed" => "Seed",
        "snapshot" => "Snapshot",
        "analysis" => "Analysis",
        "test" if node.get("test_metadata").is_some() => "GenericTest",
        "test" => "SingularTest",
        "operation" => "HookNode",
        _ => return None,
    };
    schema["properties"]["nodes"]["additionalProperties"]["anyOf"]
        .as_array()?
        .iter()
        .find(|b| b.get("title").and_then(Value::as_str) == Some(title))
}

/// An error message without the multi-kilobyte instance some messages quote.
fn shorten(message: &str) -> String {
    const MAX: usize = 300;
    match message.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_string(),
    }
}

fn assert_valid(manifest: &Value, what: &str) {
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).expect("dbt's schema compiles");
    let mut problems: Vec<String> = validator
        .iter_errors(manifest)
        .map(|e| format!("{}: {}", e.instance_path(), shorten(&e.to_string())))
        .collect();
    if problems.is_empty() {
        return;
    }
    for (id, node) in manifest["nodes"].as_object().into_iter().flatten() {
        let Some(branch) = node_branch(&schema, node) else {
            problems.push(format!(
                "/nodes/{id}: no schema branch for its resource_type"
            ));
            continue;
        };
        let node_validator = jsonschema::validator_for(branch).expect("branch compiles");
        problems.extend(
            node_validator
                .iter_errors(node)
                .map(|e| format!("/nodes/{id}{}: {e}", e.instance_path())),
        );
    }
    panic!(
        "{what}: manifest.json does not match dbt's v12 schema:\n{}",
        problems.join("\n")
    );
}

#[test]
fn parse_manifest_matches_dbt_schema() {
    assert_valid(&json_of(&runs().parse), "kiln parse");
}

#[test]
fn compile_manifest_matches_dbt_schema() {
    assert_valid(&json_of(&runs().compile), "kiln compile");
}

/// The check has teeth: a field dbt's schema does not know fails it, named with its path.
#[test]
#[should_panic(expected = "/nodes/model.jaffle_shop.orders: Additional properties are not allowed")]
fn schema_check_rejects_unknown_fields() {
    let mut manifest = json_of(&runs().parse);
    manifest["nodes"]["model.jaffle_shop.orders"]["kiln_only"] = json!(true);
    assert_valid(&manifest, "a manifest with an extra field");
}

// ---------------------------------------------------------------------------------------------
// 2. The contents, field by field.
// ---------------------------------------------------------------------------------------------

#[test]
fn metadata_describes_project_and_invocation() {
    let m = typed(&runs().parse).metadata;
    assert_eq!(
        m.dbt_schema_version,
        "https://schemas.getdbt.com/dbt/manifest/v12.json"
    );
    assert_eq!(m.dbt_version, kiln::DBT_COMPAT_VERSION);
    assert_eq!(m.project_name, PROJECT);
    // md5("jaffle_shop"), as dbt computes project_id.
    assert_eq!(m.project_id, "06e5b98c2db46f8a72cc4f66410e9b3b");
    assert_eq!(m.user_id, None);
    assert!(!m.send_anonymous_usage_stats);
    assert_eq!(m.adapter_type, "duckdb");
    assert_eq!(
        m.quoting,
        Quoting {
            database: Some(true),
            schema: Some(true),
            identifier: Some(true),
            column: None
        }
    );
    // dbt's `DBT_ENV_CUSTOM_ENV_*` variables, and the target that wrote the file (kiln's).
    assert_eq!(
        m.env,
        BTreeMap::from([
            ("RUN_REASON".to_string(), "tests".to_string()),
            ("kiln_target".to_string(), "dev".to_string()),
        ])
    );
    assert_eq!(m.invocation_id.len(), 36, "a UUID: {}", m.invocation_id);
    for stamp in [&m.generated_at, &m.invocation_started_at, &m.run_started_at] {
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "an RFC 3339 time: {stamp}"
        );
    }
}

#[test]
fn unique_ids_and_generated_test_names_match_dbt() {
    let m = typed(&runs().parse);
    let ids: Vec<&str> = m
        .nodes
        .keys()
        .map(|id| match id.matches('.').count() {
            // Generic tests end in a hash of their arguments; checked separately below.
            3 if id.starts_with("test.") => id.rsplit_once('.').map_or(id.as_str(), |(a, _)| a),
            _ => id.as_str(),
        })
        .collect();
    assert_eq!(
        ids,
        [
            "analysis.jaffle_shop.graph_probe",
            "analysis.jaffle_shop.order_status_counts",
            "model.jaffle_shop.customers",
            "model.jaffle_shop.int_customer_orders",
            "model.jaffle_shop.orders",
            "model.jaffle_shop.stg_customers",
            "model.jaffle_shop.stg_orders",
            "model.jaffle_shop.stg_payments",
            "seed.jaffle_shop.raw_customers",
            "seed.jaffle_shop.raw_orders",
            "seed.jaffle_shop.raw_payments",
            "snapshot.jaffle_shop.orders_snapshot",
            "test.jaffle_shop.accepted_values_orders_status__placed__shipped__completed__return_pending__returned",
            "test.jaffle_shop.assert_order_amount_is_positive",
            "test.jaffle_shop.not_null_customers_customer_id",
            "test.jaffle_shop.not_null_orders_order_id",
            "test.jaffle_shop.not_null_stg_customers_customer_id",
            "test.jaffle_shop.not_null_stg_orders_order_id",
            "test.jaffle_shop.relationships_orders_customer_id__customer_id__ref_customers_",
            "test.jaffle_shop.source_not_null_jaffle_shop_customers_id",
            "test.jaffle_shop.source_unique_jaffle_shop_customers_id",
            "test.jaffle_shop.unique_customers_customer_id",
            "test.jaffle_shop.unique_orders_order_id",
            "test.jaffle_shop.unique_stg_customers_customer_id",
            "test.jaffle_shop.unique_stg_orders_order_id",
        ]
    );
    // The hashes dbt gives the same tests (md5 of name and metadata, last 10 digits).
    for (id, n) in &m.nodes {
        if n.test_metadata.is_some() {
            let hash = id.rsplit('.').next().unwrap_or_default();
            assert_eq!(hash.len(), 10, "{id}");
            assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        }
    }
    assert_eq!(
        test_node(&m, "unique_customers_customer_id").0,
        "test.jaffle_shop.unique_customers_customer_id.c5af1ff4b1"
    );

    let (_, not_null) = test_node(&m, "not_null_orders_order_id");
    assert_eq!(not_null.alias, "not_null_orders_order_id");
    assert_eq!(not_null.path, "not_null_orders_order_id.sql");
    assert_eq!(not_null.original_file_path, "models/marts/schema.yml");
    assert_eq!(not_null.fqn, [PROJECT, "marts", "not_null_orders_order_id"]);
    assert_eq!(
        not_null.checksum,
        FileHash {
            name: "none".into(),
            checksum: String::new()
        }
    );
    assert_eq!(
        not_null.raw_code,
        "{{ test_not_null(**_dbt_generic_test_kwargs) }}"
    );
    assert_eq!(not_null.column_name, Some(Some("order_id".into())));
    assert_eq!(not_null.file_key_name.as_deref(), Some("models.orders"));
    assert_eq!(
        not_null.attached_node,
        Some(Some("model.jaffle_shop.orders".into()))
    );
    assert_eq!(not_null.schema, "main_dbt_test__audit");

    // A long name gets a short alias (and file name): first 30 characters plus an md5.
    let (_, accepted) = test_node(
        &m,
        "accepted_values_orders_status__placed__shipped__completed__return_pending__returned",
    );
    assert_eq!(
        accepted.alias,
        "accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758"
    );
    assert_eq!(
        accepted.path,
        "accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758.sql"
    );
    // The `arguments:` form gives the same name and kwargs as arguments written inline.
    let meta = accepted.test_metadata.as_ref().expect("test_metadata");
    assert_eq!(meta.name, "accepted_values");
    assert_eq!(meta.namespace, None);
    assert_eq!(
        Value::Object(meta.kwargs.clone()),
        json!({
            "values": ["placed", "shipped", "completed", "return_pending", "returned"],
            "column_name": "status",
            "model": "{{ get_where_subquery(ref('orders')) }}",
        })
    );
    // `severity: warn` under the test's `config:`, kept as written (dbt's default is `ERROR`).
    // The generated name is too long for a table: the short, hashed one is the test's alias
    // config, and dbt's raw_code repeats the test's configs in a `config()` call.
    assert_eq!(accepted.config["severity"], json!("warn"));
    let alias = "accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758";
    assert_eq!(accepted.alias, alias);
    assert_eq!(accepted.config["alias"], json!(alias));
    assert_eq!(
        accepted.unrendered_config,
        json_map(json!({"severity": "warn", "alias": alias}))
    );
    assert_eq!(
        accepted.raw_code,
        format!(
            "{{{{ test_accepted_values(**_dbt_generic_test_kwargs) }}}}{{{{ config(severity=\"warn\",alias=\"{alias}\") }}}}"
        )
    );

    let (_, relationships) = test_node(
        &m,
        "relationships_orders_customer_id__customer_id__ref_customers_",
    );
    // dbt renders the test's arguments (`to`), then the tested model: their refs in that order.
    assert_eq!(
        relationships.depends_on.nodes.as_deref(),
        Some(
            &[
                "model.jaffle_shop.customers".to_string(),
                "model.jaffle_shop.orders".to_string()
            ][..]
        )
    );
    assert_eq!(
        relationships.depends_on.macros,
        [
            "macro.dbt.test_relationships",
            "macro.dbt.get_where_subquery"
        ]
    );

    let (_, source_test) = test_node(&m, "source_unique_jaffle_shop_customers_id");
    assert_eq!(
        source_test.sources.as_deref(),
        Some(&[("jaffle_shop".to_string(), "customers".to_string())][..])
    );
    assert_eq!(
        source_test.file_key_name.as_deref(),
        Some("sources.jaffle_shop")
    );
    // dbt attaches no node to a source's tests.
    assert_eq!(source_test.attached_node, Some(None));
}

fn json_map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn node_fields_follow_resource_type() {
    let m = typed(&runs().parse);
    for (id, n) in &m.nodes {
        assert_eq!(&n.unique_id, id);
        assert_eq!(n.package_name, PROJECT);
        assert_eq!(n.created_at, 0.0, "{id}: created_at is fixed");
        assert_eq!(n.build_path, None);
        assert_eq!(n.group, None, "{id}");
        assert_eq!(n.fqn.last(), Some(&n.name), "{id}: fqn ends with the name");
        if let Some(contract) = &n.contract {
            assert!(!contract.enforced && contract.alias_types, "{id}: contract");
            assert_eq!(contract.checksum, None, "{id}: no checksum unless enforced");
        }
        assert_eq!(n.database.as_deref(), Some("jaffle"), "{id}");
        let seed = n.resource_type == "seed";
        assert_eq!(n.root_path.is_some(), seed, "{id}: root_path on seeds only");
        assert_eq!(n.language.is_some(), !seed, "{id}: language");
        assert_eq!(n.refs.is_some(), !seed, "{id}: refs");
        assert_eq!(n.sources.is_some(), !seed, "{id}: sources");
        assert_eq!(n.metrics.is_some(), !seed, "{id}: metrics");
        assert_eq!(n.functions.is_some(), !seed, "{id}: functions");
        assert_eq!(n.contract.is_some(), !seed, "{id}: contract");
        assert_eq!(
            n.depends_on.nodes.is_some(),
            !seed,
            "{id}: depends_on.nodes"
        );
        let model = n.resource_type == "model";
        for (field, present) in [
            ("access", n.access.is_some()),
            ("constraints", n.constraints.is_some()),
            ("version", n.version.is_some()),
            ("latest_version", n.latest_version.is_some()),
            ("deprecation_date", n.deprecation_date.is_some()),
            ("primary_key", n.primary_key.is_some()),
            ("time_spine", n.time_spine.is_some()),
        ] {
            assert_eq!(present, model, "{id}: {field} on models only");
        }
        let generic = n.test_metadata.is_some();
        assert_eq!(n.column_name.is_some(), generic, "{id}: column_name");
        assert_eq!(n.file_key_name.is_some(), generic, "{id}: file_key_name");
        assert_eq!(n.attached_node.is_some(), generic, "{id}: attached_node");
        assert_eq!(n.resource_type, id.split('.').next().unwrap_or_default());
        // Every config carries dbt's defaults for its resource type.
        let expected_keys: &[&str] = match n.resource_type.as_str() {
            "test" => &[
                "severity",
                "fail_calc",
                "warn_if",
                "error_if",
                "where",
                "limit",
            ],
            "seed" => &["delimiter", "quote_columns", "column_types", "persist_docs"],
            "snapshot" => &[
                "strategy",
                "unique_key",
                "updated_at",
                "check_cols",
                "snapshot_meta_column_names",
            ],
            "model" => &[
                "incremental_strategy",
                "on_schema_change",
                "grants",
                "contract",
                "access",
                "batch_size",
                "lookback",
                "event_time",
                "concurrent_batches",
            ],
            _ => &["materialized", "post-hook", "pre-hook"],
        };
        for key in [
            "enabled", "alias", "schema", "database", "tags", "meta", "group",
        ]
        .iter()
        .chain(expected_keys)
        {
            assert!(n.config.contains_key(*key), "{id}: config.{key}");
        }
    }
    let seed = &m.nodes[&uid("seed", "raw_payments")];
    assert_eq!(seed.depends_on.macros, Vec::<String>::new());
    assert_eq!(seed.config["delimiter"], json!(","));
    assert_eq!(seed.config["column_types"], json!({"id": "integer"}));
    assert_eq!(
        seed.patch_path.as_deref(),
        Some("jaffle_shop://seeds/schema.yml")
    );
    let root = PathBuf::from(seed.root_path.as_deref().unwrap_or_default());
    assert!(
        root.is_absolute(),
        "root_path is absolute: {}",
        root.display()
    );
    assert!(root.ends_with(PROJECT));

    let snapshot = &m.nodes[&uid("snapshot", "orders_snapshot")];
    assert_eq!(snapshot.config["strategy"], json!("timestamp"));
    assert_eq!(snapshot.config["unique_key"], json!("order_id"));
    assert_eq!(snapshot.config["updated_at"], json!("order_date"));
    assert_eq!(snapshot.config["target_schema"], json!("snapshots"));
    assert_eq!(snapshot.schema, "snapshots");
    assert_eq!(
        snapshot.relation_name.as_deref(),
        Some(r#""jaffle"."snapshots"."orders_snapshot""#)
    );
    assert_eq!(
        snapshot.fqn,
        [PROJECT, "orders_snapshot", "orders_snapshot"]
    );

    let singular = &m.nodes[&uid("test", "assert_order_amount_is_positive")];
    assert_eq!(singular.config["schema"], json!("dbt_test__audit"));
    assert_eq!(singular.relation_name, None);
    assert_eq!(singular.checksum.name, "sha256");

    // dbt files analyses under `analysis/` (path and fqn).
    let analysis = &m.nodes[&uid("analysis", "order_status_counts")];
    assert_eq!(analysis.relation_name, None);
    assert_eq!(analysis.path, "analysis/order_status_counts.sql");
    assert_eq!(analysis.fqn, [PROJECT, "analysis", "order_status_counts"]);
}

#[test]
fn edges_and_relation_names() {
    let m = typed(&runs().parse);
    let orders = &m.nodes[&uid("model", "orders")];
    assert_eq!(
        orders.relation_name.as_deref(),
        Some(r#""jaffle"."main"."orders""#)
    );
    assert_eq!(
        orders.refs.as_deref(),
        Some(
            &[
                RefArgs {
                    name: "stg_payments".into(),
                    package: None,
                    version: None
                },
                RefArgs {
                    name: "stg_orders".into(),
                    package: None,
                    version: None
                },
            ][..]
        )
    );
    assert_eq!(
        orders.depends_on.nodes.as_deref(),
        Some(&[uid("model", "stg_payments"), uid("model", "stg_orders")][..])
    );
    let stg_payments = &m.nodes[&uid("model", "stg_payments")];
    assert_eq!(
        stg_payments.depends_on.macros,
        ["macro.jaffle_shop.cents_to_dollars"]
    );
    let stg_customers = &m.nodes[&uid("model", "stg_customers")];
    assert_eq!(
        stg_customers.sources.as_deref(),
        Some(&[("jaffle_shop".to_string(), "customers".to_string())][..])
    );
    assert_eq!(
        stg_customers.depends_on.nodes.as_deref(),
        Some(&["source.jaffle_shop.jaffle_shop.customers".to_string()][..])
    );
    // An ephemeral model has no relation.
    assert_eq!(
        m.nodes[&uid("model", "int_customer_orders")].relation_name,
        None
    );

    // parent_map and child_map cover every node, source and exposure, with sorted lists.
    let every: BTreeSet<&String> = m
        .nodes
        .keys()
        .chain(m.sources.keys())
        .chain(m.exposures.keys())
        .collect();
    assert_eq!(m.parent_map.keys().collect::<BTreeSet<_>>(), every);
    assert_eq!(m.child_map.keys().collect::<BTreeSet<_>>(), every);
    for (id, list) in m.parent_map.iter().chain(m.child_map.iter()) {
        assert!(list.windows(2).all(|w| w[0] < w[1]), "{id}: sorted");
    }
    assert_eq!(
        m.parent_map[&uid("model", "orders")],
        [uid("model", "stg_orders"), uid("model", "stg_payments")]
    );
    assert_eq!(
        m.parent_map["exposure.jaffle_shop.weekly_revenue"],
        [uid("model", "customers"), uid("model", "orders")]
    );
    assert_eq!(
        m.parent_map["source.jaffle_shop.jaffle_shop.customers"],
        Vec::<String>::new()
    );
    let (relationships_id, _) = test_node(
        &m,
        "relationships_orders_customer_id__customer_id__ref_customers_",
    );
    let (accepted_id, _) = test_node(
        &m,
        "accepted_values_orders_status__placed__shipped__completed__return_pending__returned",
    );
    let (not_null_id, _) = test_node(&m, "not_null_orders_order_id");
    let (unique_id, _) = test_node(&m, "unique_orders_order_id");
    let mut orders_children = vec![
        uid("analysis", "order_status_counts"),
        "exposure.jaffle_shop.weekly_revenue".to_string(),
        accepted_id.clone(),
        uid("test", "assert_order_amount_is_positive"),
        not_null_id.clone(),
        relationships_id.clone(),
        unique_id.clone(),
    ];
    orders_children.sort();
    assert_eq!(m.child_map[&uid("model", "orders")], orders_children);
    assert_eq!(
        m.child_map["source.jaffle_shop.jaffle_shop.customers"],
        [
            uid("model", "stg_customers"),
            test_node(&m, "source_not_null_jaffle_shop_customers_id")
                .0
                .clone(),
            test_node(&m, "source_unique_jaffle_shop_customers_id")
                .0
                .clone(),
        ]
    );
    // A disabled node leaves the graph and the nodes, and is listed under `disabled`.
    let disabled = uid("model", "stg_legacy_orders");
    assert!(!m.nodes.contains_key(&disabled));
    assert!(!m.parent_map.contains_key(&disabled));
    let entry = &m.disabled[&disabled];
    assert_eq!(entry.len(), 1);
    assert_eq!(entry[0]["config"]["enabled"], json!(false));
    assert_eq!(entry[0]["resource_type"], json!("model"));
    assert_eq!(m.disabled.len(), 1);
}

#[test]
fn configs_inherit_as_in_dbt() {
    let m = typed(&runs().parse);
    let node = |name: &str| &m.nodes[&uid("model", name)];
    // Folder-level `+materialized`; `config()` in the file wins.
    assert_eq!(node("orders").config["materialized"], json!("table"));
    assert_eq!(node("customers").config["materialized"], json!("table"));
    assert_eq!(node("stg_orders").config["materialized"], json!("view"));
    assert_eq!(
        node("int_customer_orders").config["materialized"],
        json!("ephemeral")
    );
    // Tags accumulate: project, folder, then properties or config().
    assert_eq!(node("stg_payments").tags, ["shop", "staging", "finance"]);
    assert_eq!(
        node("stg_payments").config["tags"],
        json!(["shop", "staging", "finance"])
    );
    assert_eq!(node("customers").tags, ["shop", "marts", "pii"]);
    assert_eq!(node("orders").tags, ["shop", "marts"]);
    // Meta merges key by key; the deeper level wins on a clash.
    assert_eq!(
        Value::Object(node("stg_orders").meta.clone()),
        json!({"owner": "ops", "layer": "staging"})
    );
    assert_eq!(
        Value::Object(node("customers").meta.clone()),
        json!({"owner": "analytics", "layer": "marts", "sla": "daily"})
    );
    assert_eq!(
        node("customers").config["meta"],
        json!(node("customers").meta)
    );
    // unrendered_config: what the project wrote for the node, before defaults; as in dbt, the
    // deepest setting of a key replaces the others, tags and meta included.
    assert_eq!(
        node("stg_payments").unrendered_config,
        json_map(json!({
            "tags": ["finance"],
            "meta": {"layer": "staging"},
            "materialized": "view",
        }))
    );
    // dbt's defaults fill the rest.
    let orders = node("orders");
    assert_eq!(orders.config["on_schema_change"], json!("ignore"));
    assert_eq!(orders.config["access"], json!("protected"));
    assert_eq!(
        orders.config["contract"],
        json!({"enforced": false, "alias_types": true})
    );
    assert_eq!(
        orders.docs,
        Docs {
            show: true,
            node_color: None
        }
    );
    assert_eq!(orders.access.as_deref(), Some("protected"));
    // The primary key dbt infers from `unique` + `not_null` tests.
    assert_eq!(
        orders.primary_key.as_deref(),
        Some(&["order_id".to_string()][..])
    );
    assert_eq!(
        node("stg_payments").primary_key.as_deref(),
        Some(&[][..] as &[String])
    );
}

#[test]
fn descriptions_docs_and_columns() {
    let m = typed(&runs().parse);
    let customers = &m.nodes[&uid("model", "customers")];
    assert_eq!(
        customers.description,
        "One row per customer, with their first and most recent orders."
    );
    assert_eq!(customers.doc_blocks, ["doc.jaffle_shop.customers_overview"]);
    assert_eq!(
        customers.patch_path.as_deref(),
        Some("jaffle_shop://models/marts/schema.yml")
    );
    let orders = &m.nodes[&uid("model", "orders")];
    let columns: BTreeMap<String, Column> = orders
        .columns
        .iter()
        .map(|(k, v)| {
            let c: Column = serde_json::from_value(v.clone())
                .unwrap_or_else(|e| panic!("column {k} has dbt's shape: {e}"));
            (k.clone(), c)
        })
        .collect();
    assert_eq!(
        orders.columns.keys().collect::<Vec<_>>(),
        ["order_id", "customer_id", "status", "amount"],
        "columns keep the order they were documented in"
    );
    let status = &columns["status"];
    assert_eq!(status.name, "status");
    assert_eq!(
        status.description,
        "One of placed, shipped, completed, return_pending or returned."
    );
    assert_eq!(status.doc_blocks, ["doc.jaffle_shop.orders_status"]);
    assert_eq!(columns["amount"].data_type.as_deref(), Some("double"));
    assert_eq!(columns["amount"].quote, None);
    assert!(columns["order_id"].constraints.is_empty());
    assert!(columns["order_id"].config.tags.is_empty());
    assert!(columns["order_id"].config.meta.is_empty());
    assert!(columns["order_id"].meta.is_empty() && columns["order_id"].tags.is_empty());
    assert_eq!(columns["order_id"].granularity, None);

    let doc = &m.docs["doc.jaffle_shop.orders_status"];
    assert_eq!(doc.name, "orders_status");
    assert_eq!(doc.resource_type, "doc");
    assert_eq!(doc.package_name, PROJECT);
    assert_eq!(doc.path, "docs.md");
    assert_eq!(doc.original_file_path, "models/docs.md");
    assert_eq!(doc.unique_id, "doc.jaffle_shop.orders_status");
    assert_eq!(
        doc.block_contents,
        "One of placed, shipped, completed, return_pending or returned."
    );
    // The project's two blocks, and the docs site's default front page.
    assert_eq!(
        m.docs.keys().collect::<Vec<_>>(),
        [
            "doc.dbt.__overview__",
            "doc.jaffle_shop.customers_overview",
            "doc.jaffle_shop.orders_status"
        ]
    );
    assert_eq!(m.docs["doc.dbt.__overview__"].package_name, "dbt");
}

#[test]
fn sources_exposures_macros_selectors() {
    let m = typed(&runs().parse);
    let s = &m.sources["source.jaffle_shop.jaffle_shop.customers"];
    assert_eq!(s.resource_type, "source");
    assert_eq!(s.unique_id, "source.jaffle_shop.jaffle_shop.customers");
    assert_eq!(s.package_name, PROJECT);
    assert_eq!(s.database.as_deref(), Some("jaffle"));
    assert_eq!(
        (s.source_name.as_str(), s.name.as_str()),
        ("jaffle_shop", "customers")
    );
    assert_eq!(s.identifier, "raw_customers");
    assert_eq!(s.schema, "main");
    assert_eq!(s.path, "models/staging/sources.yml");
    assert_eq!(s.original_file_path, "models/staging/sources.yml");
    assert_eq!(s.fqn, [PROJECT, "staging", "jaffle_shop", "customers"]);
    assert_eq!(s.loader, "seeds");
    assert_eq!(s.source_description, "The shop's operational database.");
    assert_eq!(s.description, "Customers as the shop records them.");
    assert_eq!(
        s.relation_name.as_deref(),
        Some(r#""jaffle"."main"."raw_customers""#)
    );
    assert_eq!(s.loaded_at_field.as_deref(), Some("_loaded_at"));
    assert_eq!(s.loaded_at_query, None);
    let f = s.freshness.as_ref().expect("freshness");
    assert_eq!(
        (f.warn_after.count, f.warn_after.period.as_deref()),
        (Some(12), Some("hour"))
    );
    assert_eq!(
        (f.error_after.count, f.error_after.period.as_deref()),
        (Some(24), Some("hour"))
    );
    assert_eq!(f.filter, None);
    assert_eq!(s.config["freshness"]["warn_after"]["count"], json!(12));
    assert_eq!(s.config["enabled"], json!(true));
    assert_eq!(
        Value::Object(s.source_meta.clone()),
        json!({"system": "shop"})
    );
    assert_eq!(s.external, None);
    assert_eq!(s.patch_path, None);
    assert_eq!(s.unrendered_database, None);
    assert_eq!(s.unrendered_schema.as_deref(), Some("main"));
    // The source's meta reaches each of its tables, as dbt merges it.
    assert!(s.tags.is_empty());
    assert_eq!(Value::Object(s.meta.clone()), json!({"system": "shop"}));
    assert_eq!(s.config["meta"], json!({"system": "shop"}));
    assert_eq!(
        s.unrendered_config,
        json_map(json!({
            "freshness": {
                "warn_after": {"count": 12, "period": "hour"},
                "error_after": {"count": 24, "period": "hour"},
                "filter": null,
            },
            "loaded_at_field": "_loaded_at",
            "loaded_at_query": null,
            "meta": {"system": "shop"},
            "tags": [],
        }))
    );
    assert_eq!(s.columns["id"].name, "id");
    assert!(s.doc_blocks.is_empty());
    assert_eq!(
        s.quoting,
        Quoting {
            database: None,
            schema: None,
            identifier: None,
            column: None
        }
    );
    assert_eq!(s.created_at, 0.0);

    let e = &m.exposures["exposure.jaffle_shop.weekly_revenue"];
    assert_eq!(
        (e.name.as_str(), e.resource_type.as_str()),
        ("weekly_revenue", "exposure")
    );
    assert_eq!(e.kind, "dashboard");
    assert_eq!(e.label.as_deref(), Some("Weekly revenue"));
    assert_eq!(e.maturity.as_deref(), Some("high"));
    assert_eq!(
        e.url.as_deref(),
        Some("https://bi.example.com/dashboards/1")
    );
    assert_eq!(e.description, "Revenue by week, by payment method.");
    assert_eq!(
        Value::Object(e.owner.clone()),
        json!({"email": "finance@example.com", "name": "Finance"})
    );
    assert_eq!(e.depends_on.macros, Vec::<String>::new());
    assert_eq!(
        e.depends_on.nodes.as_deref(),
        Some(&[uid("model", "orders"), uid("model", "customers")][..])
    );
    assert_eq!(e.refs.len(), 2);
    assert!(e.sources.is_empty() && e.metrics.is_empty());
    assert_eq!(e.fqn, [PROJECT, "marts", "weekly_revenue"]);
    assert_eq!(e.package_name, PROJECT);
    assert_eq!(e.unique_id, "exposure.jaffle_shop.weekly_revenue");
    assert_eq!(
        (e.path.as_str(), e.original_file_path.as_str()),
        ("marts/exposures.yml", "models/marts/exposures.yml")
    );
    assert!(e.meta.is_empty() && e.tags.is_empty() && e.unrendered_config.is_empty());
    assert_eq!(e.config["enabled"], json!(true));
    assert_eq!(e.created_at, 0.0);

    let mac = &m.macros["macro.jaffle_shop.cents_to_dollars"];
    assert_eq!(mac.name, "cents_to_dollars");
    assert_eq!(mac.resource_type, "macro");
    assert_eq!(mac.package_name, PROJECT);
    assert_eq!(mac.unique_id, "macro.jaffle_shop.cents_to_dollars");
    assert_eq!(mac.path, "macros/cents_to_dollars.sql");
    assert_eq!(mac.original_file_path, "macros/cents_to_dollars.sql");
    assert!(
        mac.macro_sql
            .starts_with("{% macro cents_to_dollars(column_name, scale=2) -%}")
    );
    assert!(mac.macro_sql.ends_with("{%- endmacro %}"));
    assert_eq!(mac.description, "Converts an amount in cents to dollars.");
    // dbt 1.11 repeats a macro's meta and docs as its config.
    assert_eq!(mac.config.meta, mac.meta);
    assert_eq!(mac.config.docs, mac.docs);
    assert_eq!(
        mac.patch_path.as_deref(),
        Some("jaffle_shop://macros/schema.yml")
    );
    assert_eq!(
        mac.arguments,
        [
            MacroArgument {
                name: "column_name".into(),
                kind: Some("string".into()),
                description: "The column holding cents.".into()
            },
            MacroArgument {
                name: "scale".into(),
                kind: Some("integer".into()),
                description: "Decimal places to keep.".into()
            },
        ]
    );
    assert!(mac.meta.is_empty() && mac.docs.show && mac.supported_languages.is_none());
    assert_eq!(mac.created_at, 0.0);
    assert_eq!(mac.depends_on.nodes, None);
    // kiln's built-in macros are listed under the `dbt` package.
    let builtin = &m.macros["macro.dbt.test_not_null"];
    assert_eq!(builtin.package_name, "dbt");
    assert!(
        m.macros
            .keys()
            .all(|k| k.starts_with("macro.dbt.") || k.starts_with("macro.jaffle_shop."))
    );

    assert_eq!(
        Value::Object(m.selectors.clone()),
        json!({
            "nightly": {
                "name": "nightly",
                "description": "Marts and everything they need",
                "definition": {"union": [
                    {"method": "tag", "value": "marts", "parents": true},
                    {"method": "source", "value": "jaffle_shop", "children": true},
                ]},
            },
            "staging_only": {
                "name": "staging_only",
                "definition": {"method": "tag", "value": "staging"},
            },
        })
    );
    for (what, map) in [
        ("metrics", &m.metrics),
        ("groups", &m.groups),
        ("group_map", &m.group_map),
        ("saved_queries", &m.saved_queries),
        ("semantic_models", &m.semantic_models),
        ("unit_tests", &m.unit_tests),
        ("functions", &m.functions),
    ] {
        assert!(map.is_empty(), "{what} is empty");
    }
}

#[test]
fn compiled_fields_appear_only_after_compile() {
    let parsed = typed(&runs().parse);
    for (id, n) in &parsed.nodes {
        assert_eq!(n.compiled, None, "{id}: compiled after parse");
        assert_eq!(n.compiled_code, None, "{id}: compiled_code after parse");
        assert!(
            n.extra_ctes_injected.is_none() && n.extra_ctes.is_none(),
            "{id}"
        );
        if n.resource_type != "seed" {
            assert_eq!(n.compiled_path, Some(None), "{id}: compiled_path is null");
        }
    }
    let compiled = typed(&runs().compile);
    assert_eq!(
        compiled.nodes.keys().collect::<Vec<_>>(),
        parsed.nodes.keys().collect::<Vec<_>>()
    );
    for (id, n) in &compiled.nodes {
        if n.resource_type == "seed" {
            assert!(n.compiled.is_none() && n.compiled_path.is_none(), "{id}");
            continue;
        }
        assert_eq!(n.compiled, Some(true), "{id}: compiled");
        assert_eq!(n.extra_ctes_injected, Some(true), "{id}");
        let code = n.compiled_code.as_deref().unwrap_or_default();
        assert!(
            !code.contains("{{"),
            "{id}: compiled code is rendered: {code}"
        );
        // dbt writes no compiled file for a snapshot: its compiled_path stays null.
        if n.resource_type == "snapshot" {
            assert_eq!(n.compiled_path, Some(None), "{id}");
            continue;
        }
        let path = n.compiled_path.clone().flatten().unwrap_or_default();
        assert!(
            path.starts_with("target/compiled/jaffle_shop/"),
            "{id}: {path}"
        );
        assert!(
            runs().project_dir.join(&path).is_file(),
            "{id}: {path} was written"
        );
    }
    let orders = &compiled.nodes[&uid("model", "orders")];
    let code = orders.compiled_code.as_deref().unwrap_or_default();
    for method in ["credit_card", "coupon", "bank_transfer", "gift_card"] {
        assert!(
            code.contains(&format!("when payment_method = '{method}' then amount")),
            "the loop is expanded for {method}:\n{code}"
        );
    }
    assert!(code.contains(r#"from "jaffle"."main"."stg_orders" as orders"#));
    assert_eq!(
        orders.compiled_path.clone().flatten().as_deref(),
        Some("target/compiled/jaffle_shop/models/marts/orders.sql")
    );
    // The ephemeral model is injected as a CTE named after it, with its unique_id.
    let customers = &compiled.nodes[&uid("model", "customers")];
    let ctes = customers.extra_ctes.as_deref().unwrap_or_default();
    assert_eq!(ctes.len(), 1);
    assert_eq!(ctes[0].id, uid("model", "int_customer_orders"));
    assert!(
        ctes[0]
            .sql
            .starts_with(" __dbt__cte__int_customer_orders as (\n")
    );
    assert!(
        customers
            .compiled_code
            .as_deref()
            .unwrap_or_default()
            .starts_with("with __dbt__cte__int_customer_orders as (")
    );
    let (_, not_null) = test_node(&compiled, "not_null_orders_order_id");
    assert_eq!(
        not_null.compiled_path.clone().flatten().as_deref(),
        Some("target/compiled/jaffle_shop/models/marts/schema.yml/not_null_orders_order_id.sql")
    );
}

/// Jinja's `model` and `graph.nodes` entries are the manifest's dicts, defaults and inferred
/// fields included (`analyses/graph_probe.sql` prints some of them).
#[test]
fn jinja_model_and_graph_are_manifest_dicts() {
    let m = typed(&runs().compile);
    let probe = &m.nodes[&uid("analysis", "graph_probe")];
    let code = probe.compiled_code.as_deref().unwrap_or_default();
    for expected in [
        "'analysis.jaffle_shop.graph_probe' as this_node",
        "'view' as this_materialized",
        "'ignore' as this_on_schema_change",
        "'table' as orders_materialized",
        "'order_id' as orders_primary_key",
        "'seeds' as customers_loader",
        "6 as models",
    ] {
        assert!(code.contains(expected), "{expected} in:\n{code}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Determinism.
// ---------------------------------------------------------------------------------------------

/// The manifest's text with the invocation's id and timestamps blanked.
fn stable_text(bytes: &[u8]) -> String {
    let mut text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    let manifest = json_of(bytes);
    for key in VOLATILE_METADATA {
        let written = format!("\"{key}\":{}", manifest["metadata"][key]);
        assert!(
            text.contains(&written),
            "metadata.{key} is written as {written}"
        );
        text = text.replacen(&written, &format!("\"{key}\":\"\""), 1);
    }
    text
}

#[test]
fn identical_projects_give_identical_bytes() {
    let runs = runs();
    let first = json_of(&runs.parse);
    let second = json_of(&runs.parse_again);
    assert_ne!(
        first["metadata"]["invocation_id"], second["metadata"]["invocation_id"],
        "each invocation has its own id"
    );
    let (a, b) = (stable_text(&runs.parse), stable_text(&runs.parse_again));
    if a != b {
        let diff = similar::TextDiff::from_lines(&a, &b);
        panic!(
            "two parses of one project differ:\n{}",
            diff.unified_diff().context_radius(2)
        );
    }
}

/// The file is written entry by entry; it must hold the bytes of the manifest built whole.
#[test]
fn streamed_file_equals_manifest_value() {
    use clap::Parser;
    let dir = &runs().project_dir;
    let cli = kiln::cli::Cli::parse_from([
        "kiln".as_ref(),
        "parse".as_ref(),
        "--project-dir".as_ref(),
        dir.as_os_str(),
        "--profiles-dir".as_ref(),
        dir.as_os_str(),
    ]);
    let inv = kiln::invocation::Invocation::from_cli(&cli).expect("invocation");
    let loaded = kiln::commands::load_and_parse(&inv, "parse").expect("the fixture loads");
    let meta = loaded.manifest_meta();
    let whole = kiln::artifacts::manifest_json(
        &loaded.project,
        &loaded.graph,
        &loaded.jenv.builtin_macros,
        &meta,
    );
    let mut streamed = vec![];
    kiln::artifacts::manifest::write_manifest(
        &mut streamed,
        &loaded.project,
        &loaded.graph,
        &loaded.jenv.builtin_macros,
        &meta,
    )
    .expect("write to memory");
    let expected = serde_json::to_vec(&whole).expect("serialize");
    assert_same_bytes(&streamed, &expected, "streamed and whole manifests");
    // And the file `kiln parse` wrote holds the same resources (its metadata differs: another
    // invocation, another environment).
    let after_metadata = |b: &[u8]| {
        let text = String::from_utf8(b.to_vec()).expect("UTF-8");
        let at = text.find(",\"nodes\":").expect("a nodes key");
        text[at..].to_string()
    };
    assert_same_bytes(
        after_metadata(&streamed).as_bytes(),
        after_metadata(&runs().parse).as_bytes(),
        "in-process and `kiln parse` manifests",
    );
}

/// Equal bytes, or a panic that shows where they part.
fn assert_same_bytes(a: &[u8], b: &[u8], what: &str) {
    let Some(at) = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
    else {
        return;
    };
    let context = |s: &[u8]| {
        String::from_utf8_lossy(&s[at.saturating_sub(80).min(s.len())..(at + 80).min(s.len())])
            .into_owned()
    };
    panic!(
        "{what} differ at byte {at}:\n  {}\n  {}",
        context(a),
        context(b)
    );
}

// ---------------------------------------------------------------------------------------------
// 4. One model and one generic test, whole.
// ---------------------------------------------------------------------------------------------

/// A compiled node with the fields that vary by machine or fixture edit replaced.
fn snapshot_node(id_prefix: &str) -> Value {
    let manifest = json_of(&runs().compile);
    let (_, node) = manifest["nodes"]
        .as_object()
        .and_then(|nodes| nodes.iter().find(|(id, _)| id.starts_with(id_prefix)))
        .unwrap_or_else(|| panic!("no node {id_prefix}"));
    let mut node = node.clone();
    if let Some(sum) = node.pointer_mut("/checksum/checksum")
        && sum.as_str().is_some_and(|s| !s.is_empty())
    {
        *sum = Value::from("[sha256]");
    }
    if let Some(created) = node.get_mut("created_at") {
        *created = Value::from("[created_at]");
    }
    node
}

#[test]
fn model_node_snapshot() {
    insta::assert_json_snapshot!("orders_model", snapshot_node("model.jaffle_shop.orders"));
}

#[test]
fn generic_test_node_snapshot() {
    insta::assert_json_snapshot!(
        "accepted_values_test",
        snapshot_node("test.jaffle_shop.accepted_values_orders_status__")
    );
}

#[test]
fn run_hooks_are_operation_nodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(Path::new("tests/fixtures/manifest"), dir.path());
    let project = dir.path().join("dbt_project.yml");
    let mut text = std::fs::read_to_string(&project).expect("dbt_project.yml");
    text.push_str("\non-run-start:\n  - \"create schema if not exists {{ target.schema }}_audit\"\non-run-end: \"select 1\"\n");
    std::fs::write(&project, text).expect("write dbt_project.yml");
    let manifest = json_of(&kiln(dir.path(), "parse"));
    assert_valid(&manifest, "parse manifest with hooks");
    let start = &manifest["nodes"]["operation.jaffle_shop.jaffle_shop-on-run-start-0"];
    assert_eq!(start["resource_type"], json!("operation"));
    assert_eq!(start["index"], json!(0));
    assert_eq!(start["tags"], json!(["on-run-start"]));
    assert_eq!(
        start["raw_code"],
        json!("create schema if not exists {{ target.schema }}_audit")
    );
    let end = &manifest["nodes"]["operation.jaffle_shop.jaffle_shop-on-run-end-0"];
    assert_eq!(end["raw_code"], json!("select 1"));
}

// ---------------------------------------------------------------------------------------------
// The semantic layer (tests/fixtures/semantic), against what dbt-core 1.11 writes for it.
// ---------------------------------------------------------------------------------------------

const SEMANTIC: &str = "tests/fixtures/semantic";

/// A temporary copy of the semantic-layer fixture, with `schema.yml` edited by `edit`.
fn semantic_project(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix("kiln-semantic")
        .tempdir()
        .expect("temp dir");
    let dir = tmp.path().join("semantic");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SEMANTIC), &dir);
    let schema = dir.join("models/schema.yml");
    let text = std::fs::read_to_string(&schema).expect("schema.yml");
    std::fs::write(&schema, edit(text)).expect("write schema.yml");
    (tmp, dir)
}

fn without_created_at(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "created_at")
                .map(|(k, v)| (k.clone(), without_created_at(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_created_at).collect()),
        other => other.clone(),
    }
}

fn expected(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(SEMANTIC)
        .join("dbt_expected")
        .join(file);
    serde_json::from_slice(&std::fs::read(&path).expect("recorded file")).expect("JSON")
}

/// The semantic models, metrics (every type) and saved queries are manifest.json's sections
/// exactly as dbt writes them (filters kept as MetricFlow's text), with their edges, valid
/// against v12; semantic_manifest.json holds the same resources as dbt's.
#[test]
fn semantic_layer_sections_match_dbt() {
    let (_tmp, dir) = semantic_project(|t| t);
    let manifest = json_of(&kiln(&dir, "parse"));
    assert_valid(&manifest, "kiln parse (semantic layer)");
    let want = expected("manifest_sections.json");
    for section in ["semantic_models", "metrics", "saved_queries"] {
        assert_eq!(
            without_created_at(&manifest[section]),
            want[section],
            "manifest.json's {section}"
        );
    }
    for (id, parents) in want["parent_map"].as_object().expect("parent_map") {
        assert_eq!(&manifest["parent_map"][id], parents, "parent_map of {id}");
    }
    assert_eq!(
        manifest["metrics"]["metric.semantic.food_revenue"]["filter"]["where_filters"][0]["where_sql_template"],
        "{{ Dimension('order_id__is_food') }} = true\n"
    );
    let semantic: Value = serde_json::from_slice(
        &std::fs::read(dir.join("target/semantic_manifest.json")).expect("semantic_manifest.json"),
    )
    .expect("JSON");
    let want = expected("semantic_manifest.json");
    // dbt lists resources in its parse order, kiln by unique_id: compared by name.
    let by_name = |v: &Value| -> BTreeMap<String, Value> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|x| (x["name"].as_str().expect("name").to_string(), x.clone()))
            .collect()
    };
    for key in ["semantic_models", "metrics", "saved_queries"] {
        assert_eq!(
            by_name(&semantic[key]),
            by_name(&want[key]),
            "semantic_manifest {key}"
        );
    }
    assert_eq!(
        semantic["project_configuration"],
        want["project_configuration"]
    );
    // A model's `time_spine:` property, as dbt-core 1.11 writes it on the node.
    assert_eq!(
        manifest["nodes"]["model.semantic.time_spine_daily"]["time_spine"],
        serde_json::json!({
            "standard_granularity_column": "date_day",
            "custom_granularities": [{"name": "fiscal_year", "column_name": "fiscal_year"}]
        })
    );
}

/// A time spine whose standard granularity column is not one of the model's columns: exit 2,
/// at the property's line.
#[test]
fn a_time_spine_column_the_model_lacks_is_an_error_at_its_line() {
    let (_tmp, dir) = semantic_project(|t| t);
    let yml = dir.join("models/time_spine.yml");
    let text = std::fs::read_to_string(&yml).expect("time_spine.yml");
    std::fs::write(
        &yml,
        text.replace(
            "standard_granularity_column: date_day",
            "standard_granularity_column: day",
        ),
    )
    .expect("write");
    let out = Command::cargo_bin("kiln")
        .expect("the kiln binary")
        .arg("parse")
        .arg("--project-dir")
        .arg(&dir)
        .arg("--profiles-dir")
        .arg(&dir)
        .env("HOME", dir.join("home"))
        .output()
        .expect("run kiln");
    assert_eq!(out.status.code(), Some(2));
    let stderr =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("model 'time_spine_daily': the time spine's standard granularity column 'day' is not among the model's columns"),
        "{stderr}"
    );
    assert!(stderr.contains("models/time_spine.yml:6:"), "{stderr}");
}

/// `kiln parse` on a broken semantic layer: exit 2, the file and line of the mistake.
#[test]
fn semantic_layer_mistakes_name_file_and_line() {
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "model: ref('orders')",
            "model: ref('order')",
            "semantic model 'orders' reads model 'order', which does not exist",
            "models/schema.yml:4:",
        ),
        (
            "      measure: order_count",
            "      measure: order_counts",
            "metric 'orders' reads measure 'order_counts', which no semantic model defines",
            "models/schema.yml:69:",
        ),
        (
            "      - name: is_food\n",
            "      - name: ordered_at\n",
            "semantic model 'orders' has two entities, dimensions or measures named 'ordered_at'",
            "models/schema.yml:18:",
        ),
        (
            "      denominator: revenue",
            "      denominator: revenu",
            "metric 'food_share' reads metric 'revenu', which does not exist",
            "models/schema.yml:75:",
        ),
    ];
    for (from, to, message, at) in cases {
        let (_tmp, dir) = semantic_project(|t| {
            assert!(t.contains(from), "fixture holds {from:?}");
            t.replacen(from, to, 1)
        });
        let out = Command::cargo_bin("kiln")
            .expect("the kiln binary")
            .arg("parse")
            .arg("--project-dir")
            .arg(&dir)
            .arg("--profiles-dir")
            .arg(&dir)
            .env("HOME", dir.join("home"))
            .output()
            .expect("kiln runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains(message), "expected {message:?} in:\n{text}");
        assert!(text.contains(at), "expected {at:?} in:\n{text}");
    }
}

/// `ls` lists the semantic layer with dbt's selectors, `+` follows its edges, and `build`
/// visits the saved query as a NO-OP after the models (dbt 1.11's counts).
#[test]
fn semantic_layer_in_ls_and_build() {
    let (_tmp, dir) = semantic_project(|t| t);
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("kiln")
            .expect("the kiln binary")
            .args(args)
            .arg("--project-dir")
            .arg(&dir)
            .arg("--profiles-dir")
            .arg(&dir)
            .env("HOME", dir.join("home"))
            .output()
            .expect("kiln runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ls = run(&[
        "ls",
        "-q",
        "-s",
        "semantic_model:*",
        "metric:revenue",
        "saved_query:*",
    ]);
    assert_eq!(
        ls,
        "metric:semantic.revenue\nsaved_query:semantic.daily_revenue\n\
         semantic_model:semantic.orders\nsemantic_model:semantic.visits\n"
    );
    let upstream = run(&["ls", "-q", "-s", "+saved_query:daily_revenue"]);
    assert_eq!(
        upstream,
        "metric:semantic.orders\nmetric:semantic.revenue\nsemantic.orders\n\
         saved_query:semantic.daily_revenue\nsemantic_model:semantic.orders\n"
    );
    let build = run(&["build"]);
    assert!(build.contains("NO-OP saved query daily_revenue"), "{build}");
    assert!(
        build.contains("Finished running 1 saved query, 4 view models"),
        "{build}"
    );
    assert!(
        build.contains("Done. PASS=4 WARN=0 ERROR=0 SKIP=0 NO-OP=1 TOTAL=5"),
        "{build}"
    );
}

#[path = "manifest/semantic_config.rs"]
mod semantic_config;

#[path = "manifest/source_test_tags.rs"]
mod source_test_tags;
