//! What the Athena tests share beyond [`Warehouse`]: answers queued in moto for the queries kiln
//! reads, the statements kiln sent, and the Glue partitions of a table.

use super::*;

/// The `column_info` of one result column.
pub fn column_info(name: &str, data_type: &str) -> Value {
    json!({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name,
           "Type": data_type, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN",
           "CaseSensitive": false})
}

/// Queues query answers in moto, which gives each started query the next one.
pub fn queue_results(w: &Warehouse, results: Vec<Value>) {
    moto::queue_query_results(&w.account, results);
}

/// One query answer as moto's queue takes it: a header row of the `(name, type)` columns'
/// names, then `rows` (`None` a NULL).
pub fn table_result(columns: &[(&str, &str)], rows: &[Vec<Option<&str>>]) -> Value {
    let cell = |v: Option<&str>| match v {
        Some(v) => json!({"VarCharValue": v}),
        None => json!({}),
    };
    let header: Vec<Value> = columns.iter().map(|(n, _)| cell(Some(n))).collect();
    let mut data = vec![json!({ "Data": header })];
    for row in rows {
        let cells: Vec<Value> = row.iter().map(|v| cell(*v)).collect();
        data.push(json!({ "Data": cells }));
    }
    let info: Vec<Value> = columns.iter().map(|(n, t)| column_info(n, t)).collect();
    json!({"rows": data, "column_info": info})
}

/// Queues one answer ([`table_result`]).
pub fn queue_table(w: &Warehouse, columns: &[(&str, &str)], rows: &[Vec<Option<&str>>]) {
    queue_results(w, vec![table_result(columns, rows)]);
}

/// Queues `skip` empty answers (for the statements kiln starts first), then one varchar
/// `column` of `values` (what `select distinct dt` over a stage returns).
pub fn queue_rows(w: &Warehouse, skip: usize, column: &str, values: &[impl AsRef<str>]) {
    let rows: Vec<Vec<Option<&str>>> = values.iter().map(|v| vec![Some(v.as_ref())]).collect();
    let mut results = vec![json!({"rows": [], "column_info": []}); skip];
    results.push(table_result(&[(column, "varchar")], &rows));
    queue_results(w, results);
}

/// Creates the Glue database `analytics` (as it is before kiln makes it).
pub fn create_analytics(w: &Warehouse) {
    let r = w.glue(
        "CreateDatabase",
        json!({"DatabaseInput": {"Name": "analytics"}}),
    );
    assert_eq!(r.status(), 200, "{}", r.text());
}

/// Registers a Hive table in Glue as another tool (or an interrupted build) would:
/// `analytics.<name>`, its `(name, type)` columns, its data at `location`.
pub fn create_hive_table(w: &Warehouse, name: &str, columns: &[(&str, &str)], location: &str) {
    let columns: Vec<Value> = columns
        .iter()
        .map(|(n, t)| json!({"Name": n, "Type": t}))
        .collect();
    let r = w.glue(
        "CreateTable",
        json!({"DatabaseName": "analytics", "TableInput": {"Name": name, "TableType": "EXTERNAL_TABLE",
               "StorageDescriptor": {"Columns": columns, "Location": location}}}),
    );
    assert_eq!(r.status(), 200, "{}", r.text());
}

/// The bucket's keys under `prefix`: a key prefix, or a location (`s3://<bucket>/...`).
pub fn keys_under(w: &Warehouse, prefix: &str) -> Vec<String> {
    let prefix = prefix.trim_start_matches(&format!("s3://{}/", w.bucket));
    w.keys()
        .into_iter()
        .filter(|k| k.starts_with(prefix))
        .collect()
}

/// The statements kiln started since the proxy's log was cleared, in order.
pub fn queries(w: &Warehouse) -> Vec<String> {
    w.proxy
        .calls()
        .iter()
        .filter(|c| c.op == "StartQueryExecution")
        .filter_map(|c| c.json()["QueryString"].as_str().map(str::to_string))
        .collect()
}

/// [`queries`] with the bucket and the build ids replaced.
pub fn statements(w: &Warehouse) -> Vec<String> {
    let ids = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("regex");
    queries(w)
        .into_iter()
        .map(|q| {
            ids.replace_all(&q.replace(&w.bucket, "BUCKET"), "[BUILD]")
                .into_owned()
        })
        .collect()
}

/// The Glue partitions of `analytics.<table>` (every page), sorted: (values joined by `/`,
/// location).
pub fn partitions(w: &Warehouse, table: &str) -> Vec<(String, String)> {
    partitions_in(w, "analytics", table)
}

/// The Glue partitions of `<database>.<table>` as `account` reads them, as [`partitions`].
pub fn partitions_in(account: &impl Account, database: &str, table: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![];
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"DatabaseName": database, "TableName": table});
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let r = account.glue("GetPartitions", body);
        assert_eq!(r.status(), 200, "{}", r.text());
        let page = r.json();
        for p in page["Partitions"].as_array().into_iter().flatten() {
            let values: Vec<&str> = p["Values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.push((
                values.join("/"),
                p["StorageDescriptor"]["Location"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ));
        }
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    out.sort();
    out
}
