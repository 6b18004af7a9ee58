//! Writes a project for the build benchmark (`bench/build.sh`): `seeds` CSV seeds of `rows` rows
//! each and `models` small models in layers (views and tables reading seeds and earlier models),
//! with a DuckDB profile.
//!
//!     cargo run --release --example gen_build_project -- OUT_DIR [models] [seeds] [rows]

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: gen_build_project OUT_DIR [models=1000] [seeds=10] [rows=10000]");
        std::process::exit(2);
    };
    let num = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (models, seeds, rows) = (num(1, 1000), num(2, 10), num(3, 10_000));
    let dir = Path::new(out);
    let _ = std::fs::remove_dir_all(dir);
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "dbt_project.yml",
        "name: bench\nversion: '1.0.0'\nconfig-version: 2\nprofile: bench\nmodels:\n  bench:\n    +materialized: table\n",
    );
    write(
        "profiles.yml",
        "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: bench.duckdb\n      threads: 2\n",
    );
    // A small deterministic generator, so runs are comparable.
    let mut state: u64 = 42;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for s in 0..seeds {
        let mut csv = String::from("id,customer_id,category,amount,created_at\n");
        for i in 0..rows {
            let r = next();
            let _ = writeln!(
                csv,
                "{i},{},{},{}.{:02},2024-{:02}-{:02}",
                r % 1000,
                ["a", "b", "c", "d"][(r >> 10) as usize % 4],
                (r >> 20) % 1000,
                (r >> 30) % 100,
                (r >> 40) % 12 + 1,
                (r >> 44) % 28 + 1
            );
        }
        write(&format!("seeds/seed_{s}.csv"), &csv);
    }
    for m in 0..models {
        let sql = if m < seeds.max(1) * 2 {
            format!(
                "select id, customer_id, category, amount, created_at from {{{{ ref('seed_{}') }}}} where amount > {}",
                m % seeds.max(1),
                m % 50
            )
        } else {
            let a = (next() as usize) % m;
            let b = (next() as usize) % m;
            let view = if m % 3 == 0 {
                "{{ config(materialized='view') }}\n"
            } else {
                ""
            };
            format!(
                "{view}select a.customer_id, a.category, sum(a.amount) as amount, count(*) as id, max(a.created_at) as created_at\nfrom {{{{ ref('model_{a}') }}}} a\nwhere a.customer_id in (select customer_id from {{{{ ref('model_{b}') }}}} limit 100)\ngroup by 1, 2"
            )
        };
        write(&format!("models/layer_{}/model_{m}.sql", m / 100), &sql);
    }
}
