//! The seed benchmark (`bash bench/seed.sh`): a CSV of ROWS rows and eight columns of mixed types
//! (integer, text, decimal, date, timestamp, boolean, 64-bit integer, integer with NULLs) written
//! to a temp dir, then loaded three times as a seed into a DuckDB file, as the runner loads one:
//! type inference (`seed::load`, one aggregate pass inside DuckDB), then the load plan (create,
//! insert from read_csv, swap). Each run prints the time of both steps and rows per second.
//!
//! ```text
//! cargo run --release --example seed_load -- [ROWS]      # default: 1000000
//! ```

use kiln::adapter::{Adapter, DuckDb, RelationKind};
use kiln::materialize::seed;
use kiln::project::settings::{SeedConfig, Settings};
use kiln::project::{Node, ResourceType};
use std::path::Path;
use std::time::Instant;

/// A seed node for `file`, in the target's default database and schema `main`.
fn seed_node(name: &str, file: &Path) -> Node {
    Node {
        unique_id: format!("seed.bench.{name}"),
        resource_type: ResourceType::Seed,
        name: name.into(),
        package_name: "bench".into(),
        path: format!("{name}.csv"),
        original_file_path: format!("seeds/{name}.csv"),
        file: file.to_path_buf(),
        line_offset: 0,
        fqn: vec!["bench".into(), name.into()],
        raw_code: String::new(),
        checksum: String::new(),
        config: Default::default(),
        unrendered_config: Default::default(),
        description: String::new(),
        columns: Default::default(),
        patch_path: None,
        refs: vec![],
        sources: vec![],
        depends_on_macros: vec![],
        database: String::new(),
        schema: "main".into(),
        alias: name.into(),
        relation_name: None,
        test: None,
        version: None,
        latest_version: None,
        deprecation_date: None,
        constraints: vec![],
        doc_blocks: vec![],
        // What the parse phase settles for a seed with no config.
        settings: Settings {
            seed: Some(SeedConfig::default()),
            ..Settings::default()
        },
        spans: Default::default(),
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seed benchmark: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Any error as its message.
fn msg(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn run() -> Result<(), String> {
    let rows: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse().map_err(|e| format!("ROWS '{n}': {e}"))?,
        None => 1_000_000,
    };
    let dir = tempfile::tempdir().map_err(msg)?;
    let csv = dir.path().join("big.csv");
    let target: kiln::adapter::DuckDbTarget = serde_json::from_value(
        serde_json::json!({"path": dir.path().join("bench.duckdb").display().to_string()}),
    )
    .map_err(msg)?;
    let adapter = DuckDb::new(target, dir.path(), dir.path());
    let mut conn = adapter.connect().map_err(msg)?;

    let start = Instant::now();
    conn.execute(&format!(
        "copy (select i as id, 'customer ' || i as name, round(i * 1.37, 2) as amount, \
         date '2020-01-01' + (i % 1000)::int as signup_date, \
         timestamp '2020-01-01 00:00:00' + to_seconds(i) as updated_at, (i % 2 = 0) as active, \
         i * 10000 as big_id, case when i % 3 = 0 then null else i % 7 end as bucket \
         from range({rows}) t(i)) to '{}' (header, delimiter ',')",
        csv.display()
    ))
    .map_err(msg)?;
    let size = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {rows} rows, {:.1} MB, in {:.2?}",
        size as f64 / 1e6,
        start.elapsed()
    );

    let node = seed_node("big", &csv);
    for run in 1..=3 {
        let existing = conn
            .get_relation("", "main", "big")
            .map_err(msg)?
            .map(|r| r.kind);
        let t0 = Instant::now();
        let load = seed::load(conn.as_mut(), &adapter, &node, existing).map_err(msg)?;
        let inferred = t0.elapsed();
        for s in &load.plan.statements(&adapter) {
            conn.execute(s).map_err(|e| format!("{e}\nin:\n{s}"))?;
        }
        let total = t0.elapsed();
        if load.rows != rows {
            return Err(format!("loaded {} rows, not {rows}", load.rows));
        }
        if run == 1 {
            let types: Vec<String> = load
                .columns
                .iter()
                .map(|c| format!("{} {}", c.name, c.data_type))
                .collect();
            println!("types: {}", types.join(", "));
        }
        println!(
            "run {run}: inference {:.2?}, load {:.2?}, total {:.2?} ({:.0} rows/s)",
            inferred,
            total - inferred,
            total,
            rows as f64 / total.as_secs_f64()
        );
    }
    let existing = conn
        .get_relation("", "main", "big")
        .map_err(msg)?
        .map(|r| r.kind);
    if existing != Some(RelationKind::Table) {
        return Err("the seed table is missing after the load".into());
    }
    Ok(())
}
