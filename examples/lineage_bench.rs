//! Times column lineage (`kiln::sql::lineage`) over generated dbt-like queries: staging models
//! over a `*` CTE, joins with GROUP BY ALL, windows with QUALIFY, CTE chains with UNION BY NAME,
//! CASE with scalar subqueries, marts joining CTEs with USING. Every query reads real upstream
//! columns, so each answer must come back complete; the run fails otherwise.
//!
//!     bash bench/lineage.sh [N]          # release build, N queries (default 10000)
//!     cargo run --example lineage_bench -- [N] [SEED]
//!
//! Prints the time to parse the N queries (sqlparser) and, separately, to compute the lineage of
//! the parsed statements (`analyze_statement`), each the best of three rounds.

use kiln::sql::lineage::{Column, Options, RelationName, Schema, analyze_statement};
use sqlparser::dialect::DuckDbDialect;
use std::time::Instant;

/// Upstream relations the queries read.
const RELATIONS: usize = 500;

/// Timed rounds; the best is reported.
const ROUNDS: usize = 3;

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Relation i has `id`, `fk` and `width(i)` value columns `c0`...
fn width(i: usize) -> usize {
    8 + i % 23
}

fn table(i: usize) -> String {
    format!("\"db\".\"main\".\"t{i}\"")
}

fn query(n: usize, rng: &mut Rng) -> String {
    let a = rng.below(RELATIONS);
    let b = rng.below(RELATIONS);
    let (ta, tb) = (table(a), table(b));
    let c = |rng: &mut Rng, rel: usize| format!("c{}", rng.below(width(rel)));
    match n % 6 {
        0 => {
            let cols: Vec<String> = (0..width(a))
                .map(|k| match k % 4 {
                    0 => format!("c{k}"),
                    1 => format!("cast(c{k} as varchar) as c{k}"),
                    2 => format!("lower(trim(cast(c{k} as varchar))) as c{k}_clean"),
                    _ => format!("coalesce(c{k}, 0) as c{k}"),
                })
                .collect();
            format!(
                "-- staging model {n}\nwith source as (\n    select * from {ta}\n),\n\nrenamed as (\n    select\n        id,\n        fk as parent_id,\n        {}\n    from source\n    where {} is not null\n)\n\nselect * from renamed",
                cols.join(",\n        "),
                c(rng, a)
            )
        }
        1 => format!(
            "select a.id, a.{}, count(*) as n, sum(b.{}) as total, max(b.{}) as last_value,\n    count(distinct b.fk) as parents\nfrom {ta} a\nleft join {tb} b on b.fk = a.id\nwhere a.{} > 0\ngroup by all\norder by total desc",
            c(rng, a),
            c(rng, b),
            c(rng, b),
            c(rng, a)
        ),
        2 => format!(
            "select *, row_number() over (partition by fk order by {} desc) as rn,\n    sum({}) over (partition by fk) as fk_total\nfrom {ta}\nqualify rn = 1",
            c(rng, a),
            c(rng, a)
        ),
        3 => format!(
            "with x as (\n    select id, {} as v, 'x' as origin from {ta} where {} > 10\n), y as (\n    select id, {} as v, 'y' as origin from {tb}\n)\nselect * from x\nunion all by name\nselect * from y",
            c(rng, a),
            c(rng, a),
            c(rng, b)
        ),
        4 => format!(
            "select a.id,\n    case when a.{} > 0 then a.{} else a.{} end as v,\n    (select max(b.{}) from {tb} b where b.fk = a.id) as biggest,\n    sha256(cast(a.{} as varchar)) as hashed\nfrom {ta} a",
            c(rng, a),
            c(rng, a),
            c(rng, a),
            c(rng, b),
            c(rng, a)
        ),
        _ => format!(
            "with orders as (\n    select id, fk, {} as amount from {ta}\n),\nparents as (\n    select id as fk, {} as label from {tb}\n),\njoined as (\n    select * from orders join parents using (fk)\n)\nselect fk, label, sum(amount) as revenue, count(*) as orders\nfrom joined\ngroup by fk, label",
            c(rng, a),
            c(rng, b)
        ),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(42);

    let mut schema = Schema::new();
    for i in 0..RELATIONS {
        let mut columns = vec![Column::new("id", "INTEGER"), Column::new("fk", "INTEGER")];
        columns.extend((0..width(i)).map(|k| Column::new(format!("c{k}"), "DOUBLE")));
        schema.add_relation(RelationName::new(["db", "main", &format!("t{i}")]), columns);
    }
    let mut rng = Rng(seed.max(1));
    let queries: Vec<String> = (0..n).map(|i| query(i, &mut rng)).collect();
    let bytes: usize = queries.iter().map(String::len).sum();
    let dialect = DuckDbDialect {};
    let options = Options::default();

    // Best of ROUNDS: the machine is shared, and the minimum is the least disturbed run.
    let mut parse_best = f64::MAX;
    let mut lineage_best = f64::MAX;
    let mut totals = (0, 0);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let mut statements = Vec::with_capacity(n);
        for sql in &queries {
            match kiln::sql::parse(sql, &dialect) {
                Ok(mut parsed) if parsed.len() == 1 => statements.extend(parsed.pop()),
                _ => {
                    eprintln!("does not parse as one statement:\n{sql}");
                    std::process::exit(1);
                }
            }
        }
        parse_best = parse_best.min(start.elapsed().as_secs_f64());

        let start = Instant::now();
        let (mut columns, mut inputs) = (0, 0);
        for (statement, sql) in statements.iter().zip(&queries) {
            let lineage = analyze_statement(statement, sql, &schema, &options);
            if !lineage.is_complete() {
                eprintln!("incomplete: {:#?}\n{sql}", lineage.incomplete);
                std::process::exit(1);
            }
            columns += lineage.columns.len();
            inputs += lineage
                .columns
                .iter()
                .map(|c| c.inputs.len())
                .sum::<usize>();
        }
        lineage_best = lineage_best.min(start.elapsed().as_secs_f64());
        totals = (columns, inputs);
    }

    let ms = |s: f64| s * 1000.0;
    println!(
        "{n} queries ({:.1} MB of SQL), {} output columns, {} column inputs; best of {ROUNDS}",
        bytes as f64 / 1e6,
        totals.0,
        totals.1
    );
    println!(
        "parse (sqlparser):  {:8.1} ms  ({:.1} µs a query)",
        ms(parse_best),
        ms(parse_best) * 1000.0 / n as f64
    );
    println!(
        "lineage:            {:8.1} ms  ({:.1} µs a query)",
        ms(lineage_best),
        ms(lineage_best) * 1000.0 / n as f64
    );
    println!(
        "together:           {:8.1} ms",
        ms(parse_best + lineage_best)
    );
}
