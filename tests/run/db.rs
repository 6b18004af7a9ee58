//! Reading the DuckDB file a run wrote, as text rows.

use crate::support::TestProject;

/// Runs `sql` on the project's `dev.duckdb` and returns each row as text cells (NULL as "NULL").
pub fn query(p: &TestProject, sql: &str) -> Vec<Vec<String>> {
    let conn = duckdb::Connection::open(p.dir().join("dev.duckdb")).expect("open dev.duckdb");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let mut rows = stmt.query([]).expect("query");
    let mut out = vec![];
    while let Some(row) = rows.next().expect("next row") {
        let n = row.as_ref().column_count();
        let mut cells = vec![];
        for i in 0..n {
            let v: duckdb::types::Value = row.get(i).expect("cell");
            cells.push(text(&v));
        }
        out.push(cells);
    }
    out
}

/// Runs statements (DDL, DML) on the project's `dev.duckdb`.
pub fn execute(p: &TestProject, sql: &str) {
    let conn = duckdb::Connection::open(p.dir().join("dev.duckdb")).expect("open dev.duckdb");
    conn.execute_batch(sql).expect("execute");
}

fn text(v: &duckdb::types::Value) -> String {
    use duckdb::types::Value as V;
    match v {
        V::Null => "NULL".into(),
        V::Boolean(b) => b.to_string(),
        V::TinyInt(i) => i.to_string(),
        V::SmallInt(i) => i.to_string(),
        V::Int(i) => i.to_string(),
        V::BigInt(i) => i.to_string(),
        V::HugeInt(i) => i.to_string(),
        V::UTinyInt(i) => i.to_string(),
        V::USmallInt(i) => i.to_string(),
        V::UInt(i) => i.to_string(),
        V::UBigInt(i) => i.to_string(),
        V::Float(f) => f.to_string(),
        V::Double(f) => f.to_string(),
        V::Text(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// One-column results flattened: `select x from t order by 1` → ["1", "2"].
pub fn column(p: &TestProject, sql: &str) -> Vec<String> {
    query(p, sql).into_iter().map(|mut r| r.remove(0)).collect()
}

/// The tables and views in the database, as `schema.name kind` (kiln's build state aside).
pub fn relations(p: &TestProject) -> Vec<String> {
    column(
        p,
        "select table_schema || '.' || table_name || ' ' || lower(table_type) from information_schema.tables where table_schema <> 'kiln_state' order by 1",
    )
}

/// run_results.json as JSON.
pub fn run_results(p: &TestProject) -> serde_json::Value {
    serde_json::from_str(&p.read("target/run_results.json")).expect("run_results.json is JSON")
}

/// `unique_id status` per result, sorted.
pub fn statuses(p: &TestProject) -> Vec<String> {
    let rr = run_results(p);
    let mut out: Vec<String> = rr["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["unique_id"].as_str().unwrap_or_default(),
                r["status"].as_str().unwrap_or_default()
            )
        })
        .collect();
    out.sort();
    out
}
