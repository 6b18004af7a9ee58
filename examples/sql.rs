//! Runs one SQL statement on a DuckDB database and prints the rows, tab-separated (for the
//! benchmark scripts, which must not need a DuckDB CLI).
//!
//!     cargo run --example sql -- DATABASE_FILE_OR_:memory: "select ..."

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(db), Some(sql)) = (args.first(), args.get(1)) else {
        eprintln!("usage: sql DATABASE SQL");
        std::process::exit(2);
    };
    let conn = if db == ":memory:" {
        duckdb::Connection::open_in_memory()
    } else {
        duckdb::Connection::open(db)
    }
    .unwrap_or_else(|e| {
        eprintln!("cannot open {db}: {e}");
        std::process::exit(1);
    });
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    let mut rows = stmt.query([]).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    while let Ok(Some(row)) = rows.next() {
        let n = row.as_ref().column_count();
        let cells: Vec<String> = (0..n)
            .map(|i| match row.get::<_, duckdb::types::Value>(i) {
                Ok(duckdb::types::Value::Null) => "NULL".to_string(),
                Ok(duckdb::types::Value::Text(s)) => s,
                Ok(v) => format!("{v:?}"),
                Err(_) => "?".into(),
            })
            .collect();
        println!("{}", cells.join("\t"));
    }
}
