//! The Jinja functions that touch a live database (`run_query`, `statement`/`load_result`,
//! `store_result`, `adapter.execute` and the adapter's catalog methods), rendered against a real
//! in-memory DuckDB with the context kiln builds for a throwaway project.

use kiln::adapter::{Adapter, DuckDb, Pool};
use kiln::jinja::JinjaEnv;
use kiln::jinja::compile::{compile_nodes, compile_shared};
use kiln::jinja::context::{LiveDb, Phase, RenderCtx, Shared};
use kiln::jinja::parse::{InvocationInfo, parse_project, shared_for};
use kiln::project::{self, LoadOptions, Project};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

const PROJECT: &str = "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\n";
const PROFILES: &str = "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ':memory:'\n      schema: main\n";

/// A macro that reads the database, as dbt_utils.get_column_values does.
const MACROS: &str = r#"
{% macro order_statuses() %}
  {% if execute %}
    {% set t = run_query("select distinct status from orders order by 1") %}
    {{ return(t.columns[0].values()) }}
  {% else %}
    {{ return([]) }}
  {% endif %}
{% endmacro %}
"#;

const MODEL: &str = "select\n{%- for s in order_statuses() %}\n  count(*) filter (where status = '{{ s }}') as n_{{ s }}{{ ',' if not loop.last }}\n{%- endfor %}\nfrom orders\n";

/// A loaded project, its Jinja environment and a database holding `main.orders` (3 columns, 2
/// rows) and the view `main.orders_view`.
struct Live {
    _tmp: tempfile::TempDir,
    project: Project,
    graph: Arc<kiln::graph::Graph>,
    jenv: JinjaEnv,
    adapter: Arc<dyn Adapter>,
    pool: Arc<Pool>,
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
    std::fs::write(path, text).expect("write file");
}

fn setup() -> Live {
    let tmp = tempfile::Builder::new()
        .prefix("kiln-jinja-live")
        .tempdir()
        .expect("temp dir");
    let dir = tmp.path().canonicalize().expect("canonical temp dir");
    write(&dir, "dbt_project.yml", PROJECT);
    write(&dir, "profiles.yml", PROFILES);
    write(&dir, "macros/statuses.sql", MACROS);
    write(&dir, "models/status_counts.sql", MODEL);
    let opts = LoadOptions {
        project_dir: dir.clone(),
        profiles_dir: Some(dir.clone()),
        ..LoadOptions::default()
    };
    let mut project = project::load(&opts, &kiln::adapter::ENGINES).expect("load project");
    assert!(project.errors.is_empty(), "{:?}", project.errors);
    let jenv = JinjaEnv::build(&project).expect("jinja environment");
    let adapter: Arc<dyn Adapter> = Arc::new(DuckDb::in_memory());
    parse_project(
        &mut project,
        &jenv,
        adapter.clone(),
        &InvocationInfo::new("run"),
    )
    .expect("parse project");
    let graph = Arc::new(kiln::graph::build(&project).expect("graph"));
    let pool = Arc::new(Pool::new(adapter.clone()));
    pool.with(|c| {
        c.execute(
            "create table main.orders as select * from (values \
               (1, 'placed', 10.50::decimal(10,2)), \
               (2, 'shipped', 3.25::decimal(10,2))) t(id, status, amount); \
             create view main.orders_view as select id, status from main.orders",
        )
    })
    .expect("create tables");
    Live {
        _tmp: tmp,
        project,
        graph,
        jenv,
        adapter,
        pool,
    }
}

impl Live {
    /// The compile-phase context, connected to the database.
    fn shared(&self) -> Arc<Shared> {
        let mut shared = compile_shared(
            &self.project,
            &self.jenv,
            self.adapter.clone(),
            &InvocationInfo::new("run"),
            self.graph.clone(),
            None,
        );
        shared.db = Some(self.pool.clone() as Arc<dyn LiveDb>);
        Arc::new(shared)
    }

    fn render_in(&self, ctx: &Arc<RenderCtx>, tmpl: &str) -> Result<String, minijinja::Error> {
        self.jenv
            .env
            .render_named_str("test.sql", tmpl, ctx.value())
    }

    fn render(&self, tmpl: &str) -> String {
        let ctx = RenderCtx::new(self.shared(), None, None);
        self.render_in(&ctx, tmpl)
            .unwrap_or_else(|e| panic!("render {tmpl}: {e:#}"))
    }

