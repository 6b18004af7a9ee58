//! The AWS client under the Athena adapter (`src/adapter/aws/`), against moto's server (a local
//! AWS emulator; `aws/moto.rs` says how it is found or started) through the official SDK.
//!
//! Each test has an AWS account of its own on the one server, and talks to moto through a
//! recording proxy (`aws/proxy.rs`) whose log is the exact list of API calls the client made.
//! The proxy also does what moto cannot (moto has no FAILED query, no throttling, no result
//! pages): it injects errors and serves `GetQueryResults` in pages. Where moto keeps state
//! (queries, Glue tables, S3 objects), the tests read it back from moto itself.
#![cfg(feature = "athena")]

#[path = "aws/glue_partitions.rs"]
mod glue_partitions;
#[path = "aws/http.rs"]
mod http;
#[path = "aws/moto.rs"]
mod moto;
#[path = "aws/proxy.rs"]
mod proxy;
#[path = "cli/support.rs"]
mod support;

use aws_sdk_glue::types::{Column as GlueColumn, StorageDescriptor, TableInput};
use kiln::adapter::aws::{
    AwsClient, AwsErrorKind, AwsSettings, Backoff, CredentialSource, QueryContext, RequestToken,
    S3Location, Secret, TableKind,
};
use kiln::adapter::{Cell, DbError};
use moto::Account;
use proxy::{Proxy, Rule};
use serde_json::{Value, json};
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use support::TestProject;

/// Credentials no test sends anywhere but to its own proxy; each is long and distinctive, so
/// that finding one in any text is proof it leaked.
const SECRET: &str = "kilnTestSecretKey/wJalrXUtnFEMI+K7MDENGbPxRfiCY";
const TOKEN: &str = "kilnTestSessionToken//FwoGZXIvYXdzEJr//////////wEaDLEAKED";

/// One test's view of moto: an account, a proxy, an access key id and a bucket of its own.
struct Aws {
    account: String,
    key_id: String,
    bucket: String,
    proxy: Proxy,
}

/// The harness's own view of moto's state.
impl Account for Aws {
    fn account(&self) -> &str {
        &self.account
    }
}

impl Aws {
    fn new() -> Aws {
        let moto = moto::moto();
        let account = moto::unique_account();
        let proxy = Proxy::start(moto.addr, &account);
        let aws = Aws {
            key_id: moto::unique("AKIAKILNTEST").to_uppercase(),
            bucket: moto::unique("kiln-test-"),
            account,
            proxy,
        };
        aws.create_bucket(&aws.bucket);
        aws
    }

    /// Settings for this test's account: through the proxy, with static credentials, and quick
    /// polls and retries (the waits are not what the tests check).
    fn settings(&self) -> AwsSettings {
        let mut s = AwsSettings::new("us-east-1");
        s.endpoint_url = Some(self.proxy.url());
        s.credentials = CredentialSource::Static {
            access_key_id: Secret::new(&self.key_id),
            secret_access_key: Secret::new(SECRET),
            session_token: Some(Secret::new(TOKEN)),
        };
        s.s3_staging_dir = Some(format!("s3://{}/staging/", self.bucket));
        s.poll_interval = Duration::from_millis(2);
        s.num_retries = 3;
        s.backoff = Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
        };
        s
    }

    fn client(&self) -> AwsClient {
        client(&self.settings())
    }

    /// An awsJson call straight to moto (the harness's own view of moto's state).
    fn moto_json(&self, service: &str, target: &str, body: Value) -> Value {
        let r = self.raw(
            service,
            "POST",
            "/",
            &[
                ("X-Amz-Target", target),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status(), 200, "moto {target}: {}", r.text());
        r.json()
    }

    fn create_bucket(&self, bucket: &str) {
        let r = self.raw("s3", "PUT", &format!("/{bucket}"), &[], b"");
        assert_eq!(r.status(), 200, "create bucket {bucket}: {}", r.text());
    }

    fn put(&self, bucket: &str, key: &str, body: &str) {
        let r = self.raw(
            "s3",
            "PUT",
            &format!("/{bucket}/{key}"),
            &[],
            body.as_bytes(),
        );
        assert_eq!(r.status(), 200, "put {key}: {}", r.text());
    }

    /// The keys moto holds under a prefix (one ListObjectsV2 page: the tests keep it under 1000).
    fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let r = self.raw(
            "s3",
            "GET",
            &format!("/{bucket}?list-type=2&prefix={prefix}"),
            &[],
            b"",
        );
        assert_eq!(r.status(), 200, "list {prefix}: {}", r.text());
        xml_values(&r.text(), "Key")
    }

    /// Queues the rows of the next query moto runs in this account (the first row is the
    /// header, as Athena returns it for a SELECT). A column is its name and Athena's type, with
    /// the precision and scale Athena gives apart for a decimal (`decimal(18,2)`).
    fn queue_results(&self, columns: &[(&str, &str)], rows: &[&[Option<&str>]]) {
        let datum = |v: Option<&str>| v.map_or_else(|| json!({}), |v| json!({"VarCharValue": v}));
        let mut all =
            vec![json!({"Data": columns.iter().map(|(n, _)| datum(Some(n))).collect::<Vec<_>>()})];
        all.extend(
            rows.iter()
                .map(|r| json!({"Data": r.iter().map(|v| datum(*v)).collect::<Vec<_>>()})),
        );
        let info: Vec<Value> = columns
            .iter()
            .map(|(n, t)| {
                let (ty, precision, scale) = match t.strip_prefix("decimal(") {
                    Some(ps) => {
                        let (p, s) = ps.trim_end_matches(')').split_once(',').unwrap_or(("0", "0"));
                        ("decimal", p.parse().unwrap_or(0), s.parse().unwrap_or(0))
                    }
                    None => (*t, 0, 0),
                };
                json!({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n,
                       "Type": ty, "Precision": precision, "Scale": scale, "Nullable": "UNKNOWN",
                       "CaseSensitive": false})
            })
            .collect();
        moto::queue_query_results(
            &self.account,
            vec![json!({"rows": all, "column_info": info})],
        );
    }
}

