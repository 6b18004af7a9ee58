//! The engine on every SQL form it reads, with the expected lineage written out by hand.
//!
//! Upstreams (see `schema`): `db.main.orders(order_id, customer_id, amount, status,
//! ordered_at)`, `db.main.customers(customer_id, name, region, email)`,
//! `db.main.payments(payment_id, order_id, amount, method)`, `db.main.events(event_id,
//! customer_id, payload STRUCT(kind), tags VARCHAR[])`, and the table function
//! `read_csv('data/raw.csv', header = true)` as `db.raw.raw_rows(id, val)`.
//!
//! An input renders as `table.column: TYPE SUBTYPE[, ...]` (the relation's last part), masked
//! ones with ` (masking)`. Name resolution follows DuckDB 1.5 (checked against it while writing
//! these: a FROM column beats a select alias except in ORDER BY, a USING column appears once in
//! `*`, `COLUMNS` regexes search, VALUES columns are `col0`...).

use super::*;
use sqlparser::dialect::DuckDbDialect;

fn cols(names: &[(&str, &str)]) -> Vec<Column> {
    names.iter().map(|(n, t)| Column::new(*n, *t)).collect()
}

fn schema() -> Schema {
    let mut schema = Schema::new();
    schema.add_relation(
        RelationName::new(["db", "main", "orders"]),
        cols(&[
            ("order_id", "INTEGER"),
            ("customer_id", "INTEGER"),
            ("amount", "DECIMAL(10,2)"),
            ("status", "VARCHAR"),
            ("ordered_at", "TIMESTAMP"),
        ]),
    );
    schema.add_relation(
        RelationName::new(["db", "main", "customers"]),
        cols(&[
            ("customer_id", "INTEGER"),
            ("name", "VARCHAR"),
            ("region", "VARCHAR"),
            ("email", "VARCHAR"),
        ]),
    );
    schema.add_relation(
        RelationName::new(["db", "main", "payments"]),
        cols(&[
            ("payment_id", "INTEGER"),
            ("order_id", "INTEGER"),
            ("amount", "DECIMAL(10,2)"),
            ("method", "VARCHAR"),
        ]),
    );
    schema.add_relation(
        RelationName::new(["db", "main", "events"]),
        cols(&[
            ("event_id", "INTEGER"),
            ("customer_id", "INTEGER"),
            ("payload", "STRUCT(kind VARCHAR)"),
            ("tags", "VARCHAR[]"),
        ]),
    );
    schema
        .add_table_function(
            "read_csv('data/raw.csv', header = true)",
            &DuckDbDialect {},
            RelationName::new(["db", "raw", "raw_rows"]),
            cols(&[("id", "INTEGER"), ("val", "VARCHAR")]),
        )
        .unwrap();
    schema
}

fn lineage(sql: &str) -> Lineage {
    analyze(sql, &DuckDbDialect {}, &schema(), &Options::default())
}

fn render(fields: &[InputField]) -> Vec<String> {
    fields
        .iter()
        .map(|f| {
            let table = f.relation.parts().last().cloned().unwrap_or_default();
            let how: Vec<String> = f.transformations.iter().map(ToString::to_string).collect();
            format!("{table}.{}: {}", f.column, how.join(", "))
        })
        .collect()
}

/// Each output column with its rendered inputs.
fn columns(lineage: &Lineage) -> Vec<(String, Vec<String>)> {
    lineage
        .columns
        .iter()
        .map(|c| (c.name.clone(), render(&c.inputs)))
        .collect()
}

fn col(name: &str, inputs: &[&str]) -> (String, Vec<String>) {
    (
        name.to_string(),
        inputs.iter().map(ToString::to_string).collect(),
    )
}

fn dataset(lineage: &Lineage) -> Vec<String> {
    render(&lineage.dataset)
}

fn complete(sql: &str) -> Lineage {
    let lineage = lineage(sql);
    assert!(
        lineage.is_complete(),
        "expected complete lineage for {sql}, got {:#?}",
        lineage.incomplete
    );
    lineage
}

fn reasons(lineage: &Lineage) -> Vec<&str> {
    lineage
        .incomplete
        .iter()
        .map(|i| i.reason.as_str())
        .collect()
}

fn assert_incomplete(lineage: &Lineage, needle: &str) {
    assert!(
        reasons(lineage).iter().any(|r| r.contains(needle)),
        "expected a reason containing {needle:?}, got {:#?}",
        lineage.incomplete
    );
}

const NONE: &[&str] = &[];

// ---- DIRECT: identity, transformation, aggregation ----

#[test]
fn columns_renames_expressions_and_constants() {
    let l = complete(
        "select order_id, customer_id as buyer, amount * 2 as doubled, \
         cast(status as varchar) as s, upper(status), 1 as one from main.orders",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col("buyer", &["orders.customer_id: DIRECT IDENTITY"]),
            col("doubled", &["orders.amount: DIRECT TRANSFORMATION"]),
            col("s", &["orders.status: DIRECT TRANSFORMATION"]),
            col("upper(status)", &["orders.status: DIRECT TRANSFORMATION"]),
            col("one", NONE),
        ]
    );
    let named: Vec<bool> = l.columns.iter().map(|c| c.named_by_expression).collect();
    assert_eq!(named, [false, false, false, false, true, false]);
    assert!(l.dataset.is_empty());
    assert!(l.unknown_columns.is_empty());
}