    fn render_err(&self, tmpl: &str) -> String {
        let ctx = RenderCtx::new(self.shared(), None, None);
        match self.render_in(&ctx, tmpl) {
            Ok(out) => panic!("{tmpl} rendered without error: {out}"),
            Err(e) => format!("{e:#}"),
        }
    }

    fn count(&self, sql: &str) -> i64 {
        match self.pool.query(sql).expect("query").rows[0][0] {
            kiln::adapter::Cell::Int(n) => n,
            ref other => panic!("not a count: {other:?}"),
        }
    }
}

#[test]
fn run_query_rows_and_columns() {
    let live = setup();
    let out = live.render(
        "{% set t = run_query('select id, status, amount from orders order by id') %}\
         {{ t.rows[0][0] }}|{{ t.rows[1]['status'] }}|{{ t.rows[0].amount * 2 }}|\
         {{ t.columns[2].values() | sum }}|{{ t.column_names | join(',') }}|\
         {{ t.column_types | join(',') }}|{{ t | length }}|\
         {{ t.columns['status'].values() | join(',') }}|{{ t.columns[0].name }}|\
         {% for r in t %}{{ r.id }}:{{ r.values() | join('/') }};{% endfor %}|\
         {% for r in t.rows %}{% for v in r %}{{ v }} {% endfor %}{% endfor %}",
    );
    assert_eq!(
        out,
        "1|shipped|21.0|13.75|id,status,amount|INTEGER,VARCHAR,DECIMAL(10,2)|2|placed,shipped|id|\
         1:1/placed/10.5;2:2/shipped/3.25;|1 placed 10.5 2 shipped 3.25 "
    );
    // NULL is none; an empty result has columns and no rows.
    assert_eq!(
        live.render(
            "{% set t = run_query('select null as x where 1 = 1') %}{{ t.rows[0].x is none }}|\
             {% set e = run_query('select 1 as a where false') %}{{ e | length }}|{{ e.column_names }}"
        ),
        "True|0|['a']"
    );
}

#[test]
fn macros_read_the_database_during_compile() {
    let live = setup();
    let shared = live.shared();
    let uid = "model.shop.status_counts".to_string();
    let compiled = compile_nodes(
        &live.project,
        &live.jenv,
        shared,
        &BTreeSet::from([uid.clone()]),
    )
    .expect("compile");
    assert_eq!(
        compiled.get(&uid).map(|c| c.code.as_str()),
        Some(
            "select\n  count(*) filter (where status = 'placed') as n_placed,\n  count(*) filter (where status = 'shipped') as n_shipped\nfrom orders"
        )
    );
}

#[test]
fn statement_and_load_result() {
    let live = setup();
    let out = live.render(
        "{% call statement('counts', fetch_result=True) %}\
           select count(*) as n, max(id) as top from orders\
         {% endcall %}\
         {% set r = load_result('counts') %}\
         {{ r['data'][0][0] }}|{{ r.data }}|{{ r.table.columns['top'].values()[0] }}|\
         {{ r.response }}|{{ r.response.code }}|{{ load_result('never') is none }}",
    );
    assert_eq!(out, "2|[[2, 2]]|2|OK|SELECT|True");

    // Without fetch_result the statement runs, and stores an empty table.
    let out = live.render(
        "{% call statement('ins') %}insert into orders values (3, 'returned', 1.00){% endcall %}\
         {% set r = load_result('ins') %}\
         {{ r.data | length }}|{{ r.table | length }}|{{ r.response.rows_affected }}|{{ r.response.code }}",
    );
    assert_eq!(out, "0|0|1|INSERT");
    assert_eq!(live.count("select count(*) from orders"), 3);

    // Several statements in one block run in order; the last one's rows come back.
    let out = live.render(
        "{% call statement('multi', fetch_result=True) %}\
           create table main.scratch (a int); insert into main.scratch values (1), (2);\
           select sum(a) as total from main.scratch;\
         {% endcall %}{{ load_result('multi').table.rows[0].total }}",
    );
    assert_eq!(out, "3");

    // A block with nothing to run (only a comment) is fine.
    assert_eq!(
        live.render(
            "{% call statement('empty', fetch_result=True) %}-- nothing{% endcall %}\
             {{ load_result('empty').data }}"
        ),
        "[]"
    );

    // As in dbt, a result loads once, except `main`.
    let ctx = RenderCtx::new(live.shared(), None, None);
    let out = live
        .render_in(
            &ctx,
            "{% call statement('main', fetch_result=True) %}select 42 as answer{% endcall %}\
             {{ load_result('main').data[0][0] }} {{ load_result('main').data[0][0] }}",
        )
        .expect("render main");
    assert_eq!(out, "42 42");
    assert_eq!(
        ctx.statement_sql("main").as_deref(),
        Some("select 42 as answer")
    );
    assert!(ctx.stored_result("main").is_some());
    let err = live.render_err(
        "{% call statement('once', fetch_result=True) %}select 1{% endcall %}\
         {% set a = load_result('once') %}{% set b = load_result('once') %}",
    );
    assert!(err.contains("already been loaded"), "{err}");
}

