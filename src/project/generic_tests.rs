//! Generic tests declared in properties YAML (`data_tests:` / `tests:` on models, columns,
//! sources), turned into test nodes with dbt's generated names and unique ids, so run results and
//! catalogs line up with what dbt would produce for the same project.

use super::config::{Config, merge_into, project_config_for};
use super::discover::FoundFile;
use super::node::*;
use super::properties::ColumnProps;
use super::refs::{RefOrSource, parse_ref_or_source};
use super::yaml::YamlSpan;
use crate::error::Diagnostic;
use indexmap::IndexMap;
use md5::{Digest, Md5};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Keys of a test definition that are configs, not arguments (dbt's list, in dbt's order).
pub const CONFIG_ARGS: &[&str] = &[
    "severity",
    "tags",
    "enabled",
    "where",
    "limit",
    "warn_if",
    "error_if",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "meta",
    "database",
    "schema",
    "alias",
];

#[derive(Debug, Clone)]
enum TestedResource {
    Node {
        uid: String,
        name: String,
        version: Option<String>,
    },
    Source {
        uid: String,
        source: String,
        table: String,
    },
}

/// A test entry read from YAML, waiting for every node to exist.
#[derive(Debug, Clone)]
pub struct PendingTest {
    def: Value,
    column: Option<String>,
    /// The column's name is quoted in the test (`quote: true`, or a source's `quoting: {column:
    /// true}` where the column says nothing), as dbt quotes it: `column_name` is `"select"`.
    quote: bool,
    target: TestedResource,
    key_name: String,
    folders: Vec<String>,
    original_file_path: String,
    /// The properties file relative to the root project (see [`FoundFile::shown`]).
    shown: String,
    /// The test's entry in its properties file (`models[0].columns[1].data_tests[0]`).
    span: YamlSpan,
    /// Tags it inherits (a source's, its table's, its column's): [`PendingTest::inheriting`].
    inherited_tags: Vec<String>,
}