fn client(settings: &AwsSettings) -> AwsClient {
    AwsClient::connect(settings).unwrap_or_else(|e| panic!("connect: {e}"))
}

/// The values of every `<tag>` of an XML text.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|s| s.split(&close).next())
        .map(str::to_string)
        .collect()
}

fn not_stopped() -> AtomicBool {
    AtomicBool::new(false)
}

fn ctx() -> QueryContext {
    QueryContext {
        catalog: None,
        database: Some("analytics".into()),
    }
}

/// A query, from start to every row: kiln's token and context reach Athena, the client polls
/// until SUCCEEDED (moto is set to answer QUEUED, RUNNING, RUNNING, SUCCEEDED), never asks for
/// results early, reads every page of `GetQueryResults` (three pages of two rows here), skips
/// the header row a SELECT repeats, and types the values by Athena's column metadata.
#[test]
fn query_round_trip_polls_and_reads_every_page() {
    let aws = Aws::new();
    aws.queue_results(
        &[
            ("id", "bigint"),
            ("name", "varchar"),
            ("amount", "decimal(18,2)"),
        ],
        &[
            &[Some("1"), Some("ada"), Some("12.50")],
            &[Some("2"), None, Some("0.10")],
            &[Some("3"), Some(""), None],
            &[Some("4"), Some("grace"), Some("7.00")],
            &[Some("5"), Some("linus"), Some("1.25")],
        ],
    );
    aws.proxy.rule(Rule::Pages { rows: 2 });
    let c = aws.client();
    let token = RequestToken::for_step("inv-1", "model.shop.orders", "select");
    let exec = c
        .execute(
            "select id, name, amount from orders",
            &ctx(),
            &token,
            &not_stopped(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exec.statement_type.as_deref(), Some("DML"));
    assert!(exec.has_header_row());
    assert_eq!(
        exec.output_location,
        Some(format!("s3://{}/staging/{}.csv", aws.bucket, exec.id))
    );
    let rows = c.results(&exec).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<(&str, &str)> = rows
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("id", "BIGINT"),
            ("name", "VARCHAR"),
            ("amount", "DECIMAL(18,2)")
        ]
    );
    assert_eq!(
        rows.rows,
        vec![
            vec![
                Cell::Int(1),
                Cell::Text("ada".into()),
                Cell::Decimal("12.50".into())
            ],
            vec![Cell::Int(2), Cell::Null, Cell::Decimal("0.10".into())],
            vec![Cell::Int(3), Cell::Text(String::new()), Cell::Null],
            vec![
                Cell::Int(4),
                Cell::Text("grace".into()),
                Cell::Decimal("7.00".into())
            ],
            vec![
                Cell::Int(5),
                Cell::Text("linus".into()),
                Cell::Decimal("1.25".into())
            ],
        ]
    );

    let calls = aws.proxy.calls();
    let ops: Vec<&str> = calls.iter().map(|c| c.op.as_str()).collect();
    assert_eq!(
        ops,
        [
            "StartQueryExecution",
            "GetQueryExecution",
            "GetQueryExecution",
            "GetQueryExecution",
            "GetQueryExecution",
            "GetQueryResults",
            "GetQueryResults",
            "GetQueryResults",
        ]
    );
    assert_eq!(
        calls[0].json(),
        json!({
            "QueryString": "select id, name, amount from orders",
            "ClientRequestToken": token.as_str(),
            "QueryExecutionContext": {"Catalog": "awsdatacatalog", "Database": "analytics"},
            "ResultConfiguration": {"OutputLocation": format!("s3://{}/staging/", aws.bucket)},
        })
    );
    for poll in &calls[1..5] {
        assert_eq!(poll.json(), json!({"QueryExecutionId": exec.id.0}));
    }
    let tokens: Vec<Value> = calls[5..]
        .iter()
        .map(|c| c.json()["NextToken"].clone())
        .collect();
    assert_eq!(tokens, [Value::Null, json!("page:2"), json!("page:4")]);
    assert!(calls.iter().all(|c| c.service == "athena" && !c.injected));
}

/// A statement that is not a SELECT (DDL) has no header row: its first result row is data.
#[test]
fn ddl_results_have_no_header_row() {
    let aws = Aws::new();
    aws.queue_results(&[("partition", "varchar")], &[&[Some("dt=2024-01-01")]]);
    let c = aws.client();
    let token = RequestToken::for_step("inv-1", "model.shop.orders", "partitions");
    let exec = c
        .execute("show partitions orders", &ctx(), &token, &not_stopped())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exec.statement_type.as_deref(), Some("DDL"));
    let rows = c.results(&exec).unwrap_or_else(|e| panic!("{e}"));
    // moto returns the queued rows as they are: the "header" is a row of a DDL's result
    assert_eq!(
        rows.rows,
        vec![
            vec![Cell::Text("partition".into())],
            vec![Cell::Text("dt=2024-01-01".into())]
        ]
    );
}

