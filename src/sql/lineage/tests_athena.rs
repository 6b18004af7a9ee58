//! The engine on Trino's SQL as the Athena target compiles it, read with the dialect kiln uses
//! for Athena (`Adapter::sql_dialect`: sqlparser's `GenericDialect`), with the expected lineage
//! written out by hand. The forms are the demo's on Athena (its `athena__` macros and dbt's
//! cross-database macros as Trino spells them): `cast(x as varchar)`, `try_cast`,
//! `date_add('day', n, x)` and `date_diff('minute', a, b)` (the unit is a literal, not a
//! column), `date_trunc`, `regexp_like` in a filter, `unnest(sequence(...)) as t(c)` date
//! spines, `is distinct from`, and `hash_pii`'s `hmac_sha256(to_utf8(...), (select max(key)
//! from <key table>))`.
//!
//! Upstreams: `awsdatacatalog.analytics.events(event_id, user_id, occurred_at, email)`,
//! `awsdatacatalog.analytics.weeks(week_start)` and `awsdatacatalog.security.pii_hmac_key
//! (hmac_key)`, typed as Glue types them.

use super::*;
use sqlparser::dialect::GenericDialect;

fn schema() -> Schema {
    let mut schema = Schema::new();
    let add = |schema: &mut Schema, parts: [&str; 3], cols: &[(&str, &str)]| {
        schema.add_relation(
            RelationName::new(parts),
            cols.iter().map(|(n, t)| Column::new(*n, *t)).collect(),
        );
    };
    add(
        &mut schema,
        ["awsdatacatalog", "analytics", "events"],
        &[
            ("event_id", "varchar"),
            ("user_id", "varchar"),
            ("occurred_at", "timestamp"),
            ("email", "varchar"),
        ],
    );
    add(
        &mut schema,
        ["awsdatacatalog", "analytics", "weeks"],
        &[("week_start", "date")],
    );
    add(
        &mut schema,
        ["awsdatacatalog", "security", "pii_hmac_key"],
        &[("hmac_key", "varbinary")],
    );
    schema
}

fn read(sql: &str, options: &Options) -> Lineage {
    let l = analyze(sql, &GenericDialect {}, &schema(), options);
    assert!(
        l.is_complete(),
        "expected complete lineage for {sql}, got {:#?}",
        l.incomplete
    );
    l
}

fn complete(sql: &str) -> Lineage {
    read(sql, &Options::default())
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

fn columns(l: &Lineage) -> Vec<(String, Vec<String>)> {
    l.columns
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

const NONE: &[&str] = &[];

#[test]
fn trino_casts_are_transformations() {
    let l = complete(
        "select cast(user_id as varchar) as user_key, try_cast(event_id as integer) as event_no, \
         cast(occurred_at as date) as event_date, cast(null as varchar) as nothing \
         from \"awsdatacatalog\".\"analytics\".\"events\"",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("user_key", &["events.user_id: DIRECT TRANSFORMATION"]),
            col("event_no", &["events.event_id: DIRECT TRANSFORMATION"]),
            col("event_date", &["events.occurred_at: DIRECT TRANSFORMATION"]),
            col("nothing", NONE),
        ]
    );
}

#[test]
fn date_functions_take_their_unit_as_a_literal() {
    let l = complete(
        "select date_add('day', 6, week_start) as week_end, \
         date_add('day', -1, date_add('month', 1, cast('2024-06-01' as date))) as period_end, \
         date_trunc('month', week_start) as month_start \
         from \"awsdatacatalog\".\"analytics\".\"weeks\" as weeks",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("week_end", &["weeks.week_start: DIRECT TRANSFORMATION"]),
            col("period_end", NONE),
            col("month_start", &["weeks.week_start: DIRECT TRANSFORMATION"]),
        ]
    );
    let l = complete(
        "select user_id, \
         sum(date_diff('minute', date_trunc('minute', cast(occurred_at as timestamp)), \
                       cast(occurred_at as timestamp))) as minutes \
         from \"awsdatacatalog\".\"analytics\".\"events\" group by user_id",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("user_id", &["events.user_id: DIRECT IDENTITY"]),
            col("minutes", &["events.occurred_at: DIRECT AGGREGATION"]),
        ]
    );
    assert_eq!(render(&l.dataset), ["events.user_id: INDIRECT GROUP_BY"]);
}

#[test]
fn regexp_like_and_is_distinct_from_filter_rows() {
    let l = complete(
        "select event_id from \"awsdatacatalog\".\"analytics\".\"events\" \
         where regexp_like(cast(email as varchar), '^[^@]+@[^@]+$') \
         and user_id is distinct from event_id",
    );
    assert_eq!(
        columns(&l),
        vec![col("event_id", &["events.event_id: DIRECT IDENTITY"])]
    );
    assert_eq!(
        render(&l.dataset),
        [
            "events.email: INDIRECT FILTER",
            "events.event_id: INDIRECT FILTER",
            "events.user_id: INDIRECT FILTER",
        ]
    );
}

/// dbt's date spine on Trino: `unnest(sequence(...)) as spine(date_day)` makes rows from
/// constants; joined to a relation, its column has no upstream and the join keys decide rows.
#[test]
fn unnest_of_a_sequence_is_a_spine_without_upstream_columns() {
    let l = complete(
        "select spine.date_day, weeks.week_start \
         from unnest(sequence(cast('2024-01-01' as date), cast('2024-06-01' as date), interval '1' day)) as spine(date_day) \
         join \"awsdatacatalog\".\"analytics\".\"weeks\" as weeks on weeks.week_start = spine.date_day",
    );
    assert_eq!(
        columns(&l),
        vec![
            col("date_day", NONE),
            col("week_start", &["weeks.week_start: DIRECT IDENTITY"]),
        ]
    );
    assert_eq!(render(&l.dataset), ["weeks.week_start: INDIRECT JOIN"]);
}

/// `hash_pii` on Athena: HMAC-SHA-256 of the value keyed by the key table's one row. The
/// rendered macro text is masking (`Options::masked_ranges`, as the session marks it): the
/// value and the key both pass masked, the key through `max` (an aggregation).
#[test]
fn hash_pii_on_athena_masks_the_value_and_reads_the_key_table() {
    let hash = "lower(to_hex(hmac_sha256(to_utf8(cast(email as varchar)), \
                coalesce((select max(hmac_key) from security.pii_hmac_key), fail('no key')))))";
    let sql = format!(
        "select event_id, {hash} as email_hash from \"awsdatacatalog\".\"analytics\".\"events\""
    );
    let start = sql.find(hash).expect("the hash");
    let options = Options {
        masked_ranges: std::iter::once(start..start + hash.len()).collect(),
        declared_masking_only: true,
        ..Options::default()
    };
    let l = read(&sql, &options);
    assert_eq!(
        columns(&l),
        vec![
            col("event_id", &["events.event_id: DIRECT IDENTITY"]),
            col(
                "email_hash",
                &[
                    "events.email: DIRECT TRANSFORMATION (masking)",
                    "pii_hmac_key.hmac_key: DIRECT AGGREGATION (masking)",
                ]
            ),
        ]
    );
}