impl PendingTest {
    #[allow(clippy::too_many_arguments)]
    pub fn for_node(
        def: &Value,
        column: Option<&ColumnProps>,
        uid: &str,
        name: &str,
        version: Option<&str>,
        key_name: &str,
        folders: &[String],
        f: &FoundFile,
        span: YamlSpan,
    ) -> Self {
        Self::new(
            def,
            column,
            false,
            TestedResource::Node {
                uid: uid.into(),
                name: name.into(),
                version: version.map(ToString::to_string),
            },
            key_name,
            folders,
            f,
            span,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn for_source(
        def: &Value,
        column: Option<&ColumnProps>,
        quote_columns: bool,
        uid: &str,
        source: &str,
        table: &str,
        key_name: &str,
        folders: &[String],
        f: &FoundFile,
        span: YamlSpan,
    ) -> Self {
        let target = TestedResource::Source {
            uid: uid.into(),
            source: source.into(),
            table: table.into(),
        };
        Self::new(
            def,
            column,
            quote_columns,
            target,
            key_name,
            folders,
            f,
            span,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        def: &Value,
        column: Option<&ColumnProps>,
        quote_columns: bool,
        target: TestedResource,
        key_name: &str,
        folders: &[String],
        f: &FoundFile,
        span: YamlSpan,
    ) -> Self {
        PendingTest {
            def: def.clone(),
            column: column.map(|c| c.name.clone()),
            quote: column.is_some_and(|c| c.quote.unwrap_or(quote_columns)),
            target,
            key_name: key_name.into(),
            folders: folders.to_vec(),
            original_file_path: f.original_file_path.clone(),
            shown: f.shown.clone(),
            span,
            inherited_tags: vec![],
        }
    }

    /// The test with the tags of what it is defined on (dbt gives a source test the source's
    /// and the table's `tags:`, and a column test the column's).
    #[must_use]
    pub fn inheriting(mut self, tags: Vec<String>) -> Self {
        self.inherited_tags = tags;
        self
    }

    /// Where the test is written.
    pub fn span(&self) -> &YamlSpan {
        &self.span
    }
}

/// Builds the test node for `t`.
pub fn build(
    t: &PendingTest,
    project: &str,
    test_tree: &Map<String, Value>,
    db: &str,
    schema: &str,
    quote_char: char,
) -> Result<Node, Diagnostic> {
    let column = t.column.as_ref().map(|c| {
        if t.quote {
            format!("{quote_char}{c}{quote_char}")
        } else {
            c.clone()
        }
    });
    let bad = |m: String| {
        // Located by the caller, from `t.span`.
        Diagnostic::error("test", m)
            .in_file(&t.shown)
            .with_help("write a test as a name (`- unique`) or a one-key mapping (`- accepted_values: {values: [a, b]}`)")
    };
    let (full_test_name, body): (String, Map<String, Value>) = match &t.def {
        Value::String(s) => (s.clone(), Map::new()),
        Value::Object(m) if m.contains_key("test_name") => {
            let name = m
                .get("test_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let mut body = m.clone();
            body.remove("test_name");
            (name, body)
        }
        Value::Object(m) if m.len() == 1 => {
            let Some((k, v)) = m.iter().next() else {
                return Err(bad("empty test".into()));
            };
            let body = match v {
                Value::Object(b) => b.clone(),
                Value::Null => Map::new(),
                other => {
                    return Err(bad(format!(
                        "the arguments of test '{k}' must be a mapping, not {other}"
                    ))
                    .with_help(format!(
                        "name each argument under the test, e.g. `- {k}: {{values: [a, b]}}`, or under `arguments:`"
                    )));
                }
            };
            (k.clone(), body)
        }
        Value::Object(m) => {
            let names: Vec<&str> = m.keys().map(String::as_str).collect();
            return Err(bad(format!(
                "one test entry names {} tests: {}",
                names.len(),
                names.join(", ")
            ))
            .with_help(format!(
                "give each test its own `- ` entry: {}",
                names
                    .iter()
                    .map(|n| format!("`- {n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        other => {
            return Err(bad(format!(
                "a test must be a test name or a mapping, not {other}"
            )));
        }
    };
    if full_test_name.is_empty() {
        return Err(bad("a test needs a name".into()));
    }
    let (namespace, test_name) = match full_test_name.split_once('.') {
        Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
        None => (None, full_test_name.clone()),
    };

    let mut config = Config::new();
    let mut args = Map::new();
    let mut custom_name = None;
    let mut description = String::new();
    for (k, v) in &body {
        match k.as_str() {
            "config" => {
                if let Value::Object(c) = v {
                    merge_into(&mut config, c);
                }
            }
            "arguments" => {
                if let Value::Object(a) = v {
                    for (ak, av) in a {
                        args.insert(ak.clone(), av.clone());
                    }
                }
            }
            "name" => custom_name = v.as_str().map(ToString::to_string),
            "description" => description = v.as_str().unwrap_or_default().to_string(),
            k if CONFIG_ARGS.contains(&k) => {
                config.insert(k.to_string(), v.clone());
            }
            _ => {
                args.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(col) = &column {
        args.insert("column_name".into(), Value::from(col.clone()));
    }
    let (target_name, target_expr, mut refs, mut sources) = match &t.target {
        TestedResource::Node {
            name,
            version: None,
            ..
        } => (
            name.clone(),
            format!("ref('{name}')"),
            vec![RefCall {
                name: name.clone(),
                package: None,
                version: None,
            }],
            vec![],
        ),
        TestedResource::Node {
            name,
            version: Some(v),
            ..
        } => (
            format!("{name}_v{v}"),
            format!("ref('{name}', v='{v}')"),
            vec![RefCall {
                name: name.clone(),
                package: None,
                version: Some(v.clone()),
            }],
            vec![],
        ),
        TestedResource::Source { source, table, .. } => (
            format!("{source}_{table}"),
            format!("source('{source}', '{table}')"),
            vec![],
            vec![(source.clone(), table.clone())],
        ),
    };
    // dbt renders the arguments in order, then `model`: the refs of arguments (a relationships
    // test's `to`) come before the tested node's.
    let (mut arg_refs, mut arg_sources) = (vec![], vec![]);
    for v in args.values() {
        if let Some(s) = v.as_str() {
            match parse_ref_or_source(s) {
                Some(RefOrSource::Ref(r)) => arg_refs.push(r),
                Some(RefOrSource::Source(a, b)) => arg_sources.push((a, b)),
                None => {}
            }
        }
    }
    arg_refs.append(&mut refs);
    arg_sources.append(&mut sources);
    let (refs, sources) = (arg_refs, arg_sources);
    let prefix = match (&t.target, &namespace) {
        (TestedResource::Source { .. }, Some(ns)) => format!("{ns}_source_{test_name}"),
        (TestedResource::Source { .. }, None) => format!("source_{test_name}"),
        (TestedResource::Node { .. }, Some(ns)) => format!("{ns}_{test_name}"),
        (TestedResource::Node { .. }, None) => test_name.clone(),
    };
    let (short_name, full_name) = synthesize_names(&prefix, &target_name, &args);
    // A generated name too long for a table gets the short, hashed one as its alias config
    // (unless the test sets one), as dbt does.
    if custom_name.is_none() && short_name != full_name && !config.contains_key("alias") {
        config.insert("alias".into(), Value::from(short_name.clone()));
    }
    let name = custom_name.clone().unwrap_or(full_name);
    let alias = custom_name.unwrap_or(short_name);

    let mut kwargs = args.clone();
    kwargs.insert(
        "model".into(),
        Value::from(format!("{{{{ get_where_subquery({target_expr}) }}}}")),
    );
    let metadata = serde_json::json!({
        "name": test_name,
        "kwargs": Value::Object(kwargs.clone()),
        "namespace": namespace,
    });
    let hash = test_hash(&name, &metadata);

    let mut fqn = vec![project.to_string()];
    fqn.extend(t.folders.iter().cloned());
    fqn.push(name.clone());
    let mut full_config = Config::new();
    full_config.insert("enabled".into(), Value::Bool(true));
    full_config.insert("materialized".into(), Value::from("test"));
    full_config.insert("severity".into(), Value::from("ERROR"));
    merge_into(&mut full_config, &project_config_for(test_tree, &fqn));
    merge_into(&mut full_config, &config);

    let macro_call = match &namespace {
        Some(ns) => format!("{ns}.test_{test_name}"),
        None => format!("test_{test_name}"),
    };
    let attached = match &t.target {
        TestedResource::Node { uid, .. } | TestedResource::Source { uid, .. } => uid.clone(),
    };
    Ok(Node {
        unique_id: format!("test.{project}.{name}.{hash}"),
        resource_type: ResourceType::Test,
        name: name.clone(),
        package_name: project.to_string(),
        path: format!("{alias}.sql"),
        original_file_path: t.original_file_path.clone(),
        file: PathBuf::from(&t.shown),
        // Defined in YAML: `spans.entry` says where (see `origin::node_location`).
        line_offset: 0,
        fqn,
        raw_code: format!("{{{{ {macro_call}(**_dbt_generic_test_kwargs) }}}}"),
        checksum: String::new(),
        config: full_config,
        unrendered_config: config,
        description,
        columns: IndexMap::new(),
        patch_path: None,
        refs,
        sources,
        depends_on_macros: vec![],
        database: db.to_string(),
        schema: schema.to_string(),
        alias,
        relation_name: None,
        test: Some(TestMetadata {
            name: test_name,
            namespace,
            kwargs,
            column_name: column.clone(),
            attached_node: Some(attached),
            file_key_name: t.key_name.clone(),
            inherited_tags: t.inherited_tags.clone(),
            macro_config: vec![],
        }),
        version: None,
        latest_version: None,
        deprecation_date: None,
        constraints: vec![],
        doc_blocks: vec![],
        settings: Default::default(),
        spans: NodeSpans {
            entry: Some(t.span.clone()),
            ..Default::default()
        },
    })
}

/// dbt's test names: `<test>_<target>_<args joined by __>` with non-identifier characters replaced
/// by `_`; when that reaches 64 characters, the short (file and table) name becomes the first 30
/// characters plus an md5 of the full name.
pub fn synthesize_names(
    prefix: &str,
    target_name: &str,
    args: &Map<String, Value>,
) -> (String, String) {
    let mut keys: Vec<&String> = args.keys().filter(|k| k.as_str() != "model").collect();
    keys.sort();
    let mut flat = vec![];
    for k in keys {
        match &args[k.as_str()] {
            Value::Object(m) => flat.extend(m.values().map(py_str)),
            Value::Array(a) => flat.extend(a.iter().map(py_str)),
            other => flat.push(py_str(other)),
        }
    }
    let clean: Vec<String> = flat.iter().map(|s| clean_arg(s)).collect();
    let unique = clean.join("__");
    let identifier = format!("{prefix}_{target_name}");
    let full = format!("{identifier}_{unique}");
    if full.len() >= 64 {
        let trunc: String = identifier.chars().take(30).collect();
        (format!("{trunc}_{}", md5_hex(&full)), full)
    } else {
        (full.clone(), full)
    }
}

fn clean_arg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

fn md5_hex(s: &str) -> String {
    let mut h = Md5::new();
    h.update(s.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `str()` of a YAML scalar, which dbt's naming and hashing see.
fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => py_repr(&hashable(v)),
    }
}

/// dbt hashes `repr()` of the test metadata with every scalar turned into a string and mapping
/// keys sorted; the last 10 hex digits of its md5 end the unique_id.
fn test_hash(name: &str, metadata: &Value) -> String {
    let s = format!("{name}{}", py_repr(&hashable(metadata)));
    let h = md5_hex(&s);
    h[h.len() - 10..].to_string()
}

fn hashable(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), hashable(&m[k.as_str()]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(hashable).collect()),
        other => Value::String(py_str(other)),
    }
}

fn py_repr(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::String(s) => py_str_repr(s),
        other => py_str(other),
    }
}

/// Python's `repr()` of a string.
fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn names_match_dbt() {
        let (s, f) = synthesize_names(
            "not_null",
            "orders",
            &args(json!({"column_name": "order_id"})),
        );
        assert_eq!(
            (s.as_str(), f.as_str()),
            ("not_null_orders_order_id", "not_null_orders_order_id")
        );
        let (_, f) = synthesize_names(
            "relationships",
            "orders",
            &args(
                json!({"column_name": "customer_id", "to": "ref('customers')", "field": "customer_id"}),
            ),
        );
        assert_eq!(
            f,
            "relationships_orders_customer_id__customer_id__ref_customers_"
        );
        let (s, f) = synthesize_names(
            "accepted_values",
            "orders",
            &args(
                json!({"column_name": "status", "values": ["placed", "shipped", "completed", "return_pending", "returned"]}),
            ),
        );
        assert_eq!(
            f,
            "accepted_values_orders_status__placed__shipped__completed__return_pending__returned"
        );
        assert_eq!(s, "accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758");
        let (s, _) = synthesize_names(
            "source_unique",
            "jaffle_shop_orders",
            &args(json!({"column_name": "id"})),
        );
        assert_eq!(s, "source_unique_jaffle_shop_orders_id");
    }

    #[test]
    fn python_repr() {
        assert_eq!(py_str_repr("it's"), "\"it's\"");
        assert_eq!(py_repr(&json!({"a": ["x", "1"]})), "{'a': ['x', '1']}");
    }
}