/// Throttled twice, StartQueryExecution succeeds on the third attempt: all three carry the same
/// ClientRequestToken, and exactly one query reaches Athena.
#[test]
fn throttled_start_retries_with_one_token_and_starts_one_query() {
    let aws = Aws::new();
    aws.proxy.rule(Rule::Fail {
        op: "StartQueryExecution",
        times: 2,
        status: 400,
        code: "TooManyRequestsException",
        message: "Rate exceeded".into(),
    });
    let c = aws.client();
    let token = RequestToken::for_step("inv-2", "model.shop.orders", "ctas");
    let id = c
        .start_query("create table orders as select 1 as id", &ctx(), &token)
        .unwrap_or_else(|e| panic!("{e}"));
    let calls = aws.proxy.calls();
    assert_eq!(aws.proxy.ops(), ["StartQueryExecution"; 3]);
    let injected: Vec<bool> = calls.iter().map(|c| c.injected).collect();
    assert_eq!(injected, [true, true, false]);
    for call in &calls {
        assert_eq!(call.json()["ClientRequestToken"], json!(token.as_str()));
    }
    let listed = aws.moto_json("athena", "AmazonAthena.ListQueryExecutions", json!({}));
    assert_eq!(listed["QueryExecutionIds"], json!([id.0]));
}

/// Throttling that outlasts `num_retries` is one error: which call, AWS's code and message,
/// how many attempts; and no query was started.
#[test]
fn throttling_beyond_num_retries_is_one_clear_error() {
    let aws = Aws::new();
    aws.proxy.rule(Rule::Fail {
        op: "StartQueryExecution",
        times: 100,
        status: 400,
        code: "TooManyRequestsException",
        message: "Rate exceeded".into(),
    });
    let mut settings = aws.settings();
    settings.num_retries = 2;
    let token = RequestToken::for_step("inv-3", "model.shop.orders", "ctas");
    let err = client(&settings)
        .start_query("select 1", &ctx(), &token)
        .expect_err("throttled to the end");
    assert_eq!(err.kind, AwsErrorKind::Throttled);
    assert_eq!(err.attempts, 3);
    assert_eq!(
        err.to_string(),
        "Athena StartQueryExecution failed (TooManyRequestsException): Rate exceeded (after 3 attempts)"
    );
    assert_eq!(aws.proxy.ops(), ["StartQueryExecution"; 3]);
    let listed = aws.moto_json("athena", "AmazonAthena.ListQueryExecutions", json!({}));
    assert_eq!(listed["QueryExecutionIds"], json!([]));
}

/// A call that may have taken effect (Glue CreateTable) is not sent again after a 5xx: the
/// error says so after one attempt. A read (GetTable) is retried and succeeds.
#[test]
fn server_errors_retry_reads_but_not_writes() {
    let aws = Aws::new();
    let c = aws.client();
    let db = moto::unique("kiln_db_");
    assert!(
        c.create_database(&db, None)
            .unwrap_or_else(|e| panic!("{e}"))
    );
    for op in ["CreateTable", "GetTable"] {
        aws.proxy.rule(Rule::Fail {
            op,
            times: 1,
            status: 500,
            code: "InternalServiceException",
            message: "We encountered an internal error".into(),
        });
    }
    aws.proxy.clear();
    let err = c
        .create_table(&db, &table_input("orders", "s3://b/orders/"))
        .expect_err("CreateTable is not retried after a 5xx");
    assert_eq!(err.kind, AwsErrorKind::ServerError);
    assert_eq!(
        err.to_string(),
        "Glue CreateTable failed (InternalServiceException): We encountered an internal error"
    );
    assert_eq!(c.get_table(&db, "orders").ok(), Some(None));
    assert_eq!(aws.proxy.ops(), ["CreateTable", "GetTable", "GetTable"]);
}

/// A query Athena reports FAILED is an error carrying Athena's reason, its category and the
/// query id; it is not run again.
#[test]
fn a_failed_query_surfaces_athenas_reason_and_query_id() {
    let aws = Aws::new();
    let reason = "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved";
    aws.proxy.rule(Rule::FailQueries {
        times: 1,
        reason: reason.into(),
    });
    let c = aws.client();
    let token = RequestToken::for_step("inv-4", "model.shop.orders", "ctas");
    let err = c
        .execute("select nope from orders", &ctx(), &token, &not_stopped())
        .expect_err("the query failed");
    assert_eq!(err.kind, AwsErrorKind::QueryFailed);
    let id = err.query_id.clone().expect("a query id");
    assert_eq!(
        err.to_string(),
        format!("Athena query failed: {reason} [query id: {id}]")
    );
    let info = err.athena_error.expect("Athena's classification");
    assert_eq!(
        (info.category, info.error_type, info.retryable),
        (Some(2), Some(1006), false)
    );
    let starts = aws
        .proxy
        .ops()
        .iter()
        .filter(|o| *o == "StartQueryExecution")
        .count();
    assert_eq!(starts, 1);
    let db: DbError = err.into();
    assert!(db.message.contains(reason), "{}", db.message);
}

/// `ICEBERG_COMMIT_ERROR` (another writer committed first) runs the statement again, each time
/// as a new query with a token of its own, up to `num_iceberg_retries`.
#[test]
fn iceberg_commit_conflicts_run_the_statement_again() {
    let aws = Aws::new();
    aws.proxy.rule(Rule::FailQueries {
        times: 2,
        reason: "ICEBERG_COMMIT_ERROR: Failed to commit Iceberg update to table".into(),
    });
    let c = aws.client();
    let token = RequestToken::for_step("inv-5", "model.shop.events", "merge");
    let exec = c
        .execute("merge into events ...", &ctx(), &token, &not_stopped())
        .unwrap_or_else(|e| panic!("{e}"));
    let tokens: Vec<Value> = aws
        .proxy
        .calls()
        .iter()
        .filter(|c| c.op == "StartQueryExecution")
        .map(|c| c.json()["ClientRequestToken"].clone())
        .collect();
    assert_eq!(
        tokens,
        [
            json!(token.as_str()),
            json!(token.rerun(1).as_str()),
            json!(token.rerun(2).as_str())
        ]
    );
    assert!(!exec.id.0.is_empty());

    // with no re-runs left, the conflict is the error
    aws.proxy.rule(Rule::FailQueries {
        times: 1,
        reason: "ICEBERG_COMMIT_ERROR: again".into(),
    });
    let mut settings = aws.settings();
    settings.num_iceberg_retries = 0;
    let err = client(&settings)
        .execute("merge into events ...", &ctx(), &token, &not_stopped())
        .expect_err("no re-run allowed");
    assert!(err.is_iceberg_commit_conflict(), "{err}");
}

