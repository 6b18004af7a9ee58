//! Athena's incremental SQL: what `insert_overwrite` sends (the partitions the new rows touch,
//! their S3 folders, the rows of each batch of at most 100 partitions built aside), Iceberg's
//! `merge into` with dbt-athena's options, the schema changes Athena's DDL allows, and the
//! batched rewrite of a CTAS that hit Athena's partition limit. Pure text: the connection
//! (`athena_conn.rs`) runs it.

#[cfg(feature = "athena")]
use super::string_literal;
use crate::adapter::{Column, TableStorage};
use crate::project::settings::incremental::{MergeOptions, MergeRule};

#[cfg(feature = "athena")]
/// Athena writes at most 100 partitions in one CTAS or INSERT (`TOO_MANY_OPEN_PARTITIONS`).
pub const PARTITION_WRITE_LIMIT: usize = 100;

#[cfg(feature = "athena")]
/// The folder name Hive gives a NULL partition value.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// `"name"` as Trino quotes it.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(feature = "athena")]
/// A partition value as Hive writes it in a folder name: the characters Hive escapes
/// (`FileUtils.escapePathName`: controls, `"#%'*/:=?\^{[]` and DEL) as `%XX`.
pub fn escape_path_name(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let escape = (c as u32) < 0x20
            || c == '\u{7f}'
            || matches!(
                c,
                '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '^' | '{' | '[' | ']'
            );
        if escape {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(feature = "athena")]
/// A partition's folder under its table's location: `k1=v1/k2=v2/` (always ending in `/`).
pub fn partition_path(keys: &[String], values: &[Option<String>]) -> String {
    keys.iter()
        .zip(values)
        .map(|(k, v)| {
            format!(
                "{}={}/",
                escape_path_name(&k.to_lowercase()),
                v.as_deref()
                    .map_or(NULL_PARTITION.to_string(), escape_path_name)
            )
        })
        .collect()
}

#[cfg(feature = "athena")]
/// A microbatch's window: rows of `column` in `[start, end)` (SQL literals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub column: String,
    pub start: String,
    pub end: String,
}

#[cfg(feature = "athena")]
impl Window {
    fn condition(&self) -> String {
        let c = quote(&self.column);
        format!("{c} >= {} and {c} < {}", self.start, self.end)
    }
}

#[cfg(feature = "athena")]
/// The partitions the staged rows touch, each value as text (as a folder names it).
pub fn distinct_partitions_sql(stage: &str, keys: &[String], window: Option<&Window>) -> String {
    let cols: Vec<String> = keys
        .iter()
        .map(|k| format!("cast({q} as varchar) as {q}", q = quote(k)))
        .collect();
    let filter = window.map_or(String::new(), |w| format!(" where {}", w.condition()));
    format!("select distinct {} from {stage}{filter}", cols.join(", "))
}

#[cfg(feature = "athena")]
/// Rows of the partitions `values` (one list of values per partition).
pub fn partition_filter(keys: &[String], values: &[Vec<Option<String>>]) -> String {
    let one = |vals: &Vec<Option<String>>| {
        let parts: Vec<String> = keys
            .iter()
            .zip(vals)
            .map(|(k, v)| match v {
                Some(v) => format!("cast({} as varchar) = {}", quote(k), string_literal(v)),
                None => format!("{} is null", quote(k)),
            })
            .collect();
        format!("({})", parts.join(" and "))
    };
    values.iter().map(one).collect::<Vec<_>>().join("\n    or ")
}

#[cfg(feature = "athena")]
/// The rows of one batch of partitions from the stage (the select of the table a batch is
/// built aside in): `columns` in the table's order, its partition columns last.
pub fn partitions_select_sql(
    stage: &str,
    columns: &[String],
    filter: &str,
    window: Option<&Window>,
) -> String {
    let cols = columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let window = window.map_or(String::new(), |w| format!("({}) and ", w.condition()));
    format!("select {cols} from {stage}\nwhere {window}(\n    {filter}\n)")
}

/// The value a matched column takes under `rule`.
fn update_value(column: &str, rule: &MergeRule) -> String {
    let (new, old) = (
        format!("src.{}", quote(column)),
        format!("target.{}", quote(column)),
    );
    match rule {
        MergeRule::Replace => new,
        MergeRule::Coalesce => format!("coalesce({new}, {old})"),
        MergeRule::Sum => format!("{new} + {old}"),
        // (dbt-athena's order: the new array first, then the old one)
        MergeRule::Append => format!("{new} || {old}"),
        MergeRule::AppendDistinct => format!("array_distinct({new} || {old})"),
        MergeRule::Custom(expr) => expr.replace("_new_", &new).replace("_old_", &old),
    }
}

/// Iceberg's `merge into` as dbt-athena writes it (the sides named `target` and `src`, which
/// its conditions and `incremental_predicates` refer to): matched rows deleted where
/// `delete_condition` holds, else updated (the columns `merge_update_columns` or
/// `merge_exclude_columns` leave, each by its rule) where `update_condition` holds; unmatched
/// rows inserted where `insert_condition` holds.
pub fn merge_sql(
    target: &str,
    source: &str,
    unique_key: &[String],
    columns: &[String],
    predicates: &[String],
    options: &MergeOptions,
) -> String {
    let on: Vec<String> = unique_key
        .iter()
        .map(|k| format!("target.{q} = src.{q}", q = quote(k)))
        .chain(predicates.iter().map(|p| format!("({p})")))
        .collect();
    let and = |c: &Option<String>| c.as_ref().map_or(String::new(), |c| format!(" and ({c})"));
    let mut out = format!(
        "merge into {target} as target\nusing {source} as src\non {}",
        on.join(" and ")
    );
    if options.delete_condition.is_some() {
        out.push_str(&format!(
            "\nwhen matched{} then delete",
            and(&options.delete_condition)
        ));
    }
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| options.updates(c, unique_key))
        .map(|c| format!("{} = {}", quote(c), update_value(c, &options.rule_of(c))))
        .collect();
    if !updates.is_empty() {
        out.push_str(&format!(
            "\nwhen matched{} then update set\n    {}",
            and(&options.update_condition),
            updates.join(",\n    ")
        ));
    }
    let cols = columns.iter().map(|c| quote(c)).collect::<Vec<_>>();
    let values = columns
        .iter()
        .map(|c| format!("src.{}", quote(c)))
        .collect::<Vec<_>>();
    out.push_str(&format!(
        "\nwhen not matched{} then insert ({})\n    values ({})",
        and(&options.insert_condition),
        cols.join(", "),
        values.join(", ")
    ));
    out
}

