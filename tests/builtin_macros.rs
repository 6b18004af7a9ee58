//! The built-in macros (`src/jinja/builtins/`) through `kiln compile`, on each adapter.
//!
//! One throwaway project holds one model per macro call (plus the generic tests in a properties
//! file); it is compiled once with a DuckDB target and once with an Athena target, and each
//! compiled file is snapshotted inline, the DuckDB spelling above the Athena one.

use insta::assert_snapshot;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

/// One model per line, `name: SQL`, each calling a built-in macro.
const MODELS: &str = r#"
type_string: select cast(null as {{ type_string() }}) as v
type_int: select cast(null as {{ type_int() }}) as v
type_bigint: select cast(null as {{ type_bigint() }}) as v
type_float: select cast(null as {{ type_float() }}) as v
type_numeric: select cast(null as {{ type_numeric() }}) as v
type_boolean: select cast(null as {{ type_boolean() }}) as v
type_timestamp: select cast(null as {{ type_timestamp() }}) as v
type_timestamp_iceberg: {{ config(table_type='iceberg') }} select cast(null as {{ type_timestamp() }}) as v
current_timestamp: select {{ current_timestamp() }} as v
cast: select {{ cast("'42'", type_bigint()) }} as v
safe_cast: select {{ safe_cast("'not a number'", type_int()) }} as v
cast_bool_to_text: select {{ cast_bool_to_text('1 = 1') }} as v
dateadd: select {{ dateadd('day', 1, 'order_date') }} as v from {{ ref('orders') }}
dateadd_literal: select {{ dateadd(datepart='month', interval=-2, from_date_or_timestamp="'2016-03-09'") }} as v
datediff_day: select {{ datediff('order_date', 'shipped_at', 'day') }} as v from {{ ref('orders') }}
datediff_month: select {{ datediff("'2016-01-31'", 'order_date', 'month') }} as v from {{ ref('orders') }}
datediff_week: select {{ datediff('order_date', 'shipped_at', 'week') }} as v from {{ ref('orders') }}
date_trunc: select {{ date_trunc('month', 'order_date') }} as v from {{ ref('orders') }}
date_trunc_literal: select {{ date_trunc('year', "'2016-03-09'") }} as v
last_day_month: select {{ last_day('order_date', 'month') }} as v from {{ ref('orders') }}
last_day_quarter: select {{ last_day('order_date', 'quarter') }} as v from {{ ref('orders') }}
date: select {{ date(2024, 2, 29) }} as v
concat: select {{ concat(['status', "'-'", 'status']) }} as v from {{ ref('orders') }}
hash: select {{ hash('status') }} as v from {{ ref('orders') }}
length: select {{ length('status') }} as v from {{ ref('orders') }}
position: select {{ position("'a'", 'status') }} as v from {{ ref('orders') }}
replace: select {{ replace('status', "'_'", "' '") }} as v from {{ ref('orders') }}
right: select {{ right('status', '3') }} as v from {{ ref('orders') }}
split_part: select {{ split_part(string_text="'1|2|3'", delimiter_text="'|'", part_number=1) }} as v
split_part_negative: select {{ split_part('status', "'_'", -1) }} as v from {{ ref('orders') }}
escape_single_quotes: select '{{ escape_single_quotes("they're") }}' as v
string_literal: select {{ string_literal('Pennsylvania') }} as v
any_value: select customer_id, {{ any_value('status') }} as v from {{ ref('orders') }} group by customer_id
bool_or: select customer_id, {{ bool_or("status = 'returned'") }} as v from {{ ref('orders') }} group by customer_id
listagg: select {{ listagg('status') }} as v from {{ ref('orders') }}
listagg_ordered_limited: select {{ listagg(measure='status', delimiter_text="', '", order_by_clause='order by order_date desc', limit_num=2) }} as v from {{ ref('orders') }}
array_construct: select {{ array_construct(['order_id', 'customer_id']) }} as v from {{ ref('orders') }}
array_construct_empty: select {{ array_construct([], 'varchar') }} as v
array_append: select {{ array_append(array_construct([1, 2]), '3') }} as v
array_concat: select {{ array_concat(array_construct([1]), array_construct([2])) }} as v
except: select 1 as v {{ except() }} select 2 as v
intersect: select 1 as v {{ intersect() }} select 1 as v
dbt_namespace: select {{ dbt.dateadd('day', dbt.length("'abc'"), 'order_date') }} as v from {{ ref('orders') }}
generate_schema_name: select '{{ generate_schema_name(none, model) }}' as default_schema, '{{ generate_schema_name(' marts ', model) }}' as custom_schema
generate_schema_name_for_env: select '{{ generate_schema_name_for_env('marts', model) }}' as v
generate_alias_name: select '{{ generate_alias_name(none, model) }}' as default_alias, '{{ generate_alias_name('renamed', model) }}' as custom_alias
versioned_v2: select '{{ generate_alias_name(none, model) }}' as v
generate_database_name: select '{{ generate_database_name(none, model) }}' as default_database, '{{ generate_database_name('other', model) }}' as custom_database
get_where_subquery: select * from {{ get_where_subquery(ref('orders')) }}
get_where_subquery_filtered: {{ config(where="status != 'returned'") }} select * from {{ get_where_subquery(ref('orders')) }}
get_test_sql: {{ get_test_sql('select * from ' ~ ref('orders') ~ ' where order_id is null', 'count(*)', '!= 0', '> 10', 100) }}
should_store_failures: select {{ should_store_failures() }} as default_value
"#;