/// An interrupt while a query runs stops it (StopQueryExecution) and is reported as a
/// cancellation with the query id; moto then holds the query as CANCELLED.
#[test]
fn an_interrupt_stops_the_running_query() {
    let aws = Aws::new();
    let c = aws.client();
    let token = RequestToken::for_step("inv-6", "model.shop.orders", "ctas");
    let id = c
        .start_query("select 1", &ctx(), &token)
        .unwrap_or_else(|e| panic!("{e}"));
    let stop = AtomicBool::new(true);
    let err = c.wait(&id, &stop).expect_err("interrupted");
    assert_eq!(err.kind, AwsErrorKind::Cancelled);
    assert_eq!(
        err.to_string(),
        format!("Athena query cancelled: interrupted; kiln stopped the query [query id: {id}]")
    );
    assert_eq!(
        aws.proxy.ops(),
        ["StartQueryExecution", "StopQueryExecution"]
    );
    assert_eq!(
        aws.proxy.calls()[1].json(),
        json!({"QueryExecutionId": id.0})
    );
    let state = aws.moto_json(
        "athena",
        "AmazonAthena.GetQueryExecution",
        json!({"QueryExecutionId": id.0}),
    );
    assert_eq!(
        state["QueryExecution"]["Status"]["State"],
        json!("CANCELLED")
    );
    // a query cancelled by someone else is an error too, and says so
    let err = c.wait(&id, &not_stopped()).expect_err("cancelled");
    assert_eq!(err.kind, AwsErrorKind::Cancelled);
    assert!(err.to_string().contains("cancelled outside kiln"), "{err}");
}

fn glue_column(name: &str, ty: &str) -> GlueColumn {
    GlueColumn::builder()
        .name(name)
        .r#type(ty)
        .build()
        .expect("name is set")
}

fn table_input(name: &str, location: &str) -> TableInput {
    TableInput::builder()
        .name(name)
        .table_type("EXTERNAL_TABLE")
        .parameters("classification", "parquet")
        .storage_descriptor(
            StorageDescriptor::builder()
                .location(location)
                .columns(glue_column("id", "bigint"))
                .columns(glue_column("amount", "decimal(18,2)"))
                .build(),
        )
        .partition_keys(glue_column("dt", "date"))
        .build()
        .expect("name is set")
}