/// Athena's DDL for dropping `drop` from `relation` (`` `schema`.`table` ``): Iceberg drops
/// each column; a Hive table cannot drop one, so its data columns are replaced by `keep`
/// (partition columns are not data columns and stay).
pub fn drop_columns_sql(
    relation: &str,
    drop: &[String],
    keep: &[Column],
    storage: &TableStorage,
) -> Vec<String> {
    if storage.iceberg {
        return drop
            .iter()
            .map(|c| format!("alter table {relation} drop column {}", backtick(c)))
            .collect();
    }
    let data: Vec<String> = keep
        .iter()
        .filter(|c| {
            !storage
                .partitioned_by
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&c.name))
        })
        .map(|c| format!("{} {}", backtick(&c.name), hive_type(&c.data_type)))
        .collect();
    vec![format!(
        "alter table {relation} replace columns ({})",
        data.join(", ")
    )]
}

/// `alter table ... change column` (Hive and Iceberg alike).
pub fn change_column_type_sql(relation: &str, column: &str, data_type: &str) -> String {
    let c = backtick(column);
    format!(
        "alter table {relation} change column {c} {c} {}",
        hive_type(data_type)
    )
}

/// A column name as the Hive DDL engine quotes it.
pub fn backtick(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A type as Athena's Hive DDL spells it: `string` for Trino's unbounded `varchar`, `int`
/// for `integer`.
pub fn hive_type(data_type: &str) -> String {
    super::hive_type(data_type).to_lowercase()
}

#[cfg(feature = "athena")]
/// A `create table ... with (...) as <select>` as kiln writes it
/// ([`super::Adapter::create_table_as_stored_sql`]), read back into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctas {
    pub relation: String,
    pub properties: Vec<String>,
    pub select: String,
}

#[cfg(feature = "athena")]
impl Ctas {
    /// Reads a CTAS kiln wrote; `None` for any other statement.
    pub fn parse(sql: &str) -> Option<Ctas> {
        let rest = sql.strip_prefix("create table ")?;
        let (relation, rest) = rest.split_once("\nwith (\n    ")?;
        let (props, select) = rest.split_once("\n)\nas\n")?;
        Some(Ctas {
            relation: relation.to_string(),
            properties: props.split(",\n    ").map(str::to_string).collect(),
            select: select.to_string(),
        })
    }

    /// The property `name`'s quoted value, unquoted.
    pub fn property(&self, name: &str) -> Option<String> {
        self.properties.iter().find_map(|p| {
            let v = p.strip_prefix(name)?.strip_prefix('=')?;
            Some(v.trim_matches('\'').replace("''", "'"))
        })
    }

