//! kiln's own typing of simple models (`src/sql/lineage/types.rs`) against DuckDB's binder, the
//! engine the types must equal character for character:
//! - a matrix: every function and operator rule of the typer's domain over every argument type
//!   (and literal) it could be given, each compared with `DESCRIBE` of the same query in a real
//!   (in-memory) DuckDB: where kiln gives a type it must be DuckDB's, and DuckDB must accept the
//!   query; query shapes (grouping, joins, CTEs, unions) likewise;
//! - a differential check over the demo project and a generated project (`examples/gen_project.rs`
//!   with its sources built): every model kiln types gets exactly the binder's columns and types
//!   (lineage.json with the typer and with `KILN_LINEAGE_BINDER_ONLY=1` are equal).

#[path = "../examples/gen_project.rs"]
#[allow(dead_code)]
mod gen_project;
#[path = "cli/support.rs"]
mod support;

use kiln::sql::lineage::types::{TypedColumn, infer};
use kiln::sql::lineage::{Column, RelationName, Schema};
use sqlparser::dialect::DuckDbDialect;

/// The matrix's table: one column per type of the domain, and one outside it.
const TABLE: &str = "create table t (i integer, b bigint, h hugeint, d double, n decimal(16,2), \
                     m decimal(38,2), s decimal(4,1), w decimal(18,0), v varchar, o boolean, \
                     dt date, ts timestamp, iv interval, l integer[], q decimal(9,3), \
                     r decimal(19,4), u decimal(37,10), si smallint)";
const COLUMNS: [&str; 18] = [
    "i", "b", "h", "d", "n", "m", "s", "w", "v", "o", "dt", "ts", "iv", "l", "q", "r", "u", "si",
];
/// Literals the rules are also given.
const LITERALS: [&str; 8] = [
    "1",
    "0",
    "3000000000",
    "1.5",
    "0.25",
    "'a'",
    "'2020-01-01'",
    "true",
];
const FROM: &str = "\"memory\".\"main\".\"t\"";

struct Engine {
    conn: duckdb::Connection,
    schema: Schema,
}

