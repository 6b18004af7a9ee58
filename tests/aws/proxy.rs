//! A recording proxy in front of moto, one per test. It gives each test an AWS account of its
//! own on the shared moto server (it adds moto's `x-moto-account-id` header), logs every call
//! the client makes (the exact API call list the tests assert on), and does what moto cannot:
//! answer a call with an error a number of times (throttling, 5xx, a message echoing a
//! secret), serve `GetQueryResults` in pages (moto ignores `MaxResults`), and turn a query
//! moto ran into a FAILED one (moto has no FAILED state). Everything else reaches moto as sent.

use super::http::{self, Message};
use super::moto::Account;
use serde_json::{Value, json};
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};

/// One call as the client sent it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The service of the signature's credential scope: `athena`, `glue`, `s3`.
    pub service: String,
    /// The operation: `StartQueryExecution`, `GetTable`, `ListObjectsV2`...
    pub op: String,
    /// Path and query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Answered by the proxy (an injected error); moto never saw it.
    pub injected: bool,
}

impl Call {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The access key id the call was signed with.
    pub fn key_id(&self) -> Option<String> {
        credential_scope(self.header("authorization")?).map(|s| s.0)
    }
}

/// What the proxy does besides forwarding.
#[derive(Debug, Clone)]
pub enum Rule {
    /// Answers the next `times` calls of `op` with `status` and an awsJson error body.
    Fail {
        op: &'static str,
        times: usize,
        status: u16,
        code: &'static str,
        message: String,
    },
    /// Serves `GetQueryResults` `rows` rows at a time, with `NextToken`s.
    Pages { rows: usize },
    /// The next `times` queries that moto reports SUCCEEDED are reported FAILED with `reason`.
    FailQueries { times: usize, reason: String },
    /// Plays the engine moto lacks (moto runs no SQL): when a `create table ... with
    /// (external_location|location='s3://...')` or a `create or replace view` starts, it does
    /// what Athena would, in moto: registers the table in Glue (one `id bigint` column, the
    /// location, Iceberg's parameters for `table_type='iceberg'`) and writes a data file under
    /// the location, or registers the view. The harness's own calls are not recorded.
    #[allow(dead_code)]
    Engine,
    /// Queries whose SQL starts with `sql_prefix` stay RUNNING (whatever moto says) until a
    /// StopQueryExecution for them comes: a long query, for interrupt tests.
    #[allow(dead_code)]
    Hold { sql_prefix: String },
    /// A data test's query (dbt's `count(*) as failures, ... as should_warn, ... as
    /// should_error`) answers that it passed: 0 failures. moto runs no SQL.
    #[allow(dead_code)]
    PassTests,
    /// A query whose SQL contains every one of `contains` is answered with `result` (a
    /// `GetQueryResults` body), the first such rule winning: the engine's answer to a query
    /// the harness knows (a snapshot's or a unit test's column probe, a unit test's
    /// comparison). moto runs no SQL.
    #[allow(dead_code)]
    Answer {
        contains: Vec<String>,
        result: Value,
    },
    /// The columns (`name`, Hive type) the engine registers for a CTAS of each table, by
    /// name (a staged `<name>__ha` or `<name>__dbt_tmp` takes its table's), instead of one
    /// `id` column: what the query would output, as the harness knows it.
    #[allow(dead_code)]
    Columns(std::collections::BTreeMap<String, Vec<(String, String)>>),
    /// The test's own engine: called with each query moto started (after [`Rule::Engine`]
    /// played it); the `ResultSet` it returns is what `GetQueryResults` answers for that query.
    #[allow(dead_code)]
    Answers(Answerer),
}

/// A test's answer to a query's SQL (see [`Rule::Answers`]).
#[derive(Clone)]
pub struct Answerer(pub Arc<dyn Fn(&str) -> Option<Value> + Send + Sync>);

impl std::fmt::Debug for Answerer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Answerer")
    }
}