/// Glue: a database created (once), found, its tables created, read back with their kind,
/// location, columns and partition keys, listed, repointed (UpdateTable, as a swap does),
/// deleted (once), and the database deleted; each as exactly one call.
#[test]
fn glue_databases_and_tables_round_trip() {
    let aws = Aws::new();
    let c = aws.client();
    let db = moto::unique("kiln_db_");
    let loc = format!("s3://{}/data/{db}/", aws.bucket);
    assert_eq!(c.get_database(&db).ok(), Some(None));
    assert!(
        c.create_database(&db, Some(&loc))
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert!(
        !c.create_database(&db, Some(&loc))
            .unwrap_or_else(|e| panic!("{e}"))
    );
    let found = c
        .get_database(&db)
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("created");
    assert_eq!(
        (found.name.as_str(), found.location_uri.as_deref()),
        (db.as_str(), Some(loc.as_str()))
    );

    let orders_loc = format!("s3://{}/data/{db}/orders/v1/", aws.bucket);
    c.create_table(&db, &table_input("orders", &orders_loc))
        .unwrap_or_else(|e| panic!("{e}"));
    let view = TableInput::builder()
        .name("orders_view")
        .table_type("VIRTUAL_VIEW")
        .view_original_text("/* Presto View: ... */")
        .build()
        .expect("name is set");
    c.create_table(&db, &view).unwrap_or_else(|e| panic!("{e}"));
    let iceberg = TableInput::builder()
        .name("events")
        .table_type("EXTERNAL_TABLE")
        .parameters("table_type", "ICEBERG")
        .build()
        .expect("name is set");
    c.create_table(&db, &iceberg)
        .unwrap_or_else(|e| panic!("{e}"));
    let dup = c
        .create_table(&db, &table_input("orders", &orders_loc))
        .expect_err("a second CreateTable of the same name fails");
    assert_eq!(dup.kind, AwsErrorKind::AlreadyExists);

    let t = c
        .get_table(&db, "orders")
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("created");
    assert_eq!(t.kind(), TableKind::Table);
    assert_eq!(t.location(), Some(orders_loc.as_str()));
    let cols: Vec<(String, String)> = t
        .columns()
        .into_iter()
        .map(|c| (c.name, c.data_type))
        .collect();
    assert_eq!(
        cols,
        [
            ("id".to_string(), "BIGINT".to_string()),
            ("amount".into(), "DECIMAL(18,2)".into()),
            ("dt".into(), "DATE".into())
        ]
    );
    assert_eq!(t.partition_keys(), ["dt"]);
    let mut listed: Vec<(String, TableKind)> = c
        .get_tables(&db)
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|t| (t.name().to_string(), t.kind()))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        listed,
        [
            ("events".to_string(), TableKind::Iceberg),
            ("orders".into(), TableKind::Table),
            ("orders_view".into(), TableKind::View)
        ]
    );

    // a swap: the table's definition, pointed at the new data
    let v2 = format!("s3://{}/data/{db}/orders/v2/", aws.bucket);
    let mut input = t.to_input("orders").unwrap_or_else(|e| panic!("{e}"));
    if let Some(sd) = input.storage_descriptor.as_mut() {
        sd.location = Some(v2.clone());
    }
    c.update_table(&db, &input)
        .unwrap_or_else(|e| panic!("{e}"));
    let after = c
        .get_table(&db, "orders")
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("still there");
    assert_eq!(after.location(), Some(v2.as_str()));
    assert_ne!(after.version_id(), t.version_id());
    assert_eq!(after.partition_keys(), ["dt"]);

    assert!(
        c.delete_table(&db, "orders")
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert!(
        !c.delete_table(&db, "orders")
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert_eq!(c.get_table(&db, "orders").ok(), Some(None));
    assert!(c.delete_database(&db).unwrap_or_else(|e| panic!("{e}")));
    assert!(!c.delete_database(&db).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(c.get_database(&db).ok(), Some(None));

    assert_eq!(
        aws.proxy.ops(),
        [
            "GetDatabase",
            "CreateDatabase",
            "CreateDatabase",
            "GetDatabase",
            "CreateTable",
            "CreateTable",
            "CreateTable",
            "CreateTable",
            "GetTable",
            "GetTables",
            "UpdateTable",
            "GetTable",
            "DeleteTable",
            "DeleteTable",
            "GetTable",
            "DeleteDatabase",
            "DeleteDatabase",
            "GetDatabase",
        ]
    );
    let update = &aws.proxy.calls()[10];
    assert_eq!(update.json()["DatabaseName"], json!(db));
    assert_eq!(
        update.json()["TableInput"]["StorageDescriptor"]["Location"],
        json!(v2)
    );
    assert!(aws.proxy.calls().iter().all(|c| c.service == "glue"));
}

/// S3: a table's folder is listed across pages (1,205 objects: S3 pages by 1,000) and deleted
/// in batches of at most 1,000 keys, every key inside the folder; a sibling whose name starts
/// the same (`orders_v2/`), an object named like the folder (`orders`) and another team's
/// folder survive. Deletes outside the owned folder, or of a bucket root, are refused before
/// any call.
#[test]
fn s3_lists_pages_and_deletes_only_inside_the_prefix() {
    let aws = Aws::new();
    let b = &aws.bucket;
    for i in 0..1205 {
        aws.put(
            b,
            &format!(
                "dev/orders/dt=2024-01-{:02}/part-{i:04}.parquet",
                i % 28 + 1
            ),
            "x",
        );
    }
    aws.put(b, "dev/orders_v2/part-0.parquet", "sibling");
    aws.put(b, "dev/orders", "an object named like the folder");
    aws.put(b, "other-team/part-0.parquet", "not ours");
    let c = aws.client();
    let orders = S3Location::parse(&format!("s3://{b}/dev/orders")).expect("valid");
    assert_eq!(orders.prefix, "dev/orders/");

    let listed = c.list(&orders).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed.len(), 1205);
    assert!(
        listed
            .iter()
            .all(|o| o.key.starts_with("dev/orders/") && o.size == 1)
    );

    // refused before any call
    aws.proxy.clear();
    let dev = S3Location::parse(&format!("s3://{b}/dev/")).expect("valid");
    let v2 = S3Location::parse(&format!("s3://{b}/dev/orders_v2/")).expect("valid");
    let root = S3Location::parse(&format!("s3://{b}")).expect("valid");
    let other = S3Location::parse("s3://another-bucket/dev/orders/").expect("valid");
    for (location, owned, why) in [
        (
            &dev,
            &orders,
            format!(
                "kiln refuses to delete s3://{b}/dev/: it is not inside s3://{b}/dev/orders/, the folder this relation owns"
            ),
        ),
        (
            &v2,
            &orders,
            format!(
                "kiln refuses to delete s3://{b}/dev/orders_v2/: it is not inside s3://{b}/dev/orders/, the folder this relation owns"
            ),
        ),
        (
            &other,
            &orders,
            "kiln refuses to delete s3://another-bucket/dev/orders/: it is not inside s3://"
                .to_string()
                + b
                + "/dev/orders/, the folder this relation owns",
        ),
        (
            &root,
            &root,
            format!(
                "kiln refuses to delete s3://{b}/: it is the root of bucket '{b}' (kiln deletes only inside a relation's own folder)"
            ),
        ),
    ] {
        let err = c.delete_prefix(location, owned).expect_err("refused");
        assert_eq!(err.kind, AwsErrorKind::Refused);
        assert_eq!(err.to_string(), why);
    }
    assert!(aws.proxy.calls().is_empty(), "{:?}", aws.proxy.ops());

    let deleted = c
        .delete_prefix(&orders, &orders)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(deleted, 1205);
    let calls = aws.proxy.calls();
    let ops: Vec<&str> = calls.iter().map(|c| c.op.as_str()).collect();
    assert_eq!(
        ops,
        [
            "ListObjectsV2",
            "ListObjectsV2",
            "DeleteObjects",
            "DeleteObjects"
        ]
    );
    assert!(calls.iter().all(|c| c.service == "s3"));
    assert!(
        calls[0].path.contains("prefix=dev%2Forders%2F"),
        "{}",
        calls[0].path
    );
    assert!(
        calls[1].path.contains("continuation-token="),
        "{}",
        calls[1].path
    );
    let batches: Vec<Vec<String>> = calls[2..]
        .iter()
        .map(|c| xml_values(&String::from_utf8_lossy(&c.body), "Key"))
        .collect();
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [1000, 205]
    );
    assert!(
        batches
            .iter()
            .flatten()
            .all(|k| k.starts_with("dev/orders/"))
    );

    assert_eq!(
        aws.keys(b, "dev/"),
        ["dev/orders", "dev/orders_v2/part-0.parquet"]
    );
    assert_eq!(aws.keys(b, "other-team/"), ["other-team/part-0.parquet"]);
    // nothing left to delete is not an error
    assert_eq!(c.delete_prefix(&orders, &orders).ok(), Some(0));
}