/// What the macros read from: a table of orders and one of customers.
const ORDERS: &str = "select 1 as order_id, 1 as customer_id, 'placed' as status, \
                      date '2016-03-09' as order_date, timestamp '2016-03-12 10:00:00' as shipped_at";
const CUSTOMERS: &str = "select 1 as id";

const PROPERTIES: &str = r#"version: 2
models:
  - name: versioned
    latest_version: 2
    versions:
      - v: 2
  - name: orders
    columns:
      - name: order_id
        data_tests:
          - unique
          - not_null:
              config:
                where: "status != 'returned'"
      - name: status
        data_tests:
          - accepted_values:
              arguments:
                values: ['placed', 'shipped', 'returned']
      - name: customer_id
        data_tests:
          - accepted_values:
              arguments:
                values: [1, 2]
                quote: false
          - relationships:
              arguments:
                to: ref('customers')
                field: id
"#;

const DUCKDB_PROFILE: &str = "t:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: t.duckdb
      schema: main
";

const ATHENA_PROFILE: &str = "t:
  target: dev
  outputs:
    dev:
      type: athena
      s3_staging_dir: s3://b/stage/
      region_name: us-east-1
      database: awsdatacatalog
      schema: analytics
";

/// Writes the project (dbt_project.yml, `profile`, the orders and customers models, the properties
/// file and `models`, lines of `name: SQL`) to a temporary directory and runs `kiln compile` on it.
fn run_compile(profile: &str, models: &str) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the project's folders");
        }
        std::fs::write(&path, text).expect("write a project file");
    };
    write(
        "dbt_project.yml",
        "name: t\nprofile: t\nconfig-version: 2\n",
    );
    write("profiles.yml", profile);
    write("models/orders.sql", ORDERS);
    write("models/customers.sql", CUSTOMERS);
    write("models/schema.yml", PROPERTIES);
    for line in models.lines().filter(|l| !l.trim().is_empty()) {
        let (name, sql) = line
            .split_once(": ")
            .expect("a model line reads `name: SQL`");
        write(&format!("models/{name}.sql"), sql);
    }
    let out = assert_cmd::cargo::cargo_bin_cmd!("kiln")
        .arg("compile")
        .arg("--project-dir")
        .arg(root)
        .arg("--profiles-dir")
        .arg(root)
        .output()
        .expect("run kiln compile");
    (dir, out)
}