#[test]
fn aggregates_group_by_where_and_having() {
    let l = complete(
        "select customer_id, count(*) as n, sum(amount) as total, \
         count(distinct status) as statuses, max(amount) - min(amount) as spread \
         from main.orders where status <> 'void' \
         group by customer_id having sum(amount) > 100",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("customer_id", &["orders.customer_id: DIRECT IDENTITY"]),
            col("n", NONE),
            col("total", &["orders.amount: DIRECT AGGREGATION"]),
            col("statuses", &["orders.status: DIRECT AGGREGATION"]),
            col("spread", &["orders.amount: DIRECT AGGREGATION"]),
        ]
    );
    assert_eq!(
        dataset(&l),
        [
            "orders.amount: INDIRECT FILTER",
            "orders.customer_id: INDIRECT GROUP_BY",
            "orders.status: INDIRECT FILTER",
        ]
    );
}

// ---- joins ----

#[test]
fn join_on_is_dataset_join_and_unqualified_names_resolve_by_schema() {
    let l = complete(
        "select o.order_id, name, c.region \
         from main.orders o join main.customers c on o.customer_id = c.customer_id",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col("name", &["customers.name: DIRECT IDENTITY"]),
            col("region", &["customers.region: DIRECT IDENTITY"]),
        ]
    );
    assert_eq!(
        dataset(&l),
        [
            "customers.customer_id: INDIRECT JOIN",
            "orders.customer_id: INDIRECT JOIN",
        ]
    );
}

#[test]
fn using_column_comes_from_both_sides() {
    let l = complete(
        "select customer_id, o.order_id, name \
         from main.orders o left join main.customers c using (customer_id)",
    );
    assert_eq!(
        columns(&l),
        vec![
            col(
                "customer_id",
                &[
                    "customers.customer_id: DIRECT IDENTITY",
                    "orders.customer_id: DIRECT IDENTITY",
                ]
            ),
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col("name", &["customers.name: DIRECT IDENTITY"]),
        ]
    );
    assert_eq!(
        dataset(&l),
        [
            "customers.customer_id: INDIRECT JOIN",
            "orders.customer_id: INDIRECT JOIN",
        ]
    );
}

#[test]
fn star_over_using_lists_the_merged_column_once_where_the_left_side_has_it() {
    let l = complete("select * from main.orders join main.customers using (customer_id)");
    assert_eq!(
        l.output_names(),
        [
            "order_id",
            "customer_id",
            "amount",
            "status",
            "ordered_at",
            "name",
            "region",
            "email"
        ]
    );
    assert_eq!(
        render(&l.columns[1].inputs),
        [
            "customers.customer_id: DIRECT IDENTITY",
            "orders.customer_id: DIRECT IDENTITY",
        ]
    );
    // a qualified star is that side's own columns
    let l =
        complete("select o.*, c.name from main.orders o join main.customers c using (customer_id)");
    assert_eq!(
        l.output_names(),
        [
            "order_id",
            "customer_id",
            "amount",
            "status",
            "ordered_at",
            "name"
        ]
    );
    assert_eq!(
        render(&l.columns[1].inputs),
        ["orders.customer_id: DIRECT IDENTITY"]
    );
}

#[test]
fn natural_join_merges_every_shared_name() {
    // orders and payments share order_id and amount
    let l = complete("select * from main.orders natural join main.payments");
    assert_eq!(
        columns(&l),
        vec![
            col(
                "order_id",
                &[
                    "orders.order_id: DIRECT IDENTITY",
                    "payments.order_id: DIRECT IDENTITY",
                ]
            ),
            col("customer_id", &["orders.customer_id: DIRECT IDENTITY"]),
            col(
                "amount",
                &[
                    "orders.amount: DIRECT IDENTITY",
                    "payments.amount: DIRECT IDENTITY",
                ]
            ),
            col("status", &["orders.status: DIRECT IDENTITY"]),
            col("ordered_at", &["orders.ordered_at: DIRECT IDENTITY"]),
            col("payment_id", &["payments.payment_id: DIRECT IDENTITY"]),
            col("method", &["payments.method: DIRECT IDENTITY"]),
        ]
    );
    assert_eq!(
        dataset(&l),
        [
            "orders.amount: INDIRECT JOIN",
            "orders.order_id: INDIRECT JOIN",
            "payments.amount: INDIRECT JOIN",
            "payments.order_id: INDIRECT JOIN",
        ]
    );
}

#[test]
fn full_join_using_column_is_a_coalesce() {
    let l = complete(
        "select customer_id from main.orders full join main.customers using (customer_id)",
    );
    assert_eq!(
        columns(&l),
        vec![col(
            "customer_id",
            &[
                "customers.customer_id: DIRECT TRANSFORMATION",
                "orders.customer_id: DIRECT TRANSFORMATION",
            ]
        )]
    );
}