/// Uploading an object (a seed's CSV) puts exactly its bytes where asked.
#[test]
fn s3_put_object_round_trips() {
    let aws = Aws::new();
    let c = aws.client();
    let body = "id,name\n1,ada\n2,\"grace, hopper\"\n";
    c.put_object(
        &aws.bucket,
        "seeds/people/people.csv",
        body.as_bytes().to_vec(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(aws.proxy.ops(), ["PutObject"]);
    let got = aws.raw(
        "s3",
        "GET",
        &format!("/{}/seeds/people/people.csv", aws.bucket),
        &[],
        b"",
    );
    assert_eq!(got.text(), body);
}

/// `endpoint_url` applies to all three services, and every call is signed with the profile's
/// credentials (key id in the credential scope, session token in its header): one connection
/// check touches Athena, Glue and S3, and moto itself recorded the three calls.
#[test]
fn endpoint_url_and_credentials_apply_to_athena_glue_and_s3() {
    let aws = Aws::new();
    let results = aws.client().check();
    let shown: Vec<String> = results.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "work group: OK 'primary' (ENABLED)".to_string(),
            format!(
                "output location: OK s3://{}/staging/ (s3_staging_dir)",
                aws.bucket
            ),
            "glue catalog: OK reachable".into(),
            format!(
                "staging bucket: OK s3://{}/staging/ is readable",
                aws.bucket
            ),
        ]
    );
    let calls = aws.proxy.calls();
    let seen: Vec<(&str, &str)> = calls
        .iter()
        .map(|c| (c.service.as_str(), c.op.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("athena", "GetWorkGroup"),
            ("glue", "GetDatabases"),
            ("s3", "ListObjectsV2")
        ]
    );
    for call in &calls {
        assert_eq!(call.key_id().as_deref(), Some(aws.key_id.as_str()));
        assert_eq!(call.header("x-amz-security-token"), Some(TOKEN));
        assert!(
            call.header("authorization")
                .is_some_and(|a| a.contains("/us-east-1/"))
        );
    }
    // moto's own record of what reached it, found by this test's key id
    let recording = moto::post(
        moto::moto().addr,
        "/moto-api/recorder/download-recording",
        "",
    );
    let mut reached: Vec<String> = Vec::new();
    for line in recording.text().lines() {
        if !line.contains(&aws.key_id) {
            continue;
        }
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let headers = &entry["headers"];
        let target = headers["X-Amz-Target"].as_str().map(str::to_string);
        reached.push(target.unwrap_or_else(|| {
            format!(
                "{} {}",
                entry["method"].as_str().unwrap_or(""),
                entry["url"]
                    .as_str()
                    .unwrap_or("")
                    .split('?')
                    .next()
                    .unwrap_or("")
            )
        }));
    }
    assert_eq!(reached.len(), 3, "{reached:?}");
    assert_eq!(reached[0], "AmazonAthena.GetWorkGroup");
    assert_eq!(reached[1], "AWSGlue.GetDatabases");
    assert_eq!(
        reached[2].trim_end_matches('/'),
        format!("GET {}/{}", aws.proxy.url(), aws.bucket)
    );
}

/// An endpoint nothing listens on is one error that names the endpoint and what to do, from
/// whichever service is asked first; `kiln debug`'s check says it once, not per service.
#[test]
fn a_bad_endpoint_is_one_clear_error_naming_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut settings = AwsSettings::new("us-east-1");
    settings.endpoint_url = Some(url.clone());
    settings.credentials = CredentialSource::Static {
        access_key_id: Secret::new("AKIAKILNBADENDPOINT"),
        secret_access_key: Secret::new(SECRET),
        session_token: None,
    };
    settings.num_retries = 1;
    settings.backoff = Backoff {
        base: Duration::from_millis(1),
        max: Duration::from_millis(2),
    };
    let c = client(&settings);
    let expected = |op: &str| {
        format!(
            "{op} failed: cannot reach {url} (the profile's endpoint_url): Connection refused (os error 111); \
             check that the service at endpoint_url is running, or remove endpoint_url to use AWS (after 2 attempts)"
        )
    };
    let glue = c.get_database("x").expect_err("nothing listens");
    assert_eq!(glue.kind, AwsErrorKind::Transport);
    assert_eq!(glue.to_string(), expected("Glue GetDatabase"));
    let s3 = c
        .list(&S3Location::parse("s3://b/p/").expect("valid"))
        .expect_err("nothing listens");
    assert_eq!(s3.to_string(), expected("S3 ListObjectsV2"));
    let athena = c
        .start_query("select 1", &ctx(), &RequestToken::for_step("i", "n", "s"))
        .expect_err("nothing listens");
    assert_eq!(athena.to_string(), expected("Athena StartQueryExecution"));

    let checks = c.check();
    let failed: Vec<String> = checks
        .iter()
        .filter(|r| !r.ok && !r.skipped)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        failed,
        [format!(
            "work group: ERROR {}",
            expected("Athena GetWorkGroup")
        )]
    );
    assert_eq!(checks.iter().filter(|r| r.skipped).count(), 3);
}