/// Compiles every model of [`MODELS`] under `profile`; returns each compiled file by its path
/// under `target/compiled/t/models/`, without `.sql` (`dateadd`,
/// `schema.yml/unique_orders_order_id`).
fn compile(profile: &str) -> BTreeMap<String, String> {
    let (dir, out) = run_compile(profile, MODELS);
    assert!(
        out.status.success(),
        "kiln compile failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let compiled = dir.path().join("target/compiled/t/models");
    let mut files = BTreeMap::new();
    collect(&compiled, &compiled, &mut files);
    files
}

fn collect(base: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("read a directory entry").path();
        if path.is_dir() {
            collect(base, &path, files);
        } else if let Some(rel) = path.strip_prefix(base).ok().and_then(|p| p.to_str()) {
            let key = rel.trim_end_matches(".sql").replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("read a compiled file");
            files.insert(key, text);
        }
    }
}

fn duckdb(name: &str) -> String {
    static FILES: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    lookup(FILES.get_or_init(|| compile(DUCKDB_PROFILE)), name)
}

fn athena(name: &str) -> String {
    static FILES: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    lookup(FILES.get_or_init(|| compile(ATHENA_PROFILE)), name)
}

fn lookup(files: &BTreeMap<String, String>, name: &str) -> String {
    files
        .get(name)
        .unwrap_or_else(|| {
            panic!(
                "no compiled file {name}.sql; compiled: {:?}",
                files.keys().collect::<Vec<_>>()
            )
        })
        .clone()
}

#[test]
fn type_string() {
    assert_snapshot!(duckdb("type_string"), @"select cast(null as TEXT) as v");
    assert_snapshot!(athena("type_string"), @"select cast(null as varchar) as v");
}

#[test]
fn type_int() {
    assert_snapshot!(duckdb("type_int"), @"select cast(null as INT) as v");
    assert_snapshot!(athena("type_int"), @"select cast(null as integer) as v");
}

#[test]
fn type_bigint() {
    assert_snapshot!(duckdb("type_bigint"), @"select cast(null as bigint) as v");
    assert_snapshot!(athena("type_bigint"), @"select cast(null as bigint) as v");
}

#[test]
fn type_float() {
    assert_snapshot!(duckdb("type_float"), @"select cast(null as FLOAT) as v");
    assert_snapshot!(athena("type_float"), @"select cast(null as double) as v");
}

#[test]
fn type_numeric() {
    assert_snapshot!(duckdb("type_numeric"), @"select cast(null as numeric(28,6)) as v");
    assert_snapshot!(athena("type_numeric"), @"select cast(null as decimal(38,6)) as v");
}

#[test]
fn type_boolean() {
    assert_snapshot!(duckdb("type_boolean"), @"select cast(null as BOOLEAN) as v");
    assert_snapshot!(athena("type_boolean"), @"select cast(null as boolean) as v");
}

#[test]
fn type_timestamp() {
    assert_snapshot!(duckdb("type_timestamp"), @"select cast(null as TIMESTAMP) as v");
    assert_snapshot!(athena("type_timestamp"), @"select cast(null as timestamp) as v");
    assert_snapshot!(duckdb("type_timestamp_iceberg"), @" select cast(null as TIMESTAMP) as v");
    assert_snapshot!(athena("type_timestamp_iceberg"), @" select cast(null as timestamp(6)) as v");
}

#[test]
fn current_timestamp() {
    assert_snapshot!(duckdb("current_timestamp"), @"select current_timestamp as v");
    assert_snapshot!(athena("current_timestamp"), @"select cast(current_timestamp as timestamp) as v");
}

#[test]
fn cast() {
    assert_snapshot!(duckdb("cast"), @"select cast('42' as bigint) as v");
    assert_snapshot!(athena("cast"), @"select cast('42' as bigint) as v");
}