#[test]
fn semi_join_right_side_is_seen_only_by_the_condition() {
    let l = complete("select * from main.orders semi join main.customers using (customer_id)");
    assert_eq!(
        l.output_names(),
        ["order_id", "customer_id", "amount", "status", "ordered_at"]
    );
    assert_eq!(
        render(&l.columns[1].inputs),
        ["orders.customer_id: DIRECT IDENTITY"]
    );
    assert_eq!(
        dataset(&l),
        [
            "customers.customer_id: INDIRECT JOIN",
            "orders.customer_id: INDIRECT JOIN",
        ]
    );
}

#[test]
fn lateral_subquery_reads_the_from_items_before_it() {
    let l = complete(
        "select o.order_id, l.x1 from main.orders o, lateral (select o.amount + 1 as x1) l",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col("x1", &["orders.amount: DIRECT TRANSFORMATION"]),
        ]
    );
}

// ---- CTEs, derived tables, subqueries ----

#[test]
fn ctes_compose_transformations_and_carry_their_row_inputs() {
    let l = complete(
        "with paid as (
            select order_id, customer_id, amount * 1.1 as gross
            from main.orders where status = 'paid'
        ), totals as (
            select customer_id, sum(gross) as revenue from paid group by customer_id
        )
        select c.name, t.revenue
        from totals t join main.customers c on c.customer_id = t.customer_id",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("name", &["customers.name: DIRECT IDENTITY"]),
            col("revenue", &["orders.amount: DIRECT AGGREGATION"]),
        ]
    );
    assert_eq!(
        dataset(&l),
        [
            "customers.customer_id: INDIRECT JOIN",
            "orders.customer_id: INDIRECT JOIN, INDIRECT GROUP_BY",
            "orders.status: INDIRECT FILTER",
        ]
    );
}

#[test]
fn ephemeral_model_ctes_are_ctes() {
    let l = complete(
        "with __dbt__cte__stg as (
            select order_id, amount from main.orders
        )
        select order_id, amount from __dbt__cte__stg",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col("amount", &["orders.amount: DIRECT IDENTITY"]),
        ]
    );
}

#[test]
fn recursive_cte_reaches_its_fixpoint() {
    let l = complete(
        "with recursive chain(n, total) as (
            select 1, amount from main.orders where order_id = 1
            union all
            select n + 1, total + 1 from chain where n < 3
        )
        select n, total from chain",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("n", NONE),
            col(
                "total",
                &["orders.amount: DIRECT IDENTITY, DIRECT TRANSFORMATION"]
            ),
        ]
    );
    assert_eq!(dataset(&l), ["orders.order_id: INDIRECT FILTER"]);
}

#[test]
fn derived_table_with_column_aliases() {
    let l = complete("select x, y from (select order_id, amount from main.orders) as t(x, y)");
    assert_eq!(
        columns(&l),
        vec![
            col("x", &["orders.order_id: DIRECT IDENTITY"]),
            col("y", &["orders.amount: DIRECT IDENTITY"]),
        ]
    );
    // a star over a subquery that joins
    let l = complete(
        "select x.* from (select o.order_id, c.region \
         from main.orders o join main.customers c using (customer_id)) x",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col("region", &["customers.region: DIRECT IDENTITY"]),
        ]
    );
    assert_eq!(
        dataset(&l),
        [
            "customers.customer_id: INDIRECT JOIN",
            "orders.customer_id: INDIRECT JOIN",
        ]
    );
}

#[test]
fn scalar_subquery_brings_its_filters_to_its_column() {
    let l = complete(
        "select c.customer_id,
            (select max(o.amount) from main.orders o
             where o.customer_id = c.customer_id and o.status = 'paid') as biggest
        from main.customers c",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("customer_id", &["customers.customer_id: DIRECT IDENTITY"]),
            col(
                "biggest",
                &[
                    "customers.customer_id: INDIRECT FILTER",
                    "orders.amount: DIRECT AGGREGATION",
                    "orders.customer_id: INDIRECT FILTER",
                    "orders.status: INDIRECT FILTER",
                ]
            ),
        ]
    );
    assert!(l.dataset.is_empty());
}

#[test]
fn exists_and_in_subqueries_filter_rows() {
    let l = complete(
        "select order_id from main.orders o
        where exists (select 1 from main.payments p where p.order_id = o.order_id)
          and customer_id in (select customer_id from main.customers where region = 'EU')",
    );
    assert_eq!(
        columns(&l),
        vec![col("order_id", &["orders.order_id: DIRECT IDENTITY"])]
    );
    assert_eq!(
        dataset(&l),
        [
            "customers.customer_id: INDIRECT FILTER",
            "customers.region: INDIRECT FILTER",
            "orders.customer_id: INDIRECT FILTER",
            "orders.order_id: INDIRECT FILTER",
            "payments.order_id: INDIRECT FILTER",
        ]
    );
}

// ---- stars, COLUMNS ----

#[test]
fn star_with_exclude_and_replace() {
    let l = complete(
        "select * exclude (status, ordered_at) replace (amount * 100 as amount) from main.orders",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col("customer_id", &["orders.customer_id: DIRECT IDENTITY"]),
            col("amount", &["orders.amount: DIRECT TRANSFORMATION"]),
        ]
    );
    let l = complete("select c.* exclude (email) from main.customers c");
    assert_eq!(l.output_names(), ["customer_id", "name", "region"]);
}