/// Secrets (access key id, secret key, session token) never appear in `Debug` output or in an
/// error, even when the server echoes them back in its message.
#[test]
fn secrets_never_appear_in_debug_output_or_errors() {
    let aws = Aws::new();
    let settings = aws.settings();
    let c = client(&settings);
    let echoed = format!(
        "The security token {TOKEN} for key {} (secret {SECRET}) is invalid",
        aws.key_id
    );
    aws.proxy.rule(Rule::Fail {
        op: "GetDatabase",
        times: 1,
        status: 400,
        code: "UnrecognizedClientException",
        message: echoed,
    });
    let err = c.get_database("x").expect_err("refused");
    assert_eq!(err.kind, AwsErrorKind::Auth);
    assert_eq!(
        err.to_string(),
        "Glue GetDatabase failed (UnrecognizedClientException): The security token ***** for key ***** (secret *****) is invalid"
    );
    let db: DbError = err.clone().into();
    let texts = [
        format!("{settings:?}"),
        format!("{settings:#?}"),
        format!("{c:?}"),
        format!("{err:?}"),
        err.to_string(),
        format!("{db:?}"),
        format!("{:?}", c.redactor()),
    ];
    for text in &texts {
        for secret in [SECRET, TOKEN, aws.key_id.as_str()] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
    assert!(texts[0].contains("Secret(*****)"), "{}", texts[0]);
}

/// A project whose `athena` target points at this test's proxy, its results going to
/// `staging_bucket`.
fn athena_project(aws: &Aws, staging_bucket: &str, credentials: &str) -> TestProject {
    TestProject::minimal().file(
        "profiles.yml",
        &format!(
            "shop:\n  target: athena\n  outputs:\n    athena:\n      type: athena\n      region_name: us-east-1\n      \
             s3_staging_dir: s3://{staging_bucket}/staging/\n      schema: analytics\n      endpoint_url: {}\n      \
             num_retries: 1\n      poll_interval: 0.01\n{credentials}",
            aws.proxy.url()
        ),
    )
}

/// `kiln debug` on an Athena target connects: it checks the work group, the result location,
/// Glue and the staging bucket, with the credentials the profile reads from the environment
/// (`env_var`), and prints none of them.
#[test]
fn debug_connects_to_an_athena_target() {
    let aws = Aws::new();
    let p = athena_project(
        &aws,
        &aws.bucket,
        "      aws_access_key_id: \"{{ env_var('KILN_TEST_KEY_ID') }}\"\n      \
         aws_secret_access_key: \"{{ env_var('KILN_TEST_SECRET') }}\"\n      \
         aws_session_token: \"{{ env_var('KILN_TEST_TOKEN') }}\"\n",
    );
    let run = p
        .kiln(&["debug"])
        .env("KILN_TEST_KEY_ID", &aws.key_id)
        .env("KILN_TEST_SECRET", SECRET)
        .env("KILN_TEST_TOKEN", TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .run();
    run.assert_success();
    let out = run
        .snapshot()
        .replace(&aws.bucket, "[BUCKET]")
        .replace(&aws.proxy.url(), "[ENDPOINT]");
    insta::assert_snapshot!(out);
    for secret in [SECRET, TOKEN, aws.key_id.as_str()] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} printed"
        );
        assert!(!p.read("logs/dbt.log").contains(secret), "{secret} logged");
    }
    let calls = aws.proxy.calls();
    let ops: Vec<&str> = calls.iter().map(|c| c.op.as_str()).collect();
    assert_eq!(ops, ["GetWorkGroup", "GetDatabases", "ListObjectsV2"]);
    assert!(
        calls
            .iter()
            .all(|c| c.key_id().as_deref() == Some(aws.key_id.as_str()))
    );
}

/// With no keys in the profile, the standard AWS chain finds them in the environment.
#[test]
fn credentials_come_from_the_environment() {
    let aws = Aws::new();
    let p = athena_project(&aws, &aws.bucket, "");
    let run = p
        .kiln(&["debug"])
        .env("AWS_ACCESS_KEY_ID", &aws.key_id)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .run();
    run.assert_success();
    let calls = aws.proxy.calls();
    assert_eq!(calls.len(), 3);
    for call in &calls {
        assert_eq!(call.key_id().as_deref(), Some(aws.key_id.as_str()));
        assert_eq!(call.header("x-amz-security-token"), Some(TOKEN));
    }
}