#[test]
fn store_result_and_noop_statement() {
    let live = setup();
    let ctx = RenderCtx::new(live.shared(), None, None);
    let out = live
        .render_in(
            &ctx,
            "{{ store_raw_result('raw', message='INSERT 0 5', code='INSERT', rows_affected=5) }}\
             {% set r = load_result('raw') %}{{ r.response }}|{{ r.response.rows_affected }}|{{ r.data | length }}|\
             {% set t = run_query('select 1 as a, 2 as b') %}\
             {{ store_result('kept', response='done', agate_table=t) }}\
             {% set k = load_result('kept') %}{{ k.response }}|{{ k.data }}|{{ k.table.rows[0].b }}|\
             {% call noop_statement('main', 'SKIPPED', 'NOOP', 0) %}select 'not run'{% endcall %}\
             {{ load_result('main').response }}|{{ load_result('main').response.code }}",
        )
        .expect("render");
    assert_eq!(out, "INSERT 0 5|5|0|done|[[1, 2]]|2|SKIPPED|NOOP");
    assert_eq!(
        ctx.statement_sql("main").as_deref(),
        Some("select 'not run'")
    );
}

#[test]
fn adapter_execute() {
    let live = setup();
    let out = live.render(
        "{% set res, t = adapter.execute('select 7 as x, 8 as y', fetch=True) %}\
         {{ res }}|{{ t.rows[0].x }}|{{ t.columns['y'].values() }}|\
         {% set res2, t2 = adapter.execute(\"update orders set status = 'x' where id = 1\") %}\
         {{ res2.rows_affected }}|{{ t2 | length }}",
    );
    assert_eq!(out, "OK|7|[8]|1|0");
    assert_eq!(
        live.count("select count(*) from orders where status = 'x'"),
        1
    );
}

#[test]
fn get_relation_present_and_absent() {
    let live = setup();
    let out = live.render(
        "{% set r = adapter.get_relation(database=target.database, schema='main', identifier='orders') %}\
         {{ r }}|{{ r.type }}|{{ r.is_table }}|{{ r.identifier }}|\
         {% set v = adapter.get_relation('memory', 'main', 'ORDERS_VIEW') %}{{ v }}|{{ v.is_view }}|\
         {{ adapter.get_relation('memory', 'main', 'nope') is none }}|\
         {{ adapter.load_relation(api.Relation.create(schema='main', identifier='orders')) }}|\
         {{ adapter.load_cached_relation(api.Relation.create(schema='main', identifier='gone')) is none }}|\
         {{ adapter.already_exists('main', 'orders') }}|{{ adapter.already_exists('main', 'gone') }}",
    );
    assert_eq!(
        out,
        "\"memory\".\"main\".\"orders\"|table|True|orders|\"memory\".\"main\".\"orders_view\"|True|True|\
         \"memory\".\"main\".\"orders\"|True|True|False"
    );
}

#[test]
fn columns_of_relations() {
    let live = setup();
    let out = live.render(
        "{% for c in adapter.get_columns_in_relation(api.Relation.create(schema='main', identifier='orders')) %}\
         {{ c.name }}:{{ c.column }}:{{ c.quoted }}:{{ c.data_type }}:{{ c.dtype }}:\
         {{ c.is_number() }}:{{ c.is_integer() }}:{{ c.is_numeric() }}:{{ c.is_string() }};{% endfor %}|\
         {{ adapter.get_columns_in_relation(api.Relation.create(schema='main', identifier='nope')) | length }}",
    );
    assert_eq!(
        out,
        "id:id:\"id\":INTEGER:INTEGER:True:True:False:False;\
         status:status:\"status\":VARCHAR:VARCHAR:False:False:False:True;\
         amount:amount:\"amount\":DECIMAL(10,2):DECIMAL(10,2):True:False:True:False;|0"
    );
    live.pool
        .with(|c| c.execute("create table main.orders_v2 as select *, 1.5::double as discount, 'eu' as region from main.orders"))
        .expect("create orders_v2");
    let out = live.render(
        "{% set missing = adapter.get_missing_columns(api.Relation.create(schema='main', identifier='orders_v2'), \
                                                      api.Relation.create(schema='main', identifier='orders')) %}\
         {% for c in missing %}{{ c.name }} {{ c.data_type }} {{ c.is_float() }} {{ c.string_size() if c.is_string() }};{% endfor %}",
    );
    assert_eq!(out, "discount DOUBLE True ;region VARCHAR False 256;");
}