#[test]
fn columns_by_regex_star_and_list() {
    // DuckDB's regex searches (unanchored) and is case-sensitive
    let l = complete("select columns('_id$') from main.orders");
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col("customer_id", &["orders.customer_id: DIRECT IDENTITY"]),
        ]
    );
    // inside an expression: one column per match, named after the column (as DuckDB names them)
    let l = complete("select min(columns(* exclude (status, ordered_at))) from main.orders");
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT AGGREGATION"]),
            col("customer_id", &["orders.customer_id: DIRECT AGGREGATION"]),
            col("amount", &["orders.amount: DIRECT AGGREGATION"]),
        ]
    );
    let l = complete("select columns(['amount', 'status']) from main.orders");
    assert_eq!(
        columns(&l),
        vec![
            col("amount", &["orders.amount: DIRECT IDENTITY"]),
            col("status", &["orders.status: DIRECT IDENTITY"]),
        ]
    );
    // in WHERE: every matched column filters
    let l =
        complete("select order_id from main.orders where columns('^(amount|status)$') is not null");
    assert_eq!(
        dataset(&l),
        [
            "orders.amount: INDIRECT FILTER",
            "orders.status: INDIRECT FILTER",
        ]
    );
}

#[test]
fn columns_with_a_lambda_is_incomplete() {
    let l = lineage("select columns(c -> c like '%id') from main.orders");
    assert!(l.columns.is_empty());
    assert_incomplete(&l, "COLUMNS with a lambda is not supported");
    let l = lineage("select columns('nothing_matches') from main.orders");
    assert_incomplete(&l, "matches no column");
}

// ---- GROUP BY ALL, ordinals, ORDER BY, DISTINCT ON ----

#[test]
fn group_by_all_groups_by_every_item_that_does_not_aggregate() {
    let l = complete(
        "select customer_id, upper(status) as s, sum(amount) as total \
         from main.orders group by all",
    );
    assert_eq!(
        dataset(&l),
        [
            "orders.customer_id: INDIRECT GROUP_BY",
            "orders.status: INDIRECT GROUP_BY",
        ]
    );
    assert_eq!(
        render(&l.columns[2].inputs),
        ["orders.amount: DIRECT AGGREGATION"]
    );
}

#[test]
fn ordinals_and_order_by_aliases() {
    let l = complete(
        "select status, sum(amount) as total from main.orders group by 1 order by total desc",
    );
    assert_eq!(
        dataset(&l),
        [
            "orders.amount: INDIRECT SORT",
            "orders.status: INDIRECT GROUP_BY",
        ]
    );
    // ORDER BY prefers the alias to the column of the same name
    let l = complete("select amount as status from main.orders order by status");
    assert_eq!(dataset(&l), ["orders.amount: INDIRECT SORT"]);
    let l = complete("select order_id, status from main.orders order by all");
    assert_eq!(
        dataset(&l),
        [
            "orders.order_id: INDIRECT SORT",
            "orders.status: INDIRECT SORT",
        ]
    );
    let l = lineage("select status from main.orders order by 3");
    assert_incomplete(&l, "position 3 is past the 1 select items");
}

#[test]
fn distinct_on_groups() {
    let l = complete(
        "select distinct on (customer_id) customer_id, amount \
         from main.orders order by customer_id, ordered_at desc",
    );
    assert_eq!(
        dataset(&l),
        [
            "orders.customer_id: INDIRECT GROUP_BY, INDIRECT SORT",
            "orders.ordered_at: INDIRECT SORT",
        ]
    );
}

// ---- windows, QUALIFY, CASE, aggregate FILTER ----

#[test]
fn window_partition_and_order_are_indirect_window() {
    let l = complete(
        "select order_id,
            row_number() over (partition by customer_id order by ordered_at desc) as rn,
            sum(amount) over (partition by customer_id) as customer_total,
            lag(amount) over w as previous
        from main.orders
        window w as (partition by customer_id order by ordered_at)",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col(
                "rn",
                &[
                    "orders.customer_id: INDIRECT WINDOW",
                    "orders.ordered_at: INDIRECT WINDOW",
                ]
            ),
            col(
                "customer_total",
                &[
                    "orders.amount: DIRECT AGGREGATION",
                    "orders.customer_id: INDIRECT WINDOW",
                ]
            ),
            col(
                "previous",
                &[
                    "orders.amount: DIRECT TRANSFORMATION",
                    "orders.customer_id: INDIRECT WINDOW",
                    "orders.ordered_at: INDIRECT WINDOW",
                ]
            ),
        ]
    );
    assert!(l.dataset.is_empty());
}

#[test]
fn qualify_filters_rows() {
    let l = complete(
        "select order_id, customer_id from main.orders \
         qualify row_number() over (partition by customer_id order by ordered_at desc) = 1",
    );
    assert_eq!(
        dataset(&l),
        [
            "orders.customer_id: INDIRECT FILTER",
            "orders.ordered_at: INDIRECT FILTER",
        ]
    );
}