    /// The Hive partition columns (`partitioned_by=ARRAY['a', 'b']`).
    pub fn partitioned_by(&self) -> Vec<String> {
        let Some(list) = self
            .properties
            .iter()
            .find_map(|p| p.strip_prefix("partitioned_by=ARRAY["))
        else {
            return vec![];
        };
        list.trim_end_matches(']')
            .split(", ")
            .map(|s| s.trim_matches('\'').replace("''", "'"))
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The same statement with other properties, selecting only the rows `filter` keeps of
    /// the table `from`.
    pub fn with(&self, properties: &[String], select: &str) -> String {
        format!(
            "create table {}\nwith (\n    {}\n)\nas\n{}",
            self.relation,
            properties.join(",\n    "),
            select
        )
    }

    /// dbt-athena's batched CTAS, for a partitioned Hive CTAS that hit the partition limit:
    /// the rows written unpartitioned into `tmp` at `tmp_location` first (one statement; no
    /// partition limit), then the target's CTAS with the first batch of partitions and one
    /// insert per further batch, read from `tmp`.
    pub fn unpartitioned(&self, tmp: &str, tmp_location: &str) -> String {
        let props: Vec<String> = self
            .properties
            .iter()
            .filter(|p| {
                !p.starts_with("partitioned_by=")
                    && !p.starts_with("bucketed_by=")
                    && !p.starts_with("bucket_count=")
                    && !p.starts_with("external_location=")
            })
            .cloned()
            .chain([format!(
                "external_location={}",
                string_literal(tmp_location)
            )])
            .collect();
        format!(
            "create table {tmp}\nwith (\n    {}\n)\nas\n{}",
            props.join(",\n    "),
            self.select
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "athena")]
    #[test]
    fn partition_folders_are_hive_escaped() {
        assert_eq!(escape_path_name("2024-01-01"), "2024-01-01");
        assert_eq!(escape_path_name("a/b=c:d%"), "a%2Fb%3Dc%3Ad%25");
        assert_eq!(escape_path_name("x y"), "x y");
        assert_eq!(
            partition_path(
                &["DT".into(), "region".into()],
                &[Some("2024-01-01".into()), None]
            ),
            "dt=2024-01-01/region=__HIVE_DEFAULT_PARTITION__/"
        );
    }

    #[cfg(feature = "athena")]
    #[test]
    fn overwrite_statements() {
        let keys = vec!["dt".to_string(), "region".to_string()];
        let stage = r#""awsdatacatalog"."analytics"."events__dbt_tmp""#;
        insta::assert_snapshot!(distinct_partitions_sql(stage, &keys, None), @r#"select distinct cast("dt" as varchar) as "dt", cast("region" as varchar) as "region" from "awsdatacatalog"."analytics"."events__dbt_tmp""#);
        let filter = partition_filter(
            &keys,
            &[
                vec![Some("2024-01-01".into()), Some("eu".into())],
                vec![Some("2024-01-02".into()), None],
            ],
        );
        let window = Window {
            column: "at".into(),
            start: "timestamp '2024-01-01 00:00:00'".into(),
            end: "timestamp '2024-01-02 00:00:00'".into(),
        };
        insta::assert_snapshot!(partitions_select_sql(stage, &["id".into(), "dt".into(), "region".into()], &filter, Some(&window)), @r#"
        select "id", "dt", "region" from "awsdatacatalog"."analytics"."events__dbt_tmp"
        where ("at" >= timestamp '2024-01-01 00:00:00' and "at" < timestamp '2024-01-02 00:00:00') and (
            (cast("dt" as varchar) = '2024-01-01' and cast("region" as varchar) = 'eu')
            or (cast("dt" as varchar) = '2024-01-02' and "region" is null)
        )
        "#);
    }

    #[test]
    fn merge_with_every_option() {
        let options = MergeOptions {
            update_condition: Some("src.updated_at > target.updated_at".into()),
            delete_condition: Some("src.deleted".into()),
            insert_condition: Some("not src.deleted".into()),
            update_columns: None,
            exclude_columns: vec!["created_at".into()],
            rules: vec![
                ("visits".into(), MergeRule::Sum),
                ("email".into(), MergeRule::Coalesce),
                ("tags".into(), MergeRule::AppendDistinct),
                ("history".into(), MergeRule::Append),
                (
                    "best".into(),
                    MergeRule::Custom("greatest(_new_, _old_)".into()),
                ),
            ],
            default_rule: None,
        };
        let cols: Vec<String> = [
            "id",
            "email",
            "visits",
            "tags",
            "history",
            "best",
            "created_at",
            "updated_at",
            "deleted",
        ]
        .map(String::from)
        .to_vec();
        insta::assert_snapshot!(merge_sql(
            r#""awsdatacatalog"."analytics"."users""#,
            r#""awsdatacatalog"."analytics"."users__dbt_tmp""#,
            &["id".into()],
            &cols,
            &["target.updated_at > current_date - interval '7' day".into()],
            &options,
        ), @r#"
        merge into "awsdatacatalog"."analytics"."users" as target
        using "awsdatacatalog"."analytics"."users__dbt_tmp" as src
        on target."id" = src."id" and (target.updated_at > current_date - interval '7' day)
        when matched and (src.deleted) then delete
        when matched and (src.updated_at > target.updated_at) then update set
            "email" = coalesce(src."email", target."email"),
            "visits" = src."visits" + target."visits",
            "tags" = array_distinct(src."tags" || target."tags"),
            "history" = src."history" || target."history",
            "best" = greatest(src."best", target."best"),
            "updated_at" = src."updated_at",
            "deleted" = src."deleted"
        when not matched and (not src.deleted) then insert ("id", "email", "visits", "tags", "history", "best", "created_at", "updated_at", "deleted")
            values (src."id", src."email", src."visits", src."tags", src."history", src."best", src."created_at", src."updated_at", src."deleted")
        "#);
        // merge_update_columns and a default rule; keys are never updated
        let only = MergeOptions {
            update_columns: Some(vec!["id".into(), "visits".into(), "email".into()]),
            default_rule: Some(MergeRule::Coalesce),
            rules: vec![("visits".into(), MergeRule::Sum)],
            ..MergeOptions::default()
        };
        insta::assert_snapshot!(merge_sql("t", "s", &["id".into()], &cols[..3], &[], &only), @r#"
        merge into t as target
        using s as src
        on target."id" = src."id"
        when matched then update set
            "email" = coalesce(src."email", target."email"),
            "visits" = src."visits" + target."visits"
        when not matched then insert ("id", "email", "visits")
            values (src."id", src."email", src."visits")
        "#);
    }

    #[test]
    fn schema_changes_in_athena_ddl() {
        let keep = vec![
            Column {
                name: "id".into(),
                data_type: "BIGINT".into(),
                comment: None,
            },
            Column {
                name: "note".into(),
                data_type: "VARCHAR".into(),
                comment: None,
            },
            Column {
                name: "dt".into(),
                data_type: "VARCHAR".into(),
                comment: None,
            },
        ];
        let hive = TableStorage {
            partitioned_by: vec!["dt".into()],
            ..TableStorage::default()
        };
        assert_eq!(
            drop_columns_sql("`analytics`.`events`", &["old".into()], &keep, &hive),
            ["alter table `analytics`.`events` replace columns (`id` bigint, `note` string)"]
        );
        let iceberg = TableStorage {
            iceberg: true,
            ..TableStorage::default()
        };
        assert_eq!(
            drop_columns_sql("`analytics`.`events`", &["old".into()], &keep, &iceberg),
            ["alter table `analytics`.`events` drop column `old`"]
        );
        assert_eq!(
            change_column_type_sql("`analytics`.`events`", "id", "DOUBLE"),
            "alter table `analytics`.`events` change column `id` `id` double"
        );
    }

    #[cfg(feature = "athena")]
    #[test]
    fn a_kiln_ctas_reads_back() {
        let a = super::super::Athena::sample();
        use super::super::Adapter;
        let sql = a.create_table_as_stored_sql(
            r#""awsdatacatalog"."main"."daily__ha""#,
            "select 1 as id, dt from src",
            &TableStorage {
                location: Some("s3://data/warehouse/main/daily/b1/".into()),
                partitioned_by: vec!["dt".into()],
                ..TableStorage::default()
            },
        );
        let ctas = Ctas::parse(&sql).expect("kiln's CTAS");
        assert_eq!(ctas.relation, r#""awsdatacatalog"."main"."daily__ha""#);
        assert_eq!(ctas.partitioned_by(), ["dt"]);
        assert_eq!(
            ctas.property("external_location").as_deref(),
            Some("s3://data/warehouse/main/daily/b1/")
        );
        assert_eq!(ctas.with(&ctas.properties, &ctas.select), sql);
        insta::assert_snapshot!(ctas.unpartitioned(r#""awsdatacatalog"."main"."daily__dbt_tmp""#, "s3://data/warehouse/main/daily/b1-tmp/"), @r#"
        create table "awsdatacatalog"."main"."daily__dbt_tmp"
        with (
            table_type='hive',
            format='parquet',
            external_location='s3://data/warehouse/main/daily/b1-tmp/'
        )
        as
        select 1 as id, dt from src
        "#);
        assert_eq!(Ctas::parse("insert into t select 1"), None);
    }
}
