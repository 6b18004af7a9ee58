//! The build benchmark's baseline: executes, in order on one DuckDB connection, the statements a
//! kiln run executed (its `target/run/` files, in the order of `run_results.json`), and prints
//! the seconds it took, closing (checkpointing) the database included.
//!
//!     cargo run --release --example replay -- PROJECT_DIR DATABASE_FILE

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(project), Some(db)) = (args.first(), args.get(1)) else {
        eprintln!("usage: replay PROJECT_DIR DATABASE_FILE");
        std::process::exit(2);
    };
    let project = Path::new(project);
    let rr: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("target/run_results.json"))
            .expect("run_results.json"),
    )
    .expect("json");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("target/manifest.json")).expect("manifest.json"),
    )
    .expect("json");
    let mut results: Vec<&serde_json::Value> =
        rr["results"].as_array().expect("results").iter().collect();
    results.sort_by_key(|r| {
        r["timing"][0]["started_at"]
            .as_str()
            .unwrap_or("")
            .to_string()
    });
    let mut scripts = vec![];
    for r in results {
        let id = r["unique_id"].as_str().unwrap_or_default();
        let node = &manifest["nodes"][id];
        let mut path = project
            .join("target/run")
            .join(node["package_name"].as_str().unwrap_or(""));
        path.push(node["original_file_path"].as_str().unwrap_or(""));
        if node["resource_type"] == "test" && node["test_metadata"].is_object() {
            path.push(node["path"].as_str().unwrap_or(""));
        }
        match std::fs::read_to_string(&path) {
            Ok(s) => scripts.push(s),
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.display());
                std::process::exit(1);
            }
        }
    }
    let _ = std::fs::remove_file(db);
    let conn = duckdb::Connection::open(db).expect("open");
    let started = std::time::Instant::now();
    for s in &scripts {
        // Seeds read their CSV by a path relative to the project.
        if let Err(e) = conn.execute_batch(s) {
            eprintln!("statement failed: {e}\n{s}");
            std::process::exit(1);
        }
    }
    // Closing checkpoints the WAL into the file, as kiln does before it exits: both sides end
    // with the data durable in the database file.
    drop(conn);
    println!("{:.3}", started.elapsed().as_secs_f64());
}