#[test]
fn case_conditions_are_indirect_conditional() {
    let l = complete(
        "select case when status = 'paid' then amount else 0 end as paid_amount,
                case status when 'paid' then 'P' end as code
        from main.orders",
    );
    assert_eq!(
        columns(&l),
        vec![
            col(
                "paid_amount",
                &[
                    "orders.amount: DIRECT TRANSFORMATION",
                    "orders.status: INDIRECT CONDITIONAL",
                ]
            ),
            col("code", &["orders.status: INDIRECT CONDITIONAL"]),
        ]
    );
}

#[test]
fn aggregate_filter_and_case_inside_an_aggregate() {
    let l = complete(
        "select sum(amount) filter (where status = 'refunded') as refunded,
                sum(case when status = 'paid' then amount end) as paid,
                string_agg(status, ',' order by ordered_at) as history
        from main.orders",
    );
    assert_eq!(
        columns(&l),
        vec![
            col(
                "refunded",
                &[
                    "orders.amount: DIRECT AGGREGATION",
                    "orders.status: INDIRECT FILTER",
                ]
            ),
            col(
                "paid",
                &[
                    "orders.amount: DIRECT AGGREGATION",
                    "orders.status: INDIRECT CONDITIONAL",
                ]
            ),
            col(
                "history",
                &[
                    "orders.ordered_at: INDIRECT SORT",
                    "orders.status: DIRECT AGGREGATION",
                ]
            ),
        ]
    );
}

// ---- set operations ----

#[test]
fn union_all_matches_columns_by_position() {
    let l = complete(
        "select order_id as id, amount from main.orders where status = 'paid'
        union all
        select payment_id, amount * -1 from main.payments",
    );
    assert_eq!(
        columns(&l),
        vec![
            col(
                "id",
                &[
                    "orders.order_id: DIRECT IDENTITY",
                    "payments.payment_id: DIRECT IDENTITY",
                ]
            ),
            col(
                "amount",
                &[
                    "orders.amount: DIRECT IDENTITY",
                    "payments.amount: DIRECT TRANSFORMATION",
                ]
            ),
        ]
    );
    assert_eq!(dataset(&l), ["orders.status: INDIRECT FILTER"]);
}

#[test]
fn union_by_name_matches_columns_by_name() {
    // DuckDB: the left's columns, then the right's new ones, in order
    let l = complete(
        "select order_id, amount from main.orders \
         union all by name select method, order_id from main.payments",
    );
    assert_eq!(
        columns(&l),
        vec![
            col(
                "order_id",
                &[
                    "orders.order_id: DIRECT IDENTITY",
                    "payments.order_id: DIRECT IDENTITY",
                ]
            ),
            col("amount", &["orders.amount: DIRECT IDENTITY"]),
            col("method", &["payments.method: DIRECT IDENTITY"]),
        ]
    );
}

#[test]
fn except_right_side_only_filters() {
    let l = complete(
        "select customer_id from main.orders \
         except select customer_id from main.customers where region = 'EU'",
    );
    assert_eq!(
        columns(&l),
        vec![col("customer_id", &["orders.customer_id: DIRECT IDENTITY"])]
    );
    assert_eq!(
        dataset(&l),
        [
            "customers.customer_id: INDIRECT FILTER",
            "customers.region: INDIRECT FILTER",
        ]
    );
}

#[test]
fn union_of_different_widths_is_incomplete() {
    let l = lineage(
        "select order_id, amount from main.orders union all select payment_id from main.payments",
    );
    assert!(l.columns.is_empty());
    assert_incomplete(&l, "the two sides of UNION have 2 and 1 columns");
}

// ---- lateral column aliases ----

#[test]
fn lateral_column_aliases_resolve_after_the_from_columns() {
    let l = complete(
        "select amount * 2 as doubled, doubled + 1 as plus_one, \
         status as order_id, order_id as oid from main.orders",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("doubled", &["orders.amount: DIRECT TRANSFORMATION"]),
            col("plus_one", &["orders.amount: DIRECT TRANSFORMATION"]),
            col("order_id", &["orders.status: DIRECT IDENTITY"]),
            // the table's order_id wins over the alias (DuckDB)
            col("oid", &["orders.order_id: DIRECT IDENTITY"]),
        ]
    );
    // and in WHERE
    let l = complete("select amount * 2 as doubled from main.orders where doubled > 10");
    assert_eq!(dataset(&l), ["orders.amount: INDIRECT FILTER"]);
    // a scalar subquery sees the enclosing select's earlier aliases
    let l = complete("select amount as a, (select a + 1) as b from main.orders");
    assert_eq!(
        render(&l.columns[1].inputs),
        ["orders.amount: DIRECT TRANSFORMATION"]
    );
}

// ---- masking ----