/// `kiln debug` says what failed: a staging bucket that does not exist fails its check, with
/// S3's answer, and the command fails.
#[test]
fn debug_reports_a_missing_staging_bucket() {
    let aws = Aws::new();
    let p = athena_project(
        &aws,
        "kiln-no-such-bucket",
        "      aws_access_key_id: AKIAKILNDEBUG0000001\n      aws_secret_access_key: not-a-real-secret-1\n",
    );
    let run = p
        .kiln(&["debug"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .run();
    run.assert_code(2);
    let out = run.snapshot().replace(&aws.proxy.url(), "[ENDPOINT]");
    insta::assert_snapshot!(out);
}

/// `kiln debug` against an endpoint nothing listens on: one error naming it.
#[test]
fn debug_reports_an_unreachable_endpoint_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let p = TestProject::minimal().file(
        "profiles.yml",
        &format!(
            "shop:\n  target: athena\n  outputs:\n    athena:\n      type: athena\n      region_name: us-east-1\n      \
             s3_staging_dir: s3://b/staging/\n      schema: analytics\n      endpoint_url: http://127.0.0.1:{port}\n      \
             num_retries: 0\n      aws_access_key_id: AKIAKILNDEBUG0000002\n      aws_secret_access_key: not-a-real-secret-2\n"
        ),
    );
    let run = p
        .kiln(&["debug"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .run();
    run.assert_code(2);
    let out = run.snapshot().replace(&port.to_string(), "[PORT]");
    assert_eq!(out.matches("cannot reach").count(), 1, "{out}");
    insta::assert_snapshot!(out);
}

/// Clones of one client are used from several worker threads at once (each blocks on the
/// client's one runtime): every call gets its own answer.
#[test]
fn one_client_serves_several_threads_at_once() {
    let aws = Aws::new();
    let c = aws.client();
    let dbs: Vec<String> = (0..4)
        .map(|i| moto::unique(&format!("kiln_t{i}_")))
        .collect();
    for db in &dbs {
        assert!(
            c.create_database(db, None)
                .unwrap_or_else(|e| panic!("{e}"))
        );
    }
    let handles: Vec<_> = dbs
        .iter()
        .map(|db| {
            let (c, db) = (c.clone(), db.clone());
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| c.get_database(&db).map(|d| d.map(|d| d.name)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (db, h) in dbs.iter().zip(handles) {
        let answers = h.join().expect("the thread ends");
        assert_eq!(answers, vec![Ok(Some(db.clone())); 5]);
    }
    assert_eq!(
        aws.proxy
            .ops()
            .iter()
            .filter(|o| *o == "GetDatabase")
            .count(),
        20
    );
}

/// The venv bootstrap (`aws/moto.rs`, `ensure_venv`) says what is missing instead of failing
/// obscurely: here, a Python that cannot be run.
#[test]
fn moto_bootstrap_without_python_says_to_install_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let venv = dir.path().join("moto-venv");
    let req = dir.path().join("req.txt");
    std::fs::write(&req, "moto[server]==5.2.6\n").expect("write");
    let err = moto::ensure_venv(&venv, &req, "kiln-no-such-python3")
        .expect_err("a missing python is an error");
    assert!(
        err.contains("`kiln-no-such-python3` cannot be run") && err.contains("install Python 3"),
        "{err}"
    );
    assert!(!venv.join("requirements.txt").exists());
}

/// pip failing (here: no package index reachable) is an error naming the requirements file
/// and the network, and leaves the venv unmarked, so the next run installs again.
#[test]
fn moto_bootstrap_without_pypi_says_to_check_the_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let venv = dir.path().join("moto-venv");
    let req = dir.path().join("req.txt");
    std::fs::write(&req, "kiln-no-such-package==0.0.1\n").expect("write");
    // pip reads its index from its environment
    let pip_env = [
        ("PIP_INDEX_URL", "http://127.0.0.1:9/simple"),
        ("PIP_RETRIES", "0"),
        ("PIP_TIMEOUT", "1"),
        ("PIP_NO_CACHE_DIR", "1"),
    ];
    let err = moto::ensure_venv_with(&venv, &req, "python3", &pip_env)
        .expect_err("an unreachable index is an error");
    assert!(err.contains("pip install -r"), "{err}");
    assert!(err.contains("network access to PyPI"), "{err}");
    assert!(venv.join("bin/python").exists(), "the venv was created");
    assert!(
        !venv.join("requirements.txt").exists(),
        "but not marked installed"
    );
}

/// A profile's credentials are not in Jinja's `target` (as dbt-athena leaves them out of
/// `target`), while its other fields are; so no model can compile one into SQL. With
/// `--debug`, nothing kiln logs holds them either.
#[test]
fn target_in_jinja_has_no_secrets() {
    let p = TestProject::minimal()
        .file(
            "profiles.yml",
            "shop:\n  target: athena\n  outputs:\n    athena:\n      type: athena\n      region_name: eu-west-1\n      \
             s3_staging_dir: s3://results/staging/\n      schema: analytics\n      \
             aws_access_key_id: \"{{ env_var('KILN_TEST_KEY_ID') }}\"\n      \
             aws_secret_access_key: \"{{ env_var('KILN_TEST_SECRET') }}\"\n      \
             aws_session_token: \"{{ env_var('KILN_TEST_TOKEN') }}\"\n",
        )
        .file(
            "models/leak.sql",
            "select '{{ target.region_name }}' as region, \
             '{{ target.get(\"aws_secret_access_key\", \"absent\") }}' as sk, \
             '{{ target.get(\"aws_session_token\", \"absent\") }}' as tok, \
             '{{ target.keys() | list | join(\",\") }}' as keys",
        );
    let run = p
        .kiln(&["--debug", "compile", "-s", "leak"])
        .env("KILN_TEST_KEY_ID", "AKIAKILNJINJATEST")
        .env("KILN_TEST_SECRET", SECRET)
        .env("KILN_TEST_TOKEN", TOKEN)
        .run();
    run.assert_success();
    let compiled = p.read("target/compiled/shop/models/leak.sql");
    assert!(
        compiled.starts_with("select 'eu-west-1' as region, 'absent' as sk, 'absent' as tok"),
        "{compiled}"
    );
    assert!(!compiled.contains("aws_secret_access_key"), "{compiled}");
    assert!(compiled.contains("s3_staging_dir"), "{compiled}");
    for text in [
        compiled,
        run.stdout.clone(),
        run.stderr.clone(),
        p.read("logs/dbt.log"),
        p.read("target/manifest.json"),
    ] {
        for secret in [SECRET, TOKEN] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}