struct State {
    calls: Vec<Call>,
    rules: Vec<Rule>,
    /// Query ids turned FAILED (they stay FAILED on every later poll).
    failed: Vec<String>,
    /// Query ids held RUNNING by a `Hold` rule, until stopped.
    held: Vec<String>,
    /// Data tests' query ids, answered as passing by a `PassTests` rule.
    tests: Vec<String>,
    /// Query ids answered by an `Answer` or `Answers` rule, with the `GetQueryResults` body.
    answers: Vec<(String, Value)>,
}

pub struct Proxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (moto) for `account`.
    pub fn start(upstream: SocketAddr, account: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State {
            calls: Vec::new(),
            rules: Vec::new(),
            failed: Vec::new(),
            held: Vec::new(),
            tests: Vec::new(),
            answers: Vec::new(),
        }));
        let shared = state.clone();
        let account = account.to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                let account = account.clone();
                std::thread::spawn(move || serve(stream, upstream, &account, &state));
            }
        });
        Proxy { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn rule(&self, rule: Rule) {
        lock(&self.state).rules.push(rule);
    }

    /// Drops every `Hold` rule (held queries then finish as moto says).
    #[allow(dead_code)]
    pub fn release(&self) {
        let mut st = lock(&self.state);
        st.rules.retain(|r| !matches!(r, Rule::Hold { .. }));
        st.held.clear();
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state).calls.clone()
    }

    /// The operations called so far, in order.
    pub fn ops(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.op).collect()
    }

    /// Forgets the calls so far.
    pub fn clear(&self) {
        lock(&self.state).calls.clear();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// The access key id and the service of a SigV4 `Authorization` header.
pub fn credential_scope(auth: &str) -> Option<(String, String)> {
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    (parts.len() == 5).then(|| (parts[0].to_string(), parts[3].to_string()))
}

/// The operation a request is: `X-Amz-Target`'s name for the JSON services, and for S3 what
/// the method, path and query say.
fn operation(req: &Message) -> String {
    if let Some(target) = req.header("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let mut parts = req.start.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let has_key =
        path.trim_start_matches('/').contains('/') && !path.trim_start_matches('/').ends_with('/');
    let q = |name: &str| {
        query
            .split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    match method {
        "GET" if q("list-type") => "ListObjectsV2",
        "GET" if has_key => "GetObject",
        "GET" => "ListObjects",
        "POST" if q("delete") => "DeleteObjects",
        "PUT" if has_key => "PutObject",
        "PUT" => "CreateBucket",
        "DELETE" if has_key => "DeleteObject",
        "DELETE" => "DeleteBucket",
        "HEAD" if has_key => "HeadObject",
        "HEAD" => "HeadBucket",
        other => other,
    }
    .to_string()
}

fn serve(stream: TcpStream, upstream: SocketAddr, account: &str, state: &Mutex<State>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(mut req)) = http::read_message(&mut reader, false) {
        let op = operation(&req);
        let service = req
            .header("authorization")
            .and_then(credential_scope)
            .map(|s| s.1)
            .unwrap_or_default();
        let mut call = Call {
            service,
            op: op.clone(),
            path: req.start.split_whitespace().nth(1).unwrap_or("").into(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            injected: false,
        };
        let injected = take_failure(state, &op);
        let answer = match injected {
            Some(answer) => {
                call.injected = true;
                answer
            }
            None => {
                let pages = pages_rule(state);
                let mut page_from = 0;
                if op == "GetQueryResults" && pages.is_some() {
                    // moto answers every row at once: ask it for all, cut the page here.
                    let mut body = req.json();
                    if let Some(o) = body.as_object_mut() {
                        page_from = o
                            .remove("NextToken")
                            .and_then(|t| t.as_str()?.strip_prefix("page:")?.parse().ok())
                            .unwrap_or(0);
                        o.remove("MaxResults");
                    }
                    req.body = body.to_string().into_bytes();
                }
                req.set_header("x-moto-account-id", account);
                let mut answer = match http::send(upstream, &req) {
                    Ok(a) => a,
                    Err(e) => error_answer(502, "ProxyError", &format!("moto: {e}")),
                };
                if op == "GetQueryResults"
                    && let Some(id) = req.json()["QueryExecutionId"].as_str()
                    && lock(state).tests.iter().any(|t| t == id)
                {
                    answer.body = passing_test().to_string().into_bytes();
                }
                if op == "GetQueryResults"
                    && let Some(id) = req.json()["QueryExecutionId"].as_str()
                    && let Some((_, result)) = lock(state).answers.iter().find(|(a, _)| a == id)
                {
                    answer.body = result.to_string().into_bytes();
                }
                if let (Some(rows), "GetQueryResults") = (pages, op.as_str()) {
                    answer = page(answer, page_from, rows);
                }
                if op == "GetQueryExecution" {
                    answer = maybe_fail_query(state, answer);
                    answer = maybe_hold(state, answer);
                }
                if op == "StopQueryExecution"
                    && let Some(id) = req.json()["QueryExecutionId"].as_str()
                {
                    lock(state).held.retain(|h| h != id);
                }
                if op == "StartQueryExecution"
                    && answer.status() == 200
                    && let Some(sql) = req.json()["QueryString"].as_str()
                    && let Some(id) = answer.json()["QueryExecutionId"].as_str()
                {
                    let mut st = lock(state);
                    if sql.contains(" as failures,")
                        && sql.contains(" as should_error")
                        && st.rules.iter().any(|r| matches!(r, Rule::PassTests))
                    {
                        st.tests.push(id.to_string());
                    }
                    let answer = st.rules.iter().find_map(|r| match r {
                        Rule::Answer { contains, result }
                            if contains.iter().all(|c| sql.contains(c.as_str())) =>
                        {
                            Some(result.clone())
                        }
                        _ => None,
                    });
                    if let Some(result) = answer {
                        st.answers.push((id.to_string(), result));
                    }
                    if st.rules.iter().any(
                        |r| matches!(r, Rule::Hold { sql_prefix } if sql.starts_with(sql_prefix.as_str())),
                    ) {
                        st.held.push(id.to_string());
                    }
                }
                if op == "StartQueryExecution"
                    && answer.status() == 200
                    && engine_rule(state)
                    && let Some(sql) = req.json()["QueryString"].as_str()
                {
                    let registry = lock(state).rules.iter().find_map(|r| match r {
                        Rule::Columns(c) => Some(c.clone()),
                        _ => None,
                    });
                    play_engine(upstream, account, sql, registry.as_ref());
                }
                if op == "StartQueryExecution"
                    && answer.status() == 200
                    && let Some(sql) = req.json()["QueryString"].as_str()
                    && let Some(id) = answer.json()["QueryExecutionId"].as_str()
                {
                    let answerers: Vec<Answerer> = lock(state)
                        .rules
                        .iter()
                        .filter_map(|r| match r {
                            Rule::Answers(a) => Some(a.clone()),
                            _ => None,
                        })
                        .collect();
                    for a in answerers {
                        if let Some(rs) = (a.0)(sql) {
                            let body = json!({"ResultSet": rs, "UpdateCount": 0});
                            lock(state).answers.push((id.to_string(), body));
                        }
                    }
                }
                answer
            }
        };
        lock(state).calls.push(call);
        if writer.write_all(&answer.to_bytes(true)).is_err() {
            return;
        }
    }
}

fn error_answer(status: u16, code: &str, message: &str) -> Message {
    Message {
        start: format!("HTTP/1.1 {status} Error"),
        headers: vec![
            ("Content-Type".into(), "application/x-amz-json-1.1".into()),
            ("x-amzn-ErrorType".into(), code.into()),
        ],
        body: json!({"__type": code, "Message": message})
            .to_string()
            .into_bytes(),
    }
}

/// An injected error for `op`, if a `Fail` rule has one left.
fn take_failure(state: &Mutex<State>, op: &str) -> Option<Message> {
    let mut st = lock(state);
    for rule in &mut st.rules {
        if let Rule::Fail {
            op: o,
            times,
            status,
            code,
            message,
        } = rule
            && *o == op
            && *times > 0
        {
            *times -= 1;
            return Some(error_answer(*status, code, message));
        }
    }
    None
}

fn pages_rule(state: &Mutex<State>) -> Option<usize> {
    lock(state).rules.iter().find_map(|r| match r {
        Rule::Pages { rows } => Some(*rows),
        _ => None,
    })
}

/// Rows `from..from+rows` of moto's whole result, with a `NextToken` when more remain.
fn page(mut answer: Message, from: usize, rows: usize) -> Message {
    let mut body = answer.json();
    let Some(all) = body
        .pointer_mut("/ResultSet/Rows")
        .and_then(Value::as_array_mut)
    else {
        return answer;
    };
    let total = all.len();
    let end = (from + rows).min(total);
    let slice: Vec<Value> = all.get(from..end).unwrap_or_default().to_vec();
    *all = slice;
    if end < total
        && let Some(o) = body.as_object_mut()
    {
        o.insert("NextToken".into(), json!(format!("page:{end}")));
    }
    answer.body = body.to_string().into_bytes();
    answer
}

/// A SUCCEEDED query reported FAILED, when a `FailQueries` rule says so.
fn maybe_fail_query(state: &Mutex<State>, mut answer: Message) -> Message {
    let mut body = answer.json();
    let Some(id) = body
        .pointer("/QueryExecution/QueryExecutionId")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return answer;
    };
    let succeeded = body.pointer("/QueryExecution/Status/State") == Some(&json!("SUCCEEDED"));
    let reason = {
        let mut st = lock(state);
        let already = st.failed.contains(&id);
        let mut reason = None;
        for rule in &mut st.rules {
            if let Rule::FailQueries { times, reason: r } = rule
                && (already || (succeeded && *times > 0))
            {
                if !already {
                    *times -= 1;
                }
                reason = Some(r.clone());
                break;
            }
        }
        if reason.is_some() && !already {
            st.failed.push(id);
        }
        reason
    };
    let Some(reason) = reason else {
        return answer;
    };
    if let Some(status) = body.pointer_mut("/QueryExecution/Status") {
        *status = json!({
            "State": "FAILED",
            "StateChangeReason": reason,
            "AthenaError": {"ErrorCategory": 2, "ErrorType": 1006, "Retryable": false,
                            "ErrorMessage": reason},
        });
    }
    answer.body = body.to_string().into_bytes();
    answer
}

/// A data test's result that says it passed.
fn passing_test() -> Value {
    let cell = |v: &str| json!({"VarCharValue": v});
    let info = |n: &str, t: &str| {
        json!({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n,
               "Type": t, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": false})
    };
    json!({"ResultSet": {
        "Rows": [
            {"Data": [cell("failures"), cell("should_warn"), cell("should_error")]},
            {"Data": [cell("0"), cell("false"), cell("false")]},
        ],
        "ResultSetMetadata": {"ColumnInfo": [
            info("failures", "bigint"), info("should_warn", "boolean"), info("should_error", "boolean")]},
    }, "UpdateCount": 0})
}

/// A held query reported RUNNING (see [`Rule::Hold`]).
fn maybe_hold(state: &Mutex<State>, mut answer: Message) -> Message {
    let mut body = answer.json();
    let held = body
        .pointer("/QueryExecution/QueryExecutionId")
        .and_then(Value::as_str)
        .is_some_and(|id| lock(state).held.iter().any(|h| h == id));
    if !held {
        return answer;
    }
    if let Some(status) = body.pointer_mut("/QueryExecution/Status") {
        *status = json!({"State": "RUNNING"});
    }
    answer.body = body.to_string().into_bytes();
    answer
}

fn engine_rule(state: &Mutex<State>) -> bool {
    lock(state).rules.iter().any(|r| matches!(r, Rule::Engine))
}

/// The quoted parts of `"a"."b"."c"` after `prefix` in `sql`, and the rest of the text.
fn relation_after<'a>(sql: &'a str, prefix: &str) -> Option<(Vec<String>, &'a str)> {
    let rest = sql.trim_start().strip_prefix(prefix)?.trim_start();
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let parts = rest[..end]
        .split('.')
        .map(|p| p.trim_matches(|c| c == '"' || c == '`').to_string())
        .collect();
    Some((parts, &rest[end..]))
}

/// A quoted property of a CTAS's `with (...)`.
fn property<'a>(sql: &'a str, name: &str) -> Option<&'a str> {
    let at = sql.find(&format!("\n    {name}='"))? + name.len() + 7;
    let len = sql[at..].find('\'')?;
    Some(&sql[at..at + len])
}

/// The partitions an insert's filter names, one line each (`cast("dt" as varchar) = 'v'`,
/// `"dt" is null`): each a list of (column, folder value).
fn insert_partitions(sql: &str) -> Vec<Vec<(String, String)>> {
    let Some((_, filter)) = sql.split_once("\nwhere ") else {
        return vec![];
    };
    filter
        .lines()
        .filter_map(|line| {
            let mut pairs = vec![];
            let mut rest = line;
            loop {
                let cast = rest.find("cast(\"");
                let null = rest.find("\" is null");
                match (cast, null) {
                    (Some(c), n) if n.is_none_or(|n| c < n) => {
                        let after = &rest[c + 6..];
                        let k_end = after.find('"')?;
                        let key = after[..k_end].to_string();
                        let v_at = after.find(" as varchar) = '")? + 16;
                        let v_len = after[v_at..].find('\'')?;
                        pairs.push((key, after[v_at..v_at + v_len].to_string()));
                        rest = &after[v_at + v_len..];
                    }
                    (_, Some(n)) => {
                        let key_start = rest[..n].rfind('"')? + 1;
                        pairs.push((
                            rest[key_start..n].to_string(),
                            "__HIVE_DEFAULT_PARTITION__".to_string(),
                        ));
                        rest = &rest[n + 9..];
                    }
                    _ => break,
                }
            }
            (!pairs.is_empty()).then_some(pairs)
        })
        .collect()
}

/// The engine [`Rule::Engine`] plays: its calls go straight to moto, in the test's account.
struct PlayedEngine<'a> {
    account: &'a str,
    upstream: SocketAddr,
}