#[test]
fn hashes_mask() {
    let options = Options {
        masking_functions: vec!["MY_HMAC".to_string()],
        ..Options::default()
    };
    let l = analyze(
        "select sha256(email) as email_hash, md5(name || region) as nr, \
         upper(sha1(cast(email as varchar))) as u, my_hmac(email, 'k') as h, \
         lower(email) as plain from main.customers",
        &DuckDbDialect {},
        &schema(),
        &options,
    );
    assert!(l.is_complete());
    assert_eq!(
        columns(&l),
        vec![
            col(
                "email_hash",
                &["customers.email: DIRECT TRANSFORMATION (masking)"]
            ),
            col(
                "nr",
                &[
                    "customers.name: DIRECT TRANSFORMATION (masking)",
                    "customers.region: DIRECT TRANSFORMATION (masking)",
                ]
            ),
            col("u", &["customers.email: DIRECT TRANSFORMATION (masking)"]),
            col("h", &["customers.email: DIRECT TRANSFORMATION (masking)"]),
            col("plain", &["customers.email: DIRECT TRANSFORMATION"]),
        ]
    );
    // masking survives a CTE
    let l = complete("with h as (select sha256(email) as e from main.customers) select e from h");
    assert_eq!(
        columns(&l),
        vec![col(
            "e",
            &["customers.email: DIRECT TRANSFORMATION (masking)"]
        )]
    );
    assert!(l.columns[0].inputs[0].transformations[0].masking);
}

#[test]
fn declared_masking_only_counts_listed_functions_and_macro_output() {
    // What a masking macro rendered (its byte range in the SQL) masks; a plain sha256 does not.
    let sql = "select sha256(email) as plain_hash, sha256('k' || email) as keyed, \
               my_hmac(name) as h from main.customers";
    let start = sql.find("sha256('k'").unwrap();
    let end = start + "sha256('k' || email)".len();
    let options = Options {
        masking_functions: vec!["my_hmac".to_string()],
        declared_masking_only: true,
        masked_ranges: std::iter::once(start..end).collect(),
    };
    let l = analyze(sql, &DuckDbDialect {}, &schema(), &options);
    assert_eq!(
        columns(&l),
        vec![
            col("plain_hash", &["customers.email: DIRECT TRANSFORMATION"]),
            col(
                "keyed",
                &["customers.email: DIRECT TRANSFORMATION (masking)"]
            ),
            col("h", &["customers.name: DIRECT TRANSFORMATION (masking)"]),
        ]
    );
}

// ---- FROM forms ----

#[test]
fn registered_table_function_reads_its_relation() {
    // the same call as registered, spaced differently
    let l = complete("select r.id, val from read_csv( 'data/raw.csv',header=true ) as r");
    assert_eq!(
        columns(&l),
        vec![
            col("id", &["raw_rows.id: DIRECT IDENTITY"]),
            col("val", &["raw_rows.val: DIRECT IDENTITY"]),
        ]
    );
    // a quoted file name (DuckDB's replacement scan) is registered and found the same way
    let mut schema = schema();
    schema
        .add_table_function(
            "'data/users.csv'",
            &DuckDbDialect {},
            RelationName::new(["files", "users"]),
            cols(&[("user_id", "VARCHAR")]),
        )
        .unwrap();
    let l = analyze(
        "select * from 'data/users.csv'",
        &DuckDbDialect {},
        &schema,
        &Options::default(),
    );
    assert!(l.is_complete(), "{:?}", l.incomplete);
    assert_eq!(
        columns(&l),
        vec![col("user_id", &["users.user_id: DIRECT IDENTITY"])]
    );
    assert!(
        schema
            .add_table_function(
                "not a call (",
                &DuckDbDialect {},
                RelationName::new(["x"]),
                Vec::new()
            )
            .is_err()
    );
}

#[test]
fn generators_make_rows_from_their_arguments() {
    let l = complete(
        "select cast(d as date) as day from generate_series(\
         cast('2024-01-01' as date), cast('2024-02-01' as date), interval '1 day') as s(d)",
    );
    assert_eq!(columns(&l), vec![col("day", NONE)]);
    let l = complete("select u.tag from main.events e, unnest(e.tags) as u(tag)");
    assert_eq!(
        columns(&l),
        vec![col("tag", &["events.tags: DIRECT TRANSFORMATION"])]
    );
}

#[test]
fn from_first_and_values() {
    let l = complete("from main.orders select order_id");
    assert_eq!(
        columns(&l),
        vec![col("order_id", &["orders.order_id: DIRECT IDENTITY"])]
    );
    let l = complete("from main.customers");
    assert_eq!(l.output_names(), ["customer_id", "name", "region", "email"]);
    let l = complete("select * from (values (1, 'a'), (2, 'b')) v");
    assert_eq!(columns(&l), vec![col("col0", NONE), col("col1", NONE)]);
    let l = complete("select a from (values (1, 2)) v(a, b)");
    assert_eq!(columns(&l), vec![col("a", NONE)]);
    // a table's columns renamed by its alias are still its own
    let l = complete("select x, o.y, status from main.orders as o(x, y)");
    assert_eq!(
        columns(&l),
        vec![
            col("x", &["orders.order_id: DIRECT IDENTITY"]),
            col("y", &["orders.customer_id: DIRECT IDENTITY"]),
            col("status", &["orders.status: DIRECT IDENTITY"]),
        ]
    );
}