impl Engine {
    fn new(ddl: &[&str]) -> Engine {
        let conn = duckdb::Connection::open_in_memory().expect("DuckDB opens");
        let mut schema = Schema::new();
        for sql in ddl {
            conn.execute_batch(sql).expect("the matrix's tables");
        }
        let mut stmt = conn
            .prepare(
                "select table_schema, table_name, column_name, data_type from information_schema.columns \
                 order by table_schema, table_name, ordinal_position",
            )
            .expect("columns query");
        let rows: Vec<(String, String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("columns")
            .map(|r| r.expect("row"))
            .collect();
        drop(stmt);
        let mut tables: Vec<((String, String), Vec<Column>)> = Vec::new();
        for (schema_name, table, column, ty) in rows {
            let key = (schema_name, table);
            match tables.iter_mut().find(|(k, _)| *k == key) {
                Some((_, cols)) => cols.push(Column::new(column, ty)),
                None => tables.push((key, vec![Column::new(column, ty)])),
            }
        }
        for ((schema_name, table), cols) in tables {
            schema.add_relation(
                RelationName::new(["memory".to_string(), schema_name, table]),
                cols,
            );
        }
        Engine { conn, schema }
    }

    /// DESCRIBE's columns, or the binder's error.
    fn describe(&self, sql: &str) -> Result<Vec<TypedColumn>, String> {
        let mut stmt = self
            .conn
            .prepare(&format!("describe {sql}"))
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(TypedColumn {
                    name: r.get(0)?,
                    data_type: r.get(1)?,
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    /// kiln's types for `sql`.
    fn kiln(&self, sql: &str) -> Option<Vec<TypedColumn>> {
        let statements =
            sqlparser::parser::Parser::parse_sql(&DuckDbDialect {}, sql).expect("the SQL parses");
        let [statement] = statements.as_slice() else {
            panic!("one statement: {sql}");
        };
        infer(statement, &self.schema)
    }

    /// Compares kiln with DuckDB for `sql`: where kiln types it, DuckDB must accept it with the
    /// same columns and types. Returns kiln's answer.
    fn check(&self, sql: &str) -> Option<Vec<TypedColumn>> {
        let ours = self.kiln(sql);
        if let Some(ours) = &ours {
            match self.describe(sql) {
                Ok(theirs) => assert_eq!(ours, &theirs, "kiln's types differ from DuckDB's: {sql}"),
                Err(e) => panic!("kiln types a query DuckDB rejects: {sql}\n{e}"),
            }
        }
        ours
    }

    /// The single output type kiln gives `select <expr> as x from t`, checked.
    fn expr(&self, expr: &str) -> Option<String> {
        let cols = self.check(&format!("select {expr} as x from {FROM}"))?;
        assert_eq!(cols.len(), 1);
        Some(cols[0].data_type.clone())
    }
}

fn matrix_engine() -> Engine {
    Engine::new(&[TABLE])
}

/// The operands: every column and every literal.
fn operands() -> Vec<&'static str> {
    COLUMNS.iter().chain(LITERALS.iter()).copied().collect()
}

#[test]
fn unary_rules_equal_duckdb_for_every_argument_type() {
    let e = matrix_engine();
    let mut typed = 0;
    let templates = [
        "lower({})",
        "upper({})",
        "sum({})",
        "count({})",
        "count(distinct {})",
        "min({})",
        "max({})",
        "avg({})",
        "coalesce({}, 0)",
        "coalesce({}, 0.5)",
        "coalesce({}, 'x')",
        "coalesce({})",
        "-{}",
        "not {}",
        "{} is null",
        "{} is not null",
        "{} in ('a', 'b')",
        "{} in (1, 2)",
        "{} not in (1.5, 2)",
        "{} between 1 and 500 * 100",
        "{} + interval '1 day'",
        "{} - interval '3 days'",
        "{} + ((interval '1 day') * (30))",
        "interval '1 day' * {}",
        "{} >= '2020-01-01'",
        "{} < 500 * 100",
        "case when {} is null then 1 else 2 end",
        "case when o then {} end",
        "case when o then {} else null end",
        "case when o then {} else 0 end",
        "({})",
        "{}",
    ];
    for t in templates {
        for x in operands() {
            if e.expr(&t.replace("{}", x)).is_some() {
                typed += 1;
            }
        }
    }
    let casts = [
        "int",
        "integer",
        "bigint",
        "double",
        "numeric",
        "numeric(16, 2)",
        "decimal(38,2)",
        "numeric(10)",
        "varchar",
        "text",
        "date",
        "timestamp",
        "boolean",
    ];
    for target in casts {
        for x in operands() {
            for form in [format!("cast({x} as {target})"), format!("{x}::{target}")] {
                if e.expr(&form).is_some() {
                    typed += 1;
                }
            }
        }
    }
    // Not a vacuous pass: the domain's rules answer.
    assert!(typed > 300, "only {typed} expressions typed");
    for (expr, ty) in [
        ("sum(i)", "HUGEINT"),
        ("sum(b)", "HUGEINT"),
        ("sum(d)", "DOUBLE"),
        ("sum(n)", "DECIMAL(38,2)"),
        ("sum(s)", "DECIMAL(38,1)"),
        ("count(v)", "BIGINT"),
        ("lower(v)", "VARCHAR"),
        ("coalesce(n, 0)", "DECIMAL(16,2)"),
        ("coalesce(s, 0)", "DECIMAL(11,1)"),
        ("ts + ((interval '1 day') * (30))", "TIMESTAMP"),
        ("dt + interval '1 day'", "TIMESTAMP"),
        ("(i / 100)::numeric(16, 2)", "DECIMAL(16,2)"),
        ("i::numeric", "DECIMAL(18,3)"),
        ("case when o then n else 0 end", "DECIMAL(16,2)"),
    ] {
        assert_eq!(e.expr(expr).as_deref(), Some(ty), "{expr}");
    }
    // DuckDB rejects these, or they lie outside the domain: never typed.
    for expr in [
        "sum(v)",
        "lower(i)",
        "coalesce(v, 0)",
        "l + 1",
        "sum(sum(i))",
        "n * n",
        "null",
        "random()",
    ] {
        assert_eq!(e.expr(expr), None, "{expr}");
    }
}

#[test]
fn binary_rules_equal_duckdb_for_every_pair_of_argument_types() {
    let e = matrix_engine();
    let mut typed = 0;
    let ops = [
        "+", "-", "*", "/", "=", "<>", "<", "<=", ">", ">=", "and", "or",
    ];
    for x in operands() {
        for y in operands() {
            for op in ops {
                if e.expr(&format!("{x} {op} {y}")).is_some() {
                    typed += 1;
                }
            }
            for f in ["coalesce({x}, {y})", "case when o then {x} else {y} end"] {
                if e.expr(&f.replace("{x}", x).replace("{y}", y)).is_some() {
                    typed += 1;
                }
            }
            if e.expr(&format!("{x} in ({y}, {y})")).is_some() {
                typed += 1;
            }
            let union =
                format!("select {x} as x from {FROM} union all select {y} as x from {FROM}");
            if e.check(&union).is_some() {
                typed += 1;
            }
        }
    }
    assert!(typed > 1000, "only {typed} expressions typed");
    for (expr, ty) in [
        ("n + coalesce(n, 0)", "DECIMAL(17,2)"),
        ("n + b", "DECIMAL(22,2)"),
        ("n + m", "DECIMAL(38,2)"),
        ("i + b", "BIGINT"),
        ("i + d", "DOUBLE"),
        ("h + i", "HUGEINT"),
        ("i * 100", "INTEGER"),
        ("500 * 100", "INTEGER"),
        ("n / i", "DOUBLE"),
    ] {
        assert_eq!(e.expr(expr).as_deref(), Some(ty), "{expr}");
    }
}

/// Query shapes: grouping, joins, CTEs, subqueries, unions, names.
#[test]
fn query_shapes_equal_duckdb_and_what_duckdb_rejects_is_never_typed() {
    let e = Engine::new(&[
        "create table orders (id integer, customer_id integer, status varchar, amount decimal(16,2), created_at timestamp)",
        "create table customers (id integer, name varchar, is_card boolean)",
    ]);
    let o = "\"memory\".\"main\".\"orders\"";
    let c = "\"memory\".\"main\".\"customers\"";
    let typed = [
        format!("select * from {o}"),
        format!("select o.*, c.name from {o} as o left join {c} as c on c.id = o.customer_id"),
        format!(
            "select customer_id, sum(amount) as amount, count(*) as n from {o} group by customer_id"
        ),
        format!(
            "select customer_id, lower(status) as s, sum(amount) as amount from {o} group by all"
        ),
        format!(
            "select customer_id, sum(amount) as amount from {o} group by customer_id having sum(amount) > 0"
        ),
        format!(
            "with base as (select * from {o}), related as (select customer_id, sum(amount) as amount from {o} group by customer_id), \
             final as (select base.id, base.amount + coalesce(related.amount, 0) as amount from base \
             left join related on related.customer_id = base.customer_id where base.status in ('placed', 'shipped')) select * from final"
        ),
        format!(
            "select * from (select id, amount from {o}) as x where x.amount < 500 * 100 limit 5000"
        ),
        format!("select id, amount from {o} union all select id, amount from {o}"),
        format!("select distinct status from {o}"),
        format!(
            "select customer_id, case when (count(*)) = 0 then null else (sum(amount)) / (count(*)) end as average, \
             min(created_at) as first_at from {o} group by customer_id"
        ),
        format!("select count(*) as n from {o}"),
        format!("select o.id from {o} as o cross join {c} as c"),
    ];
    for sql in &typed {
        assert!(e.check(sql).is_some(), "kiln should type: {sql}");
    }
    // DuckDB rejects each (or names or types it its own way): kiln never types them.
    let untyped = [
        format!("select status, sum(amount) as amount from {o}"),
        format!("select status, id, sum(amount) as amount from {o} group by status"),
        format!("select id from {o} as o join {c} as c on c.id = o.customer_id"),
        format!("select o.id, c.id from {o} as o join {c} as c on c.id = o.customer_id"),
        format!("select sum(amount) from {o}"),
        format!("select missing from {o}"),
        format!("select id from {o} where sum(amount) > 1"),
        format!("select id from {o} where status"),
        format!("select id from {o} union all select name from {c}"),
        format!("select id, amount from {o} order by id"),
        format!("select id, row_number() over () as r from {o}"),
        format!("select * from {o} as a join {o} as a on true"),
        format!("select ID from {o}"),
        "select id from orders".to_string(),
    ];
    for sql in &untyped {
        assert_eq!(
            e.check(sql),
            None,
            "kiln should leave it to the binder: {sql}"
        );
    }
}

/// The generated project's mart: an ephemeral model's CTE (itself with CTEs) unioned with a
/// model, a seed joined, conditional sums and an average by CASE.
#[test]
fn the_generated_projects_mart_shape_equals_duckdb() {
    let e = Engine::new(&[
        "create table orders (id integer, customer_id integer, status varchar, payment_method varchar, amount decimal(16,2), created_at timestamp, due_at timestamp, updated_at timestamp)",
        "create table methods (method varchar, label varchar, is_card boolean)",
    ]);
    let o = "\"memory\".\"main\".\"orders\"";
    let m = "\"memory\".\"main\".\"methods\"";
    let sql = format!(
        "with __dbt__cte__eph as (
with base as (
    select * from {o}
),
related_1 as (
    select
        customer_id,
        sum(amount) as amount
    from {o}
    group by customer_id
),
final as (
    select
        base.id,
        base.customer_id,
        base.status,
        base.payment_method,
        base.amount + coalesce(related_1.amount, 0) as amount,
        base.created_at,
        base.due_at,
        base.updated_at
    from base
    left join related_1 on related_1.customer_id = base.customer_id
    where base.status in (
        'placed',
        'shipped'
    )
)
select * from final
), orders as (
    select * from {o}
    union all
    select * from __dbt__cte__eph
),
methods as (
    select * from {m}
),
final as (
    select
        orders.customer_id,
        sum(case when orders.payment_method = 'credit_card' then orders.amount end) as credit_card_amount,
        sum(case when methods.is_card then orders.amount else 0 end) as card_amount,
        sum(orders.amount) as total_amount,
        case when (count(*)) = 0 then null else (sum(orders.amount)) / (count(*)) end as average_amount,
        count(*) as order_count,
        min(orders.created_at) as first_order_at,
        max(orders.created_at) as last_order_at
    from orders
    left join methods on methods.method = orders.payment_method
    
    group by orders.customer_id
)
select * from final"
    );
    let typed = e.check(&sql);
    assert!(typed.is_some(), "kiln should type the mart");
}

/// Columns typed as a project declares them (a seed's `column_types`: `varchar`, `int`,
/// `numeric(10,2)`...) are the types DuckDB reports by its own names; a spelling kiln does not
/// know leaves the relation to the binder.
#[test]
fn declared_spellings_are_read_as_duckdb_reports_them() {
    let spellings = [
        "varchar",
        "text",
        "string",
        "int",
        "integer",
        "int4",
        "bigint",
        "int8",
        "double",
        "float8",
        "bool",
        "boolean",
        "date",
        "timestamp",
        "datetime",
        "numeric(10,2)",
        "decimal(38, 4)",
        "numeric",
        "hugeint",
        "SMALLINT",
        "INTEGER[]",
        "interval",
    ];
    let ddl: Vec<String> = spellings
        .iter()
        .enumerate()
        .map(|(i, t)| format!("c{i} {t}"))
        .collect();
    let conn = duckdb::Connection::open_in_memory().expect("DuckDB opens");
    conn.execute_batch(&format!("create table t ({})", ddl.join(", ")))
        .expect("the table");
    let mut schema = Schema::new();
    schema.add_relation(
        RelationName::new(["memory", "main", "t"]),
        spellings
            .iter()
            .enumerate()
            .map(|(i, t)| Column::new(format!("c{i}"), *t))
            .collect(),
    );
    let e = Engine { conn, schema };
    let ours = e.check(&format!("select * from {FROM}"));
    assert_eq!(ours.map(|c| c.len()), Some(spellings.len()));
    // Arithmetic over a declared spelling is DuckDB's too.
    assert_eq!(e.expr("c15 + c3").as_deref(), Some("DECIMAL(13,2)"));
    assert_eq!(e.expr("sum(c17)").as_deref(), Some("DECIMAL(38,3)"));
    // A spelling outside what kiln knows: not typed.
    let conn = duckdb::Connection::open_in_memory().expect("DuckDB opens");
    conn.execute_batch("create table t (a smallint)")
        .expect("the table");
    let mut schema = Schema::new();
    schema.add_relation(
        RelationName::new(["memory", "main", "t"]),
        vec![Column::new("a", "int2")],
    );
    let e = Engine { conn, schema };
    assert_eq!(e.check(&format!("select * from {FROM}")), None);
}

/// lineage.json's nodes after a `kiln compile` from a clean target/, with kiln's typer or
/// (`KILN_LINEAGE_BINDER_ONLY=1`) the binder alone, and the debug line counting both.
fn compile_both(
    p: &support::TestProject,
    lineage: &str,
) -> (serde_json::Value, serde_json::Value, String) {
    let mut out = Vec::new();
    let mut line = String::new();
    for binder_only in [false, true] {
        let _ = std::fs::remove_dir_all(p.dir().join(lineage).parent().expect("target/"));
        let mut cmd = p.kiln(&["compile", "--debug"]);
        if binder_only {
            cmd = cmd.env("KILN_LINEAGE_BINDER_ONLY", "1");
        }
        let run = cmd.run();
        run.assert_success();
        if !binder_only {
            line = run
                .stdout
                .lines()
                .find_map(|l| {
                    l.find("Lineage: ")
                        .filter(|_| l.contains("models described"))
                        .map(|i| l[i..].to_string())
                })
                .expect("the lineage debug line");
        } else {
            assert!(!run.stdout.contains("typed by kiln"), "{}", run.stdout);
        }
        let v: serde_json::Value =
            serde_json::from_str(&p.read(lineage)).expect("lineage.json is JSON");
        out.push(v["nodes"].clone());
    }
    let binder = out.pop().expect("two runs");
    let typed = out.pop().expect("two runs");
    (typed, binder, line)
}

/// The generated project (examples/gen_project.rs) with its sources built, so every upstream's
/// types are the engine's: kiln types every model, and lineage.json equals the binder's
/// (columns, types, inputs) node for node.
#[test]
fn the_generated_project_typed_by_kiln_equals_the_binder() {
    let p = support::TestProject::empty();
    gen_project::run(vec![
        "--models".into(),
        "120".into(),
        "--out".into(),
        p.dir().display().to_string(),
    ])
    .expect("the project is generated");
    let conn = duckdb::Connection::open(p.dir().join("bench.duckdb")).expect("the warehouse");
    conn.execute_batch("create schema raw").expect("schema raw");
    for i in 1..=50 {
        conn.execute_batch(&format!(
            "create table raw.table_{i:02} (id integer, customer_id integer, status varchar, \
             payment_method varchar, amount_cents integer, created_at timestamp, updated_at timestamp)"
        ))
        .expect("a source table");
    }
    drop(conn);
    let (typed, binder, line) = compile_both(&p, "target/lineage.json");
    assert_eq!(
        line,
        "Lineage: 0 of 120 models described by the binder, 120 typed by kiln, the rest from kiln_lineage_cache.json"
    );
    let ids: Vec<&String> = typed.as_object().expect("nodes").keys().collect();
    assert_eq!(ids.len(), 120);
    for id in ids {
        assert_eq!(typed[id], binder[id], "{id}");
        let cols = typed[id]["columns"].as_array().expect("columns");
        assert!(cols.iter().all(|c| c["type"].is_string()), "{id}: {cols:?}");
    }
}

/// The demo project: whatever kiln types equals the binder's lineage, node for node.
#[test]
fn the_demo_typed_by_kiln_equals_the_binder() {
    let p = support::TestProject::demo();
    let (typed, binder, _) = compile_both(&p, "target/kiln/lineage.json");
    assert_eq!(typed, binder);
}