impl Account for PlayedEngine<'_> {
    fn account(&self) -> &str {
        self.account
    }

    fn principal(&self) -> &str {
        "ENGINE"
    }

    fn moto_addr(&self) -> SocketAddr {
        self.upstream
    }
}

/// What Athena would do for `sql`, done in moto (see [`Rule::Engine`]).
fn play_engine(
    upstream: SocketAddr,
    account: &str,
    sql: &str,
    registry: Option<&std::collections::BTreeMap<String, Vec<(String, String)>>>,
) {
    let engine = PlayedEngine { account, upstream };
    let send = |service: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]| {
        let r = engine.raw(service, method, path, headers, body);
        assert!(
            r.status() < 300,
            "engine: moto {method} {path}: {}",
            r.text()
        );
        r
    };
    let glue = |target: &str, body: Value| {
        let r = engine.glue(target, body);
        assert!(r.status() < 300, "engine: moto glue {target}: {}", r.text());
        r
    };
    // one `file` written into each partition's folder under `location`, the partitions
    // registered in Glue
    let write_partitions = |schema: &str,
                            name: &str,
                            location: &str,
                            partitions: &[Vec<(String, String)>],
                            file: &str| {
        let (bucket, prefix) = location
            .strip_prefix("s3://")
            .and_then(|l| l.split_once('/'))
            .expect("an S3 location");
        let mut inputs = vec![];
        for values in partitions {
            let folder: String = values.iter().map(|(k, v)| format!("{k}={v}/")).collect();
            send(
                "s3",
                "PUT",
                &format!("/{bucket}/{prefix}{folder}{file}"),
                &[],
                b"PAR1",
            );
            inputs.push(json!({
                "Values": values.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                "StorageDescriptor": {"Location": format!("{location}{folder}")},
            }));
        }
        glue(
            "BatchCreatePartition",
            json!({"DatabaseName": schema, "TableName": name, "PartitionInputList": inputs}),
        );
    };
    if let Some((parts, rest)) = relation_after(sql, "create table") {
        let (schema, name) = (&parts[parts.len() - 2], &parts[parts.len() - 1]);
        let iceberg = rest.contains("table_type='iceberg'");
        let location = property(rest, "external_location")
            .or_else(|| property(rest, "location"))
            .expect("the engine plays CTAS statements with a location");
        // An incremental's stage of new rows has the columns of its table that its query
        // names (as the query would give them), where the table exists; else one `id` column.
        let registered = |n: &str| {
            registry.and_then(|r| r.get(&n.to_lowercase())).map(|cols| {
                json!(
                    cols.iter()
                        .map(|(c, t)| json!({"Name": c, "Type": t}))
                        .collect::<Vec<_>>()
                )
            })
        };
        let base = name
            .strip_suffix("__dbt_tmp")
            .or_else(|| name.strip_suffix("__ha"))
            .unwrap_or(name);
        let columns = registered(name)
            .or_else(|| {
                name.strip_suffix("__dbt_tmp")
            .and_then(|base| {
                let body = json!({"DatabaseName": schema, "Name": base}).to_string();
                let auth = "AWS4-HMAC-SHA256 Credential=ENGINE/20260101/us-east-1/glue/aws4_request, SignedHeaders=host, Signature=0";
                let headers = [
                    ("Authorization", auth),
                    ("x-moto-account-id", account),
                    ("X-Amz-Target", "AWSGlue.GetTable"),
                    ("Content-Type", "application/x-amz-json-1.1"),
                ];
                let r = http::send(upstream, &http::request("POST", "/", &headers, body.as_bytes())).ok()?;
                let named: Vec<Value> = r.json()["Table"]["StorageDescriptor"]["Columns"]
                    .as_array()?
                    .iter()
                    .filter(|c| c["Name"].as_str().is_some_and(|n| rest.contains(n)))
                    .cloned()
                    .collect();
                (r.status() < 300).then(|| Value::Array(named))
            })
            .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
            })
            .or_else(|| registered(base))
            .unwrap_or_else(|| json!([{"Name": "id", "Type": "bigint"}]));
        let mut input = json!({
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {"Columns": columns, "Location": location},
            "PartitionKeys": [],
            "Parameters": {"classification": "parquet"},
        });
        if iceberg {
            input["Parameters"] = json!({
                "table_type": "ICEBERG",
                "metadata_location": format!("{location}metadata/00000.metadata.json"),
            });
        }
        // a Hive table partitioned by one column gets one partition, `<column>=2024-01-01/`
        let partition = (!iceberg)
            .then(|| {
                let at = rest.find("partitioned_by=ARRAY['")? + 22;
                Some(rest[at..at + rest[at..].find('\'')?].to_string())
            })
            .flatten();
        if let Some(col) = &partition {
            // a partition column is a partition key, not a column of the files
            let mut ty = json!("string");
            if let Some(cols) = input["StorageDescriptor"]["Columns"].as_array_mut() {
                if let Some(c) = cols.iter().find(|c| c["Name"] == json!(col)) {
                    ty = c["Type"].clone();
                }
                cols.retain(|c| c["Name"] != json!(col));
            }
            input["PartitionKeys"] = json!([{"Name": col, "Type": ty}]);
        }
        glue(
            "CreateTable",
            json!({"DatabaseName": schema, "TableInput": input}),
        );
        let (bucket, prefix) = location
            .strip_prefix("s3://")
            .and_then(|l| l.split_once('/'))
            .expect("an S3 location");
        // (a CTAS filtered by partition values, kiln's batched CTAS, writes those)
        let named = insert_partitions(sql);
        let folder = match &partition {
            Some(_) if !named.is_empty() => {
                write_partitions(schema, name, location, &named, "part-00000.parquet");
                return;
            }
            Some(col) => {
                let folder = format!("{col}=2024-01-01/");
                glue(
                    "CreatePartition",
                    json!({"DatabaseName": schema, "TableName": name, "PartitionInput": {
                        "Values": ["2024-01-01"],
                        "StorageDescriptor": {"Location": format!("{location}{folder}")},
                    }}),
                );
                folder
            }
            None => String::new(),
        };
        send(
            "s3",
            "PUT",
            &format!("/{bucket}/{prefix}{folder}part-00000.parquet"),
            &[],
            b"PAR1",
        );
    } else if let Some((parts, rest)) = relation_after(sql, "create external table") {
        let (schema, name) = (&parts[parts.len() - 2], &parts[parts.len() - 1]);
        let at = rest.find("\nlocation '").expect("a location") + 11;
        let location = &rest[at..at + rest[at..].find('\'').unwrap_or(0)];
        let input = json!({
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "string"}], "Location": location},
        });
        glue(
            "CreateTable",
            json!({"DatabaseName": schema, "TableInput": input}),
        );
    } else if let Some((parts, _)) =
        relation_after(sql, "insert into").or_else(|| relation_after(sql, "merge into"))
    {
        // the rows written go under the table's location
        let (schema, name) = (&parts[parts.len() - 2], &parts[parts.len() - 1]);
        let table = engine
            .glue("GetTable", json!({"DatabaseName": schema, "Name": name}))
            .json();
        let location = table["Table"]["StorageDescriptor"]["Location"]
            .as_str()
            .expect("the table written to has a location")
            .to_string();
        let (bucket, prefix) = location
            .strip_prefix("s3://")
            .and_then(|l| l.split_once('/'))
            .expect("an S3 location");
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // an insert into a partitioned table filtered by partition values (kiln's
        // insert_overwrite) writes one file per partition and registers the partitions
        let partitions = insert_partitions(sql);
        if partitions.is_empty()
            || table["Table"]["PartitionKeys"]
                .as_array()
                .is_none_or(|k| k.is_empty())
        {
            send(
                "s3",
                "PUT",
                &format!("/{bucket}/{prefix}write-{n}.parquet"),
                &[],
                b"PAR1",
            );
        } else {
            // (partitions already registered are reported in the answer's errors, and kept)
            write_partitions(
                schema,
                name,
                &location,
                &partitions,
                &format!("write-{n}.parquet"),
            );
        }
    } else if let Some((parts, _)) = relation_after(sql, "create or replace view") {
        let (schema, name) = (&parts[parts.len() - 2], &parts[parts.len() - 1]);
        let columns = registry
            .and_then(|r| r.get(&name.to_lowercase()))
            .map(|cols| {
                json!(
                    cols.iter()
                        .map(|(c, t)| json!({"Name": c, "Type": t}))
                        .collect::<Vec<_>>()
                )
            })
            .unwrap_or_else(|| json!([{"Name": "id", "Type": "bigint"}]));
        let input = json!({"Name": name, "TableType": "VIRTUAL_VIEW", "ViewOriginalText": sql,
                           "StorageDescriptor": {"Columns": columns}});
        let exists = engine
            .glue("GetTable", json!({"DatabaseName": schema, "Name": name}))
            .status()
            == 200;
        let op = if exists { "UpdateTable" } else { "CreateTable" };
        glue(op, json!({"DatabaseName": schema, "TableInput": input}));
    }
}