#[test]
fn lambdas_and_struct_fields_are_not_columns() {
    let l = complete(
        "select list_transform(tags, x -> upper(x)) as up, payload.kind as kind, \
         e.payload.kind as k2 from main.events e",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("up", &["events.tags: DIRECT TRANSFORMATION"]),
            col("kind", &["events.payload: DIRECT TRANSFORMATION"]),
            col("k2", &["events.payload: DIRECT TRANSFORMATION"]),
        ]
    );
    assert!(l.unknown_columns.is_empty());
    // a struct's fields are not in the schema
    let l = lineage("select p.* from (select payload as p from main.events)");
    assert_incomplete(&l, "`p.*` expands a struct, whose fields are unknown");
    assert!(l.unknown_columns.is_empty());
}

#[test]
fn whole_rows_and_keyword_values() {
    // DuckDB: a FROM item's name alone is its row, as a struct
    let l = complete("select c, current_user as who from main.customers c");
    assert_eq!(
        columns(&l),
        vec![
            col(
                "c",
                &[
                    "customers.customer_id: DIRECT TRANSFORMATION",
                    "customers.email: DIRECT TRANSFORMATION",
                    "customers.name: DIRECT TRANSFORMATION",
                    "customers.region: DIRECT TRANSFORMATION",
                ]
            ),
            col("who", NONE),
        ]
    );
    // pseudo-columns (DuckDB's rowid, Athena's "$path") read no upstream column
    let l = complete(r#"select o.rowid as r, "$path" as p from main.orders o where rowid > 1"#);
    assert_eq!(columns(&l), vec![col("r", NONE), col("p", NONE)]);
    assert!(l.dataset.is_empty());
    // a column of that name is the column
    let l = complete("select user from (select name as user from main.customers)");
    assert_eq!(
        columns(&l),
        vec![col("user", &["customers.name: DIRECT IDENTITY"])]
    );
}

#[test]
fn names_are_case_insensitive_and_spelled_as_the_schema_spells_them() {
    let l = complete(r#"select ORDER_ID, "Amount" from "DB"."MAIN"."ORDERS""#);
    assert_eq!(
        columns(&l),
        vec![
            col("order_id", &["orders.order_id: DIRECT IDENTITY"]),
            col("amount", &["orders.amount: DIRECT IDENTITY"]),
        ]
    );
    // a relation found by a unique suffix of its name; qualified by any suffix
    let l = complete("select orders.order_id, main.orders.amount from orders");
    assert_eq!(l.output_names(), ["order_id", "amount"]);
}

// ---- incomplete: never a guess ----

#[test]
fn ambiguous_names_are_incomplete() {
    let l = lineage(
        "select customer_id from main.orders o join main.customers c \
         on o.customer_id = c.customer_id",
    );
    assert_incomplete(&l, "`customer_id` is ambiguous: `o`, `c` all have it");
    assert!(l.unknown_columns.is_empty());
    let mut schema = schema();
    schema.add_relation(
        RelationName::new(["db", "staging", "orders"]),
        cols(&[("order_id", "INTEGER")]),
    );
    let l = analyze(
        "select * from orders",
        &DuckDbDialect {},
        &schema,
        &Options::default(),
    );
    assert_incomplete(
        &l,
        "`orders` may be any of db.main.orders, db.staging.orders",
    );
    assert!(l.columns.is_empty());
}

#[test]
fn relations_of_unknown_columns_are_incomplete() {
    let l = lineage("select * from main.nowhere");
    assert!(l.columns.is_empty());
    assert_incomplete(&l, "the columns of `main.nowhere` are not known");
    assert_incomplete(&l, "`*` reads `main.nowhere`, whose columns are unknown");

    let l = lineage("select id from read_parquet('x.parquet')");
    assert_incomplete(
        &l,
        "reads the table function `read_parquet('x.parquet')`, whose columns the schema does not know",
    );
    assert_incomplete(&l, "cannot tell where `id` comes from");
    // a qualified name still says which relation
    let l = lineage("select n.a from main.nowhere n");
    assert_eq!(render(&l.columns[0].inputs), ["nowhere.a: DIRECT IDENTITY"]);
    assert!(!l.is_complete());
}

#[test]
fn unsupported_forms_are_incomplete() {
    let l = lineage("select * from main.orders pivot (sum(amount) for status in ('paid', 'void'))");
    assert_incomplete(&l, "in a FROM clause is not supported");
    assert!(l.columns.is_empty());

    let l = lineage("create table x as select 1");
    assert_incomplete(&l, "is not a query");
    let l = lineage("select 1; select 2");
    assert_incomplete(&l, "the SQL has 2 statements, not one query");
    let l = lineage("");
    assert_incomplete(&l, "the SQL has no statement");
}

#[test]
fn unparseable_sql_is_incomplete_with_its_position() {
    // DuckDB's sampling clause is outside sqlparser 0.62's DuckDB grammar
    let sql = "select *\nfrom main.orders using sample 10%";
    let l = lineage(sql);
    assert!(l.columns.is_empty());
    assert_eq!(l.incomplete.len(), 1);
    assert!(
        l.incomplete[0]
            .reason
            .starts_with("sqlparser cannot parse the SQL")
    );
    let at = l.incomplete[0].at.expect("a position");
    assert_eq!((at.line, at.column), (2, 18));
    assert_eq!(at.offset, sql.find("using").unwrap());
}

// ---- unknown columns ----

#[test]
fn unknown_columns_name_the_relation_the_place_and_a_suggestion() {
    let sql = "select o.order_id,\n       o.amout,\n       custmer_id\nfrom main.orders o";
    let l = lineage(sql);
    assert!(!l.is_complete());
    let found: Vec<(&str, Option<&str>, u64, u64, usize, &[String])> = l
        .unknown_columns
        .iter()
        .map(|u| {
            let at = u.at.unwrap();
            (
                u.name.as_str(),
                u.qualifier.as_deref(),
                at.line,
                at.column,
                at.offset,
                &u.suggestions[..],
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("amout", Some("o"), 2, 10, 28, &["amount".to_string()][..]),
            (
                "custmer_id",
                None,
                3,
                8,
                42,
                &["customer_id".to_string()][..]
            ),
        ]
    );
    assert_eq!(sql.find("amout"), Some(28));
    assert_eq!(sql.find("custmer_id"), Some(42));
    for unknown in &l.unknown_columns {
        assert_eq!(unknown.kind, UnknownKind::Column);
        assert_eq!(
            unknown.searched,
            [Searched {
                name: "o".to_string(),
                relation: Some(RelationName::new(["db", "main", "orders"])),
            }]
        );
    }
    assert_incomplete(&l, "unknown column `amout`");
}

#[test]
fn unknown_qualifiers_and_columns_of_ctes() {
    let l = lineage("select x.amount from main.orders o");
    assert_eq!(l.unknown_columns.len(), 1);
    let unknown = &l.unknown_columns[0];
    assert_eq!(unknown.kind, UnknownKind::Qualifier);
    assert_eq!(unknown.name, "x");
    assert_eq!(unknown.suggestions, ["o"]);

    let l = lineage("with c as (select order_id from main.orders) select c.amount from c");
    assert_eq!(l.unknown_columns.len(), 1);
    let unknown = &l.unknown_columns[0];
    assert_eq!(
        (unknown.name.as_str(), unknown.qualifier.as_deref()),
        ("amount", Some("c"))
    );
    assert_eq!(
        unknown.searched,
        [Searched {
            name: "c".to_string(),
            relation: None,
        }]
    );
    assert!(unknown.suggestions.is_empty());

    // a CTE that is read reports its unknown columns; one that is not, does not (DuckDB does
    // not bind it either)
    let l = lineage("with c as (select nope from main.orders) select * from c");
    assert_eq!(l.unknown_columns.len(), 1);
    assert_eq!(l.unknown_columns[0].name, "nope");
    let l =
        complete("with unused as (select nope from main.orders) select order_id from main.orders");
    assert!(l.unknown_columns.is_empty());
}

#[test]
fn unknown_columns_in_exclude_and_using() {
    let l = lineage("select * exclude (statuss) from main.orders");
    assert_eq!(l.unknown_columns.len(), 1);
    assert_eq!(l.unknown_columns[0].name, "statuss");
    assert_eq!(l.unknown_columns[0].suggestions, ["status"]);

    let l = lineage("select * from main.orders join main.customers using (order_id)");
    assert_eq!(l.unknown_columns.len(), 1);
    let unknown = &l.unknown_columns[0];
    assert_eq!(unknown.name, "order_id");
    assert_eq!(
        unknown.searched,
        [Searched {
            name: "main.customers".to_string(),
            relation: Some(RelationName::new(["db", "main", "customers"])),
        }]
    );
}

#[test]
fn no_unknown_column_where_the_columns_are_not_all_known() {
    let l = lineage("select nope from main.orders, read_parquet('x.parquet')");
    assert!(l.unknown_columns.is_empty());
    assert_incomplete(&l, "cannot tell where `nope` comes from");
}

// ---- the binder cross-check, serialization ----

#[test]
fn reconcile_takes_the_binder_names_of_expressions_and_flags_differences() {
    let mut l = complete("select order_id, amount + 1 from main.orders");
    assert_eq!(l.output_names(), ["order_id", "amount + 1"]);
    l.reconcile(&["order_id", "(amount + 1)"]);
    assert!(l.is_complete());
    assert_eq!(l.output_names(), ["order_id", "(amount + 1)"]);
    assert!(!l.columns[1].named_by_expression);

    let mut l = complete("select order_id from main.orders");
    l.reconcile(&["order_id", "extra"]);
    assert_incomplete(
        &l,
        "the query has 1 output columns (order_id) by its SQL, but the database reports 2 (order_id, extra)",
    );

    let mut l = complete("select order_id from main.orders");
    l.reconcile(&["ORDER_ID"]);
    assert!(l.is_complete());
    l.reconcile(&["id"]);
    assert_incomplete(&l, "`order_id` is `id`");
}

#[test]
fn results_and_schemas_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Schema>();
    send_sync::<Lineage>();
    send_sync::<Options>();
}

#[test]
fn input_fields_serialize_in_openlineage_shape() {
    let l = complete("select sum(amount) as total from main.orders");
    let json = serde_json::to_value(&l.columns[0].inputs[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "relation": ["db", "main", "orders"],
            "column": "amount",
            "transformations": [
                {"type": "DIRECT", "subtype": "AGGREGATION", "masking": false}
            ]
        })
    );
}