#[test]
fn safe_cast() {
    assert_snapshot!(duckdb("safe_cast"), @"select try_cast('not a number' as INT) as v");
    assert_snapshot!(athena("safe_cast"), @"select try_cast('not a number' as integer) as v");
}

#[test]
fn cast_bool_to_text() {
    assert_snapshot!(duckdb("cast_bool_to_text"), @"select cast(1 = 1 as TEXT) as v");
    assert_snapshot!(athena("cast_bool_to_text"), @"select cast(1 = 1 as varchar) as v");
}

#[test]
fn dateadd() {
    assert_snapshot!(duckdb("dateadd"), @r#"select order_date + ((interval '1 day') * (1)) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("dateadd"), @r#"select date_add('day', 1, order_date) as v from "awsdatacatalog"."analytics"."orders""#);
    assert_snapshot!(duckdb("dateadd_literal"), @"select cast('2016-03-09' as timestamp) + ((interval '1 month') * (-2)) as v");
    assert_snapshot!(athena("dateadd_literal"), @"select date_add('month', -2, cast('2016-03-09' as timestamp)) as v");
}

#[test]
fn datediff() {
    assert_snapshot!(duckdb("datediff_day"), @r#"select date_diff('day', cast(order_date as timestamp), cast(shipped_at as timestamp)) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("datediff_day"), @r#"select date_diff('day', date_trunc('day', cast(order_date as timestamp)), date_trunc('day', cast(shipped_at as timestamp))) as v from "awsdatacatalog"."analytics"."orders""#);
    assert_snapshot!(duckdb("datediff_month"), @r#"select date_diff('month', cast('2016-01-31' as timestamp), cast(order_date as timestamp)) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("datediff_month"), @r#"select date_diff('month', date_trunc('month', cast('2016-01-31' as timestamp)), date_trunc('month', cast(order_date as timestamp))) as v from "awsdatacatalog"."analytics"."orders""#);
    assert_snapshot!(duckdb("datediff_week"), @r#"select date_diff('week', cast(order_date as timestamp), cast(shipped_at as timestamp)) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("datediff_week"), @r#"select date_diff('week', date_trunc('week', cast(order_date as timestamp)), date_trunc('week', cast(shipped_at as timestamp))) as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn date_trunc() {
    assert_snapshot!(duckdb("date_trunc"), @r#"select date_trunc('month', order_date) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("date_trunc"), @r#"select date_trunc('month', order_date) as v from "awsdatacatalog"."analytics"."orders""#);
    assert_snapshot!(duckdb("date_trunc_literal"), @"select date_trunc('year', cast('2016-03-09' as timestamp)) as v");
    assert_snapshot!(athena("date_trunc_literal"), @"select date_trunc('year', cast('2016-03-09' as timestamp)) as v");
}

#[test]
fn last_day() {
    assert_snapshot!(duckdb("last_day_month"), @r#"select cast(date_trunc('month', order_date) + ((interval '1 month') * (1)) + ((interval '1 day') * (-1)) as date) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("last_day_month"), @r#"select cast(date_add('day', -1, date_add('month', 1, date_trunc('month', order_date))) as date) as v from "awsdatacatalog"."analytics"."orders""#);
    assert_snapshot!(duckdb("last_day_quarter"), @r#"select cast(date_trunc('quarter', order_date) + ((interval '1 month') * (3)) + ((interval '1 day') * (-1)) as date) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("last_day_quarter"), @r#"select cast(date_add('day', -1, date_add('month', 3, date_trunc('quarter', order_date))) as date) as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn date() {
    assert_snapshot!(duckdb("date"), @"select make_date(2024, 2, 29) as v");
    assert_snapshot!(athena("date"), @"select date '2024-02-29' as v");
}

/// An impossible date is a compile error naming the date, not SQL that fails at run time.
#[test]
fn date_rejects_an_impossible_day() {
    let (_dir, out) = run_compile(
        DUCKDB_PROFILE,
        "feb_30: select {{ date(2023, 2, 30) }} as v",
    );
    assert!(
        !out.status.success(),
        "compiling date(2023, 2, 30) succeeded"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("date(2023, 2, 30) is not a valid date"),
        "{stderr}"
    );
}

#[test]
fn concat() {
    assert_snapshot!(duckdb("concat"), @r#"select status || '-' || status as v from "t"."main"."orders""#);
    assert_snapshot!(athena("concat"), @r#"select status || '-' || status as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn hash() {
    assert_snapshot!(duckdb("hash"), @r#"select md5(cast(status as TEXT)) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("hash"), @r#"select lower(to_hex(md5(to_utf8(cast(status as varchar))))) as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn length() {
    assert_snapshot!(duckdb("length"), @r#"select length(status) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("length"), @r#"select length(status) as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn position() {
    assert_snapshot!(duckdb("position"), @r#"select position('a' in status) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("position"), @r#"select position('a' in status) as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn replace() {
    assert_snapshot!(duckdb("replace"), @r#"select replace(status, '_', ' ') as v from "t"."main"."orders""#);
    assert_snapshot!(athena("replace"), @r#"select replace(status, '_', ' ') as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn right() {
    assert_snapshot!(duckdb("right"), @r#"select right(status, 3) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("right"), @r#"select substr(status, greatest(length(status) - (3) + 1, 1)) as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn split_part() {
    assert_snapshot!(duckdb("split_part"), @"select split_part('1|2|3', '|', 1) as v");
    assert_snapshot!(athena("split_part"), @"select split_part('1|2|3', '|', 1) as v");
    assert_snapshot!(duckdb("split_part_negative"), @r#"select split_part(status, '_', -1) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("split_part_negative"), @r#"select element_at(split(status, '_'), -1) as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn escape_single_quotes() {
    assert_snapshot!(duckdb("escape_single_quotes"), @"select 'they''re' as v");
    assert_snapshot!(athena("escape_single_quotes"), @"select 'they''re' as v");
}

#[test]
fn string_literal() {
    assert_snapshot!(duckdb("string_literal"), @"select 'Pennsylvania' as v");
    assert_snapshot!(athena("string_literal"), @"select 'Pennsylvania' as v");
}

#[test]
fn any_value() {
    assert_snapshot!(duckdb("any_value"), @r#"select customer_id, any_value(status) as v from "t"."main"."orders" group by customer_id"#);
    assert_snapshot!(athena("any_value"), @r#"select customer_id, arbitrary(status) as v from "awsdatacatalog"."analytics"."orders" group by customer_id"#);
}

#[test]
fn bool_or() {
    assert_snapshot!(duckdb("bool_or"), @r#"select customer_id, bool_or(status = 'returned') as v from "t"."main"."orders" group by customer_id"#);
    assert_snapshot!(athena("bool_or"), @r#"select customer_id, bool_or(status = 'returned') as v from "awsdatacatalog"."analytics"."orders" group by customer_id"#);
}

#[test]
fn listagg() {
    assert_snapshot!(duckdb("listagg"), @r#"select string_agg(status, ',') as v from "t"."main"."orders""#);
    assert_snapshot!(athena("listagg"), @r#"select array_join(array_agg(status), ',') as v from "awsdatacatalog"."analytics"."orders""#);
    assert_snapshot!(duckdb("listagg_ordered_limited"), @r#"select array_to_string((array_agg(status order by order_date desc))[1:2], ', ') as v from "t"."main"."orders""#);
    assert_snapshot!(athena("listagg_ordered_limited"), @r#"select array_join(slice(array_agg(status order by order_date desc), 1, 2), ', ') as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn array_construct() {
    assert_snapshot!(duckdb("array_construct"), @r#"select array[ order_id , customer_id ] as v from "t"."main"."orders""#);
    assert_snapshot!(athena("array_construct"), @r#"select array[ order_id , customer_id ] as v from "awsdatacatalog"."analytics"."orders""#);
    assert_snapshot!(duckdb("array_construct_empty"), @"select array[]::varchar[] as v");
    assert_snapshot!(athena("array_construct_empty"), @"select cast(array[] as array(varchar)) as v");
}

#[test]
fn array_append() {
    assert_snapshot!(duckdb("array_append"), @"select array_append(array[ 1 , 2 ], 3) as v");
    assert_snapshot!(athena("array_append"), @"select concat(array[ 1 , 2 ], array[3]) as v");
}

#[test]
fn array_concat() {
    assert_snapshot!(duckdb("array_concat"), @"select array_cat(array[ 1 ], array[ 2 ]) as v");
    assert_snapshot!(athena("array_concat"), @"select concat(array[ 1 ], array[ 2 ]) as v");
}

#[test]
fn set_operators() {
    assert_snapshot!(duckdb("except"), @"select 1 as v except select 2 as v");
    assert_snapshot!(athena("except"), @"select 1 as v except select 2 as v");
    assert_snapshot!(duckdb("intersect"), @"select 1 as v intersect select 1 as v");
    assert_snapshot!(athena("intersect"), @"select 1 as v intersect select 1 as v");
}

#[test]
fn dbt_namespace() {
    assert_snapshot!(duckdb("dbt_namespace"), @r#"select order_date + ((interval '1 day') * (length('abc'))) as v from "t"."main"."orders""#);
    assert_snapshot!(athena("dbt_namespace"), @r#"select date_add('day', length('abc'), order_date) as v from "awsdatacatalog"."analytics"."orders""#);
}

#[test]
fn generate_schema_name() {
    assert_snapshot!(duckdb("generate_schema_name"), @"select 'main' as default_schema, 'main_marts' as custom_schema");
    assert_snapshot!(athena("generate_schema_name"), @"select 'analytics' as default_schema, 'analytics_marts' as custom_schema");
}

#[test]
fn generate_schema_name_for_env() {
    assert_snapshot!(duckdb("generate_schema_name_for_env"), @"select 'main' as v");
    assert_snapshot!(athena("generate_schema_name_for_env"), @"select 'analytics' as v");
}

#[test]
fn generate_alias_name() {
    assert_snapshot!(duckdb("generate_alias_name"), @"select 'generate_alias_name' as default_alias, 'renamed' as custom_alias");
    assert_snapshot!(athena("generate_alias_name"), @"select 'generate_alias_name' as default_alias, 'renamed' as custom_alias");
    assert_snapshot!(duckdb("versioned_v2"), @"select 'versioned_v2' as v");
    assert_snapshot!(athena("versioned_v2"), @"select 'versioned_v2' as v");
}

#[test]
fn generate_database_name() {
    assert_snapshot!(duckdb("generate_database_name"), @"select 't' as default_database, 'other' as custom_database");
    assert_snapshot!(athena("generate_database_name"), @"select 'awsdatacatalog' as default_database, 'other' as custom_database");
}

#[test]
fn get_where_subquery() {
    assert_snapshot!(duckdb("get_where_subquery"), @r#"select * from "t"."main"."orders""#);
    assert_snapshot!(athena("get_where_subquery"), @r#"select * from "awsdatacatalog"."analytics"."orders""#);
    assert_snapshot!(duckdb("get_where_subquery_filtered"), @r#" select * from (select * from "t"."main"."orders" where status != 'returned') dbt_subquery"#);
    assert_snapshot!(athena("get_where_subquery_filtered"), @r#" select * from (select * from "awsdatacatalog"."analytics"."orders" where status != 'returned') dbt_subquery"#);
}

#[test]
fn get_test_sql() {
    assert_snapshot!(duckdb("get_test_sql"), @r#"
    select
        count(*) as failures,
        count(*) != 0 as should_warn,
        count(*) > 10 as should_error
    from (
        select * from "t"."main"."orders" where order_id is null
        limit 100
    ) dbt_internal_test
    "#);
    assert_snapshot!(athena("get_test_sql"), @r#"
    select
        count(*) as failures,
        count(*) != 0 as should_warn,
        count(*) > 10 as should_error
    from (
        select * from "awsdatacatalog"."analytics"."orders" where order_id is null
        limit 100
    ) dbt_internal_test
    "#);
}

#[test]
fn should_store_failures() {
    assert_snapshot!(duckdb("should_store_failures"), @"select False as default_value");
    assert_snapshot!(athena("should_store_failures"), @"select False as default_value");
}

#[test]
fn test_unique() {
    assert_snapshot!(duckdb("schema.yml/unique_orders_order_id"), @r#"
    select
        order_id as unique_field,
        count(*) as n_records
    from "t"."main"."orders"
    where order_id is not null
    group by order_id
    having count(*) > 1
    "#);
    assert_snapshot!(athena("schema.yml/unique_orders_order_id"), @r#"
    select
        order_id as unique_field,
        count(*) as n_records
    from "awsdatacatalog"."analytics"."orders"
    where order_id is not null
    group by order_id
    having count(*) > 1
    "#);
}

#[test]
fn test_not_null() {
    assert_snapshot!(duckdb("schema.yml/not_null_orders_order_id"), @r#"
    select order_id
    from (select * from "t"."main"."orders" where status != 'returned') dbt_subquery
    where order_id is null
    "#);
    assert_snapshot!(athena("schema.yml/not_null_orders_order_id"), @r#"
    select order_id
    from (select * from "awsdatacatalog"."analytics"."orders" where status != 'returned') dbt_subquery
    where order_id is null
    "#);
}

#[test]
fn test_accepted_values() {
    assert_snapshot!(duckdb("schema.yml/accepted_values_orders_status__placed__shipped__returned"), @r#"
    with all_values as (
        select
            status as value_field,
            count(*) as n_records
        from "t"."main"."orders"
        group by status
    )
    select *
    from all_values
    where value_field not in (
        'placed', 'shipped', 'returned'
    )
    "#);
    assert_snapshot!(athena("schema.yml/accepted_values_orders_status__placed__shipped__returned"), @r#"
    with all_values as (
        select
            status as value_field,
            count(*) as n_records
        from "awsdatacatalog"."analytics"."orders"
        group by status
    )
    select *
    from all_values
    where value_field not in (
        'placed', 'shipped', 'returned'
    )
    "#);
    assert_snapshot!(duckdb("schema.yml/accepted_values_orders_customer_id__False__1__2"), @r#"
    with all_values as (
        select
            customer_id as value_field,
            count(*) as n_records
        from "t"."main"."orders"
        group by customer_id
    )
    select *
    from all_values
    where value_field not in (
        1, 2
    )
    "#);
    assert_snapshot!(athena("schema.yml/accepted_values_orders_customer_id__False__1__2"), @r#"
    with all_values as (
        select
            customer_id as value_field,
            count(*) as n_records
        from "awsdatacatalog"."analytics"."orders"
        group by customer_id
    )
    select *
    from all_values
    where value_field not in (
        1, 2
    )
    "#);
}

#[test]
fn test_relationships() {
    assert_snapshot!(duckdb("schema.yml/relationships_orders_customer_id__id__ref_customers_"), @r#"
    with child as (
        select customer_id as from_field
        from "t"."main"."orders"
        where customer_id is not null
    ),

    parent as (
        select id as to_field
        from "t"."main"."customers"
    )

    select
        from_field
    from child
    left join parent
        on child.from_field = parent.to_field
    where parent.to_field is null
    "#);
    assert_snapshot!(athena("schema.yml/relationships_orders_customer_id__id__ref_customers_"), @r#"
    with child as (
        select customer_id as from_field
        from "awsdatacatalog"."analytics"."orders"
        where customer_id is not null
    ),

    parent as (
        select id as to_field
        from "awsdatacatalog"."analytics"."customers"
    )

    select
        from_field
    from child
    left join parent
        on child.from_field = parent.to_field
    where parent.to_field is null
    "#);
}
