//! One dict per resource kind, snapshotted as the manifest (and Jinja's `model`) shows it, and
//! each read back by the typed reader `state:` compares with.

use super::read::{ManifestExposure, ManifestNode, ManifestSource};
use super::*;
use crate::project::{
    ColumnInfo, Compiled, DocBlock, ExposureNode, MacroNode, Node, RefCall, ResourceType,
    SourceNode, TestMetadata,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn column(name: &str, data_type: Option<&str>, constraints: Vec<Value>) -> ColumnInfo {
    ColumnInfo {
        name: name.into(),
        description: format!("The {name}."),
        data_type: data_type.map(String::from),
        constraints,
        ..ColumnInfo::default()
    }
}

/// Reads `dict` back as the typed reader does, failing the test if it cannot.
fn reads_back<T: serde::de::DeserializeOwned>(dict: &Value) -> T {
    match T::deserialize(dict) {
        Ok(t) => t,
        Err(e) => panic!("the dict does not read back: {e}\n{dict:#}"),
    }
}

#[test]
fn model() {
    let mut n = Node::sample(
        ResourceType::Model,
        "orders",
        json!({
            "materialized": "table",
            "tags": ["finance"],
            "meta": {"owner": "ops"},
            "contract": {"enforced": true},
            "post-hook": ["analyze {{ this }}"],
        }),
    );
    n.checksum = "ab12".into();
    n.raw_code = "\nselect * from {{ ref('stg_orders') }}\n".into();
    n.description = "One row per order.".into();
    n.columns.insert(
        "id".into(),
        column("id", Some("integer"), vec![json!({"type": "not_null"})]),
    );
    n.columns.insert(
        "amount".into(),
        column("amount", Some("decimal(10, 2)"), vec![]),
    );
    n.constraints = vec![json!({"type": "primary_key", "columns": ["id"]})];
    n.refs = vec![RefCall {
        name: "stg_orders".into(),
        package: None,
        version: Some("2".into()),
    }];
    n.sources = vec![("shop".into(), "raw_orders".into())];
    n.depends_on_macros = vec!["macro.demo.cents".into()];
    n.relation_name = Some("\"warehouse\".\"main\".\"orders\"".into());
    n.patch_path = Some("demo://models/schema.yml".into());
    n.unrendered_config = object(json!({"materialized": "table"}));
    let depends_on = BTreeMap::from([(n.unique_id.clone(), vec!["model.demo.stg_orders".into()])]);
    let compiled = BTreeMap::from([(
        n.unique_id.clone(),
        Compiled {
            code: "select * from \"warehouse\".\"main\".\"stg_orders\"".into(),
            ctes: vec![],
            masked: vec![],
        },
    )]);
    let facts = ProjectFacts::default()
        .with_depends_on(&depends_on)
        .with_compiled(&compiled);
    let dict = node_json(&n, &facts);
    insta::assert_json_snapshot!(dict);
    let read: ManifestNode = reads_back(&dict);
    assert_eq!(read.relation(), Some(("warehouse", "main", "orders")));
    assert!(read.contract.enforced && read.contract.checksum.is_some());
    assert_eq!(read.columns["id"].data_type.as_deref(), Some("integer"));
}

#[test]
fn seed() {
    let mut n = Node::sample(ResourceType::Seed, "countries", json!({"delimiter": ";"}));
    n.checksum = "cd34".into();
    n.depends_on_macros = vec!["macro.dbt.load_csv_rows".into()];
    let dict = node_context_json(&n, None);
    insta::assert_json_snapshot!(dict);
    let read: ManifestNode = reads_back(&dict);
    assert_eq!(read.config.get("delimiter"), Some(&json!(";")));
}

#[test]
fn snapshot() {
    let mut n = Node::sample(
        ResourceType::Snapshot,
        "orders_history",
        json!({"strategy": "timestamp", "unique_key": "id", "updated_at": "updated_at"}),
    );
    n.raw_code = "{% snapshot orders_history %}select 1{% endsnapshot %}".into();
    let compiled = BTreeMap::from([(
        n.unique_id.clone(),
        Compiled {
            code: "select 1".into(),
            ctes: vec![],
            masked: vec![],
        },
    )]);
    let dict = node_json(&n, &ProjectFacts::default().with_compiled(&compiled));
    insta::assert_json_snapshot!(dict);
    // dbt writes no compiled file for a snapshot.
    assert_eq!(dict["compiled_path"], Value::Null);
    reads_back::<ManifestNode>(&dict);
}

#[test]
fn analysis() {
    let mut n = Node::sample(ResourceType::Analysis, "top_customers", json!({}));
    n.raw_code = "select 1".into();
    let dict = node_context_json(&n, None);
    insta::assert_json_snapshot!(dict);
    reads_back::<ManifestNode>(&dict);
}

#[test]
fn generic_test() {
    let mut n = Node::sample(
        ResourceType::Test,
        "accepted_values_orders_status__placed__shipped",
        json!({"severity": "warn", "where": "status is not null"}),
    );
    n.raw_code = "{{ test_accepted_values(**_dbt_generic_test_kwargs) }}".into();
    n.unrendered_config = object(json!({"severity": "warn", "where": "status is not null"}));
    n.test = Some(TestMetadata {
        name: "accepted_values".into(),
        namespace: None,
        kwargs: object(json!({
            "column_name": "status",
            "values": ["placed", "shipped"],
            "model": "{{ get_where_subquery(ref('orders')) }}",
        })),
        column_name: Some("status".into()),
        attached_node: Some("model.demo.orders".into()),
        file_key_name: "models.orders".into(),
        inherited_tags: vec![],
        macro_config: vec![],
    });
    n.depends_on_macros = vec![
        "macro.dbt.test_accepted_values".into(),
        "macro.dbt.get_where_subquery".into(),
    ];
    let dict = node_context_json(&n, None);
    insta::assert_json_snapshot!(dict);
    reads_back::<ManifestNode>(&dict);
}

#[test]
fn source() {
    let mut columns = indexmap::IndexMap::new();
    columns.insert("id".into(), column("id", Some("integer"), vec![]));
    let s = SourceNode {
        unique_id: "source.demo.shop.raw_orders".into(),
        source_name: "shop".into(),
        name: "raw_orders".into(),
        identifier: "orders".into(),
        database: "warehouse".into(),
        schema: "raw".into(),
        package_name: "demo".into(),
        path: "models/sources.yml".into(),
        original_file_path: "models/sources.yml".into(),
        fqn: vec!["demo".into(), "shop".into(), "raw_orders".into()],
        description: "Orders as the shop exports them.".into(),
        source_description: "The web shop.".into(),
        loader: "fivetran".into(),
        loaded_at_field: Some("_loaded_at".into()),
        loaded_at_query: None,
        freshness: Some(json!({"warn_after": {"count": 12, "period": "hour"}})),
        quoting: object(json!({"identifier": true})),
        meta: Map::new(),
        source_meta: object(json!({"contact": "shop-team"})),
        tags: vec!["raw".into()],
        config: object(json!({"enabled": true})),
        unrendered_config: object(
            json!({"freshness": {"warn_after": {"count": 12, "period": "hour"}}}),
        ),
        unrendered_database: None,
        unrendered_schema: Some("raw".into()),
        columns,
        relation_name: "\"warehouse\".\"raw\".\"orders\"".into(),
        external: None,
        doc_blocks: vec![],
    };
    let dict = source_json(&s);
    insta::assert_json_snapshot!(dict);
    let read: ManifestSource = reads_back(&dict);
    assert_eq!(read.identifier.as_deref(), Some("orders"));
    assert_eq!(read.loaded_at_field.as_deref(), Some("_loaded_at"));
}

#[test]
fn exposure() {
    let e = ExposureNode {
        unique_id: "exposure.demo.revenue_dashboard".into(),
        name: "revenue_dashboard".into(),
        label: Some("Revenue".into()),
        kind: "dashboard".into(),
        maturity: Some("high".into()),
        url: Some("https://bi.example.com/revenue".into()),
        description: "Revenue by day.".into(),
        owner: object(json!({"name": "Finance", "email": "finance@example.com"})),
        refs: vec![RefCall {
            name: "orders".into(),
            package: None,
            version: None,
        }],
        sources: vec![],
        meta: object(json!({"tier": 1})),
        tags: vec!["finance".into()],
        config: object(json!({"tags": ["kpi"]})),
        unrendered_config: Map::new(),
        package_name: "demo".into(),
        path: "models/exposures.yml".into(),
        original_file_path: "models/exposures.yml".into(),
        fqn: vec!["demo".into(), "revenue_dashboard".into()],
    };
    let dict = exposure_json(&e, &["model.demo.orders".into()]);
    insta::assert_json_snapshot!(dict);
    let read: ManifestExposure = reads_back(&dict);
    assert_eq!(read.kind.as_deref(), Some("dashboard"));
    assert_eq!(read.depends_on.nodes, ["model.demo.orders"]);
}

#[test]
fn macro_dict() {
    let m = MacroNode {
        unique_id: "macro.demo.cents".into(),
        name: "cents".into(),
        package_name: "demo".into(),
        path: "macros/money.sql".into(),
        original_file_path: "macros/money.sql".into(),
        macro_sql: "{% macro cents(x) %}{{ scaled(x, 100) }}{% endmacro %}".into(),
        depends_on_macros: vec!["macro.demo.scaled".into()],
        description: "Cents as dollars.".into(),
        meta: Map::new(),
        arguments: vec![json!({"name": "x", "type": "column"}), json!("n")],
        patch_path: Some("demo://macros/schema.yml".into()),
        docs: Some(json!({"show": false})),
        template: "macros/money.sql".into(),
    };
    insta::assert_json_snapshot!(macro_json(&m));
}

#[test]
fn docs_block() {
    let block = DocBlock {
        unique_id: "doc.demo.orders".into(),
        name: "orders".into(),
        package_name: "demo".into(),
        path: "docs.md".into(),
        original_file_path: "models/docs.md".into(),
        block_contents: "One row per order.".into(),
    };
    let docs = BTreeMap::from([(block.unique_id.clone(), block)]);
    let dict = docs_json(&docs);
    assert_eq!(
        dict["doc.dbt.__overview__"]["package_name"],
        json!("dbt"),
        "dbt's default front page is always listed"
    );
    insta::assert_json_snapshot!(dict["doc.demo.orders"]);
}