#[test]
fn schemas_and_listing() {
    let live = setup();
    let out = live.render(
        "{{ adapter.check_schema_exists('memory', 'main') }}|{{ adapter.check_schema_exists('memory', 'nope') }}|\
         {% for r in adapter.list_relations_without_caching(api.Relation.create(database='memory', schema='main')) %}\
         {{ r.identifier }}:{{ r.type }},{% endfor %}|\
         {{ adapter.list_relations('memory', 'main') | length }}",
    );
    assert_eq!(out, "True|False|orders:table,orders_view:view,|2");
}

#[test]
fn database_errors_carry_the_database_message() {
    let live = setup();
    let err = live.render_err("{{ run_query('select * from missing_table') }}");
    assert!(err.contains("Catalog Error"), "{err}");
    assert!(err.contains("missing_table"), "{err}");
    let err = live.render_err("{% call statement('bad') %}selec 1{% endcall %}");
    assert!(err.contains("Parser Error"), "{err}");
    let err = live.render_err("{% set r, t = adapter.execute('select nope from orders') %}");
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn parse_phase_runs_nothing() {
    let live = setup();
    let mut shared = shared_for(
        &live.project,
        &live.jenv,
        live.adapter.clone(),
        Phase::Parse,
        &InvocationInfo::new("run"),
    );
    shared.db = Some(live.pool.clone() as Arc<dyn LiveDb>);
    let ctx = RenderCtx::new(Arc::new(shared), None, None);
    let out = live
        .render_in(
            &ctx,
            "{% call statement('x', fetch_result=True) %}insert into orders values (9, 'p', 0){% endcall %}\
             {{ load_result('x').table.rows | length }}|{{ run_query('select 1') }}|\
             {% for v in run_query('select 1').columns[0].values() %}{{ v }}{% endfor %}|\
             {% set res, t = adapter.execute('select 1', fetch=True) %}{{ t | length }}|\
             {{ adapter.get_relation('memory', 'main', 'orders') is none }}|\
             {{ adapter.get_columns_in_relation(api.Relation.create(schema='main', identifier='orders')) | length }}",
        )
        .expect("render at parse");
    assert_eq!(out, "0|||0|True|0");
    assert_eq!(live.count("select count(*) from orders"), 2);
}

#[test]
fn compile_without_a_database_says_so() {
    let live = setup();
    let shared = compile_shared(
        &live.project,
        &live.jenv,
        live.adapter.clone(),
        &InvocationInfo::new("compile"),
        live.graph.clone(),
        None,
    );
    let ctx = RenderCtx::new(Arc::new(shared), None, None);
    let err = live
        .render_in(&ctx, "{{ run_query('select 1') }}")
        .expect_err("no database");
    assert!(
        format!("{err:#}").contains("needs a database connection"),
        "{err:#}"
    );
}

/// dbt's global `load_relation(relation)` (as dbt_utils' get_column_values calls it) and
/// `adapter.drop_relation` (a view dropped as a view, anything else as a table).
#[test]
fn load_relation_and_drop_relation() {
    let live = setup();
    let out = live.render(
        "{{ load_relation(api.Relation.create(schema='main', identifier='orders')) }}|\
         {{ load_relation(api.Relation.create(schema='main', identifier='gone')) is none }}|\
         {% do run_query('create table main.doomed as select 1 as x') %}\
         {% do adapter.drop_relation(api.Relation.create(schema='main', identifier='doomed')) %}\
         {{ adapter.get_relation('memory', 'main', 'doomed') is none }}|\
         {% do adapter.drop_relation(adapter.get_relation('memory', 'main', 'orders_view')) %}\
         {{ adapter.get_relation('memory', 'main', 'orders_view') is none }}",
    );
    assert_eq!(out, "\"memory\".\"main\".\"orders\"|True|True|True");
}
