//! AWS Athena (Trino engine, Hive and Iceberg tables over S3, the Glue Data Catalog).
//!
//! What Athena lacks shows in its capabilities: no transactions, no `rename` of a Hive table,
//! no temporary tables, no `comment on`. What it has instead is
//! [`Adapter::supports_catalog_publish`]: a table is files under an S3 location, built aside
//! under a fresh location (`s3_data_naming`, dbt-athena's five modes) and published by one Glue
//! update, its previous files deleted after that, only inside the folder kiln owns for it.
//!
//! Relations are named `"catalog"."schema"."table"` (Trino); the few statements Athena runs on
//! its Hive DDL engine (`alter table ... add columns`, `drop table`) name them
//! `` `schema`.`table` ``. Statements run through the AWS SDK (`aws/`, cargo feature `athena`):
//! started with kiln's own idempotency token, polled at `poll_interval`, throttling retried
//! within `num_retries`, a FAILED query an error naming the query id and Athena's reason; the
//! catalog is read from Glue, never `information_schema`.

use super::registry::InitField;
use super::storage::TableStorage;
use super::{Adapter, Connection, ConnectionCheck, DbError, TableLocation, string_literal};
use crate::project::profiles::{FieldError, TargetDefaults, TargetFields};
use serde::Deserialize;
use serde_json::{Map, Value};

#[cfg(feature = "athena")]
#[path = "athena_conn.rs"]
mod conn;
#[path = "athena_incremental.rs"]
mod incremental;

#[cfg(feature = "athena")]
#[path = "athena_catalog.rs"]
mod catalog;

/// A `type: athena` target of profiles.yml (dbt-athena's settings; the credential, role and
/// retry fields are read with the AWS settings, `aws::AwsSettings::from_target`).
#[derive(Debug, Clone, Deserialize)]
pub struct AthenaTarget {
    pub s3_staging_dir: String,
    #[serde(default)]
    pub s3_data_dir: Option<String>,
    #[serde(default)]
    pub s3_data_naming: Option<String>,
    #[serde(default)]
    pub s3_tmp_table_dir: Option<String>,
    pub region_name: String,
    #[serde(default = "default_catalog", alias = "catalog")]
    pub database: String,
    pub schema: String,
    #[serde(default)]
    pub work_group: Option<String>,
    #[serde(default)]
    pub aws_profile_name: Option<String>,
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default)]
    pub num_retries: Option<u32>,
    #[serde(default)]
    pub poll_interval: Option<f64>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

/// What `kiln init --adapter athena` asks for (or takes as `--field key=value`).
pub const INIT_FIELDS: &[InitField] = &[
    InitField {
        key: "region_name",
        prompt: "AWS region (e.g. eu-west-1)",
        default: None,
    },
    InitField {
        key: "s3_staging_dir",
        prompt: "S3 folder for query results (s3://bucket/prefix/)",
        default: None,
    },
    InitField {
        key: "s3_data_dir",
        prompt: "S3 folder for tables (empty: <s3_staging_dir>/tables)",
        default: Some(""),
    },
    InitField {
        key: "database",
        prompt: "data catalog",
        default: Some("awsdatacatalog"),
    },
    InitField {
        key: "schema",
        prompt: "Glue database the models go to",
        default: None,
    },
    InitField {
        key: "work_group",
        prompt: "Athena work group",
        default: Some("primary"),
    },
    InitField {
        key: "threads",
        prompt: "threads",
        default: Some("4"),
    },
];

fn default_catalog() -> String {
    "awsdatacatalog".into()
}

/// dbt-athena's `s3_data_naming` modes.
const NAMINGS: [&str; 5] = [
    "unique",
    "table",
    "table_unique",
    "schema_table",
    "schema_table_unique",
];

impl AthenaTarget {
    /// Reads a target's fields.
    pub fn read(fields: &Map<String, Value>) -> Result<Self, FieldError> {
        let t: AthenaTarget =
            serde_json::from_value(Value::Object(fields.clone())).map_err(|e| FieldError {
                message: e.to_string(),
                required: "athena targets need s3_staging_dir, region_name and schema",
            })?;
        if let Some(n) = &t.s3_data_naming
            && !NAMINGS.contains(&n.as_str())
        {
            return Err(FieldError {
                message: format!("s3_data_naming '{n}' is not one of {}", NAMINGS.join(", ")),
                required: "s3_data_naming takes unique, table, table_unique, schema_table or schema_table_unique (the default)",
            });
        }
        for (name, dir) in [
            ("s3_staging_dir", Some(&t.s3_staging_dir)),
            ("s3_data_dir", t.s3_data_dir.as_ref()),
            ("s3_tmp_table_dir", t.s3_tmp_table_dir.as_ref()),
        ] {
            if let Some(dir) = dir
                && !dir.starts_with("s3://")
            {
                return Err(FieldError {
                    message: format!("{name} '{dir}' is not an S3 location"),
                    required: "S3 locations are written s3://bucket/path/",
                });
            }
        }
        Ok(t)
    }

    /// The folder tables go under: `s3_data_dir`, else `<s3_staging_dir>/tables` (dbt-athena).
    fn data_root(&self) -> String {
        match &self.s3_data_dir {
            Some(d) => d.trim_end_matches('/').to_string(),
            None => format!("{}/tables", self.s3_staging_dir.trim_end_matches('/')),
        }
    }
}

#[derive(Debug, Default)]
pub struct Athena {
    target: Option<AthenaTarget>,
    #[cfg(feature = "athena")]
    live: Option<conn::Live>,
}

impl Athena {
    /// The adapter of a `type: athena` target (the registry's constructor).
    pub fn from_profile(target: TargetFields<'_>) -> Result<Self, FieldError> {
        let read = AthenaTarget::read(target.fields)?;
        Ok(Athena {
            #[cfg(feature = "athena")]
            live: Some(conn::Live::new(target.fields)?),
            target: Some(read),
        })
    }

    /// An adapter for a sample target (`s3://data/warehouse`, schema `main`), for tests of
    /// the SQL and plans it makes; it connects nowhere.
    pub fn sample() -> Self {
        let mut fields = Map::new();
        for (k, v) in [
            ("type", "athena"),
            ("region_name", "us-east-1"),
            ("s3_staging_dir", "s3://results/staging/"),
            ("s3_data_dir", "s3://data/warehouse/"),
            ("schema", "main"),
        ] {
            fields.insert(k.into(), Value::from(v));
        }
        Athena {
            target: AthenaTarget::read(&fields).ok(),
            #[cfg(feature = "athena")]
            live: None,
        }
    }
}

/// `"catalog"."schema"."table"` as the Hive DDL engine names it: `` `schema`.`table` ``.
pub fn hive_name(relation: &str) -> String {
    let parts = quoted_parts(relation);
    let n = parts.len();
    parts[n.saturating_sub(2)..]
        .iter()
        .map(|p| format!("`{}`", p.replace('`', "``")))
        .collect::<Vec<_>>()
        .join(".")
}

/// A type as Athena's Hive DDL names it, from Trino's name (what a query's result says):
/// `varchar`/`varchar(n)`/`char(n)` are `string`, `integer` is `int`, `timestamp(p)` is
/// `timestamp`; Hive's own names are unchanged.
pub fn hive_type(data_type: &str) -> String {
    let t = data_type.trim();
    let lower = t.to_ascii_lowercase();
    let base = lower.split('(').next().unwrap_or("").trim();
    match base {
        "varchar" | "char" => "string".into(),
        "integer" => "int".into(),
        "timestamp" => "timestamp".into(),
        "real" => "float".into(),
        _ => t.to_string(),
    }
}

/// A type as Trino names it, from Hive's name (what Glue holds): the inverse of [`hive_type`]
/// for the types whose names differ; anything else as written.
pub fn trino_type(data_type: &str) -> String {
    let t = data_type.trim();
    let mut out = String::with_capacity(t.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let w = std::mem::take(word);
        out.push_str(match w.to_ascii_lowercase().as_str() {
            "string" => "varchar",
            "int" => "integer",
            "float" => "real",
            "struct" => "row",
            _ => &w,
        });
    };
    for c in t.chars() {
        match c {
            c if c.is_ascii_alphanumeric() || c == '_' => word.push(c),
            '<' => {
                flush(&mut word, &mut out);
                out.push('(');
            }
            '>' => {
                flush(&mut word, &mut out);
                out.push(')');
            }
            ':' => {
                flush(&mut word, &mut out);
                out.push(' ');
            }
            c => {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The parts of a relation name rendered with double quotes (or bare).
fn quoted_parts(relation: &str) -> Vec<String> {
    let mut parts = vec![];
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = relation.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            '.' if !in_quotes => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

impl Adapter for Athena {
    fn adapter_type(&self) -> &'static str {
        "athena"
    }

    fn target_defaults(&self) -> TargetDefaults {
        match &self.target {
            Some(t) => TargetDefaults {
                database: t.database.clone(),
                schema: t.schema.clone(),
                threads: t.threads,
                details: vec![format!(
                    "athena region: {}  work group: {}  staging: {}",
                    t.region_name,
                    t.work_group.as_deref().unwrap_or("primary"),
                    t.s3_staging_dir
                )],
            },
            None => TargetDefaults {
                database: default_catalog(),
                schema: String::new(),
                threads: None,
                details: vec![],
            },
        }
    }

    fn dispatch_prefixes(&self) -> &'static [&'static str] {
        &["athena", "default"]
    }

    /// Athena runs Trino's SQL, and sqlparser has no Trino (or Presto) dialect. `GenericDialect`
    /// is the closest: it reads everything `AnsiDialect` reads plus ANSI features Trino has and
    /// `AnsiDialect` lacks (`count(*) filter (where ...)`, `grouping sets`, checked with sqlparser
    /// 0.62), and Trino's own syntax kiln emits or dbt-athena users write (lambdas `x -> x + 1`,
    /// `array[...]`, `row(...)`, `try_cast`, `unnest ... with ordinality`, `create table ... with
    /// (format = ...)`). Being permissive suits what kiln parses for (placing CTEs, checking SQL
    /// prints back); neither dialect reads Trino's `cast(x as array(varchar))` type syntax.
    fn sql_dialect(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::GenericDialect {})
    }

    /// Hive tables cannot be renamed in Athena; kiln publishes through Glue instead.
    fn supports_rename(&self) -> bool {
        false
    }

    fn supports_temporary_tables(&self) -> bool {
        false
    }

    /// catalog.json from Glue (`GetTables` per schema, `athena_catalog.rs`), when kiln can
    /// connect (its `athena` feature).
    fn supports_catalog(&self) -> bool {
        self.can_execute()
    }

    /// No binder: the lineage reads upstream relations' columns from Glue, one `GetTables`
    /// listing per schema.
    fn lineage_reads_catalog(&self) -> bool {
        true
    }

    fn supports_catalog_publish(&self) -> bool {
        true
    }

    /// dbt-athena's CTAS: `with (...)` properties for Hive (`external_location`,
    /// `partitioned_by`, `bucketed_by`) or Iceberg (`table_type='iceberg'`, `location`,
    /// `partitioning`), Parquet unless `format` says otherwise.
    fn create_table_as_stored_sql(&self, relation: &str, sql: &str, st: &TableStorage) -> String {
        let list = |items: &[String]| {
            items
                .iter()
                .map(|i| string_literal(i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut props = vec![];
        if st.iceberg {
            props.push("table_type='iceberg'".to_string());
            props.push("is_external=false".to_string());
            if let Some(l) = &st.location {
                props.push(format!("location={}", string_literal(l)));
            }
            if !st.partitioned_by.is_empty() {
                props.push(format!("partitioning=ARRAY[{}]", list(&st.partitioned_by)));
            }
        } else {
            props.push("table_type='hive'".to_string());
            if let Some(l) = &st.location {
                props.push(format!("external_location={}", string_literal(l)));
            }
            if !st.partitioned_by.is_empty() {
                props.push(format!(
                    "partitioned_by=ARRAY[{}]",
                    list(&st.partitioned_by)
                ));
            }
            if !st.bucketed_by.is_empty() {
                props.push(format!("bucketed_by=ARRAY[{}]", list(&st.bucketed_by)));
                props.push(format!("bucket_count={}", st.bucket_count.unwrap_or(1)));
            }
        }
        props.push(format!(
            "format={}",
            string_literal(st.format.as_deref().unwrap_or("parquet"))
        ));
        if let Some(c) = &st.write_compression {
            props.push(format!("write_compression={}", string_literal(c)));
        }
        if let Some(d) = &st.field_delimiter {
            props.push(format!("field_delimiter={}", string_literal(d)));
        }
        for (k, v) in &st.table_properties {
            props.push(format!("{k}={v}"));
        }
        format!(
            "create table {relation}\nwith (\n    {}\n)\nas\n{}",
            props.join(",\n    "),
            sql.trim()
        )
    }

    fn create_table_as_sql(&self, relation: &str, sql: &str) -> String {
        self.create_table_as_stored_sql(relation, sql, &TableStorage::default())
    }

    /// Without the parentheses of the ANSI form: Trino's grammar takes a parenthesised query
    /// only without a `with` clause, so `as (with ...)` is a syntax error on Athena (a model
    /// starting with CTEs is the usual kind).
    fn create_view_sql(&self, relation: &str, sql: &str) -> String {
        format!("create view {relation} as\n{}", sql.trim())
    }

    fn replace_view_sql(&self, relation: &str, sql: &str) -> String {
        format!("create or replace view {relation} as\n{}", sql.trim())
    }

    /// dbt-athena's `s3_data_naming`, under `s3_data_dir` (else `<s3_staging_dir>/tables`).
    /// The folder kiln owns is the table's own (`.../schema/table/` or `.../table/`); with
    /// `unique` naming every build is a folder of its own directly under the root, so only
    /// that build's folder is owned (an old build's files are then left in place).
    fn table_location(&self, schema: &str, identifier: &str, build: &str) -> Option<TableLocation> {
        let t = self.target.as_ref()?;
        let root = t.data_root();
        let (owned, unique) = match t.s3_data_naming.as_deref().unwrap_or("schema_table_unique") {
            "unique" => (format!("{root}/{build}/"), true),
            "table" => (format!("{root}/{identifier}/"), false),
            "table_unique" => (format!("{root}/{identifier}/"), true),
            "schema_table" => (format!("{root}/{schema}/{identifier}/"), false),
            _ => (format!("{root}/{schema}/{identifier}/"), true),
        };
        let location = match (unique, t.s3_data_naming.as_deref()) {
            (true, Some("unique")) | (false, _) => owned.clone(),
            (true, _) => format!("{owned}{build}/"),
        };
        let shared = !t
            .s3_data_naming
            .as_deref()
            .unwrap_or("schema_table_unique")
            .starts_with("schema_");
        Some(TableLocation {
            location,
            owned,
            unique,
            shared,
        })
    }

    /// Views by Trino's DDL; tables by the Hive DDL engine (which leaves their files: plans
    /// drop tables through Glue and S3, [`super::StorageCall::Drop`]).
    fn drop_relation_sql(&self, kind: super::RelationKind, relation: &str) -> String {
        match kind {
            super::RelationKind::View => format!("drop view if exists {relation}"),
            super::RelationKind::Table => format!("drop table if exists {}", hive_name(relation)),
        }
    }

    fn drop_table_sql(&self, relation: &str) -> String {
        format!("drop table {}", hive_name(relation))
    }

    /// Hive DDL: `alter table ... add columns (...)`, the type in Hive's names (a type read
    /// from a query's result is Trino's: `varchar` is `string`, `timestamp(3)` `timestamp`).
    fn add_column_sql(&self, relation: &str, column: &str, data_type: &str) -> String {
        format!(
            "alter table {} add columns ({} {})",
            hive_name(relation),
            incremental::backtick(column),
            incremental::hive_type(data_type)
        )
    }

    /// Hive DDL's `change column` (Hive and Iceberg tables alike).
    fn alter_column_type_sql(&self, relation: &str, column: &str, data_type: &str) -> String {
        incremental::change_column_type_sql(&hive_name(relation), column, data_type)
    }

    fn drop_column_sql(&self, relation: &str, column: &str) -> String {
        format!(
            "alter table {} drop column {}",
            hive_name(relation),
            incremental::backtick(column)
        )
    }

    /// Iceberg drops columns; a Hive table's data columns are replaced by those it keeps.
    fn drop_columns_sql(
        &self,
        relation: &str,
        drop: &[String],
        keep: &[super::Column],
        storage: &TableStorage,
    ) -> Vec<String> {
        incremental::drop_columns_sql(&hive_name(relation), drop, keep, storage)
    }

    /// delete+insert's delete (Iceberg tables only, refused at plan time on Hive). Trino's
    /// `delete` takes no alias, so the rows are matched by key tuple, and a predicate written
    /// against `DBT_INTERNAL_DEST` (dbt's name for the target) names the table itself.
    fn delete_matching_sql(
        &self,
        target: &str,
        source: &str,
        unique_key: &[String],
        predicates: &[String],
    ) -> String {
        let keys = unique_key
            .iter()
            .map(|k| self.quote(k))
            .collect::<Vec<_>>()
            .join(", ");
        let dest = regex::Regex::new(r"(?i)\bDBT_INTERNAL_DEST\b").ok();
        let extra: String = predicates
            .iter()
            .map(|p| {
                let p = match &dest {
                    Some(re) => re.replace_all(p, target.replace('$', "$$")).into_owned(),
                    None => p.clone(),
                };
                format!(" and ({p})")
            })
            .collect();
        format!("delete from {target} where ({keys}) in (select {keys} from {source}){extra}")
    }

    /// Iceberg's `merge into` with dbt-athena's options (`update_condition`,
    /// `delete_condition`, `insert_condition`, `merge_update_columns`/`merge_exclude_columns`,
    /// per-column rules); the two sides are named `target` and `src`, as dbt-athena names them.
    fn merge_sql(
        &self,
        target: &str,
        source: &str,
        unique_key: &[String],
        columns: &[String],
        predicates: &[String],
    ) -> String {
        incremental::merge_sql(
            target,
            source,
            unique_key,
            columns,
            predicates,
            &Default::default(),
        )
    }

    fn merge_options_sql(
        &self,
        target: &str,
        source: &str,
        unique_key: &[String],
        columns: &[String],
        predicates: &[String],
        options: &crate::project::settings::incremental::MergeOptions,
    ) -> String {
        incremental::merge_sql(target, source, unique_key, columns, predicates, options)
    }

    /// Athena's Iceberg tables hold timestamps to the microsecond (`timestamp(6)`); Trino's
    /// `localtimestamp` and a Hive table's timestamps are `timestamp(3)`, which an Iceberg
    /// `create table as` refuses.
    fn snapshot_time_sql(&self, expr: &str) -> String {
        format!("cast({expr} as timestamp(6))")
    }

    /// Reads the seed's CSV in Rust (Athena reads files only through a table): the rows and
    /// each column's type by dbt's inference rules ([`super::csv`]), in Athena's names, or as
    /// `column_types` declares it. The rows reach Athena through the file, uploaded next to
    /// the seed's table (`csv_table_sql`), so `select_sql` is empty.
    fn load_csv(
        &self,
        _conn: &mut dyn Connection,
        csv: &super::csv::CsvFile<'_>,
    ) -> Result<super::csv::CsvTable, String> {
        use super::csv::{CsvColumn, CsvTable, SeedType, classify, records};
        let text = std::fs::read_to_string(csv.path)
            .map_err(|e| format!("cannot read {}: {e}", csv.path.display()))?;
        let rows = records(&text, csv.delimiter)?;
        let mut masks = vec![0i64; csv.names.len()];
        for (i, row) in rows.iter().enumerate().skip(1) {
            if row.len() != csv.names.len() {
                return Err(format!(
                    "record {} has {} fields, the header {}",
                    i + 1,
                    row.len(),
                    csv.names.len()
                ));
            }
            for (m, v) in masks.iter_mut().zip(row) {
                *m |= classify(v);
            }
        }
        let columns = masks
            .iter()
            .zip(csv.declared)
            .map(|(mask, declared)| {
                let t = SeedType::from_classes(*mask);
                let (data_type, declared) = match declared {
                    Some(d) => (d.clone(), true),
                    None => (
                        match t {
                            SeedType::Integer => "integer",
                            SeedType::BigInt => "bigint",
                            SeedType::HugeInt => "decimal(38,0)",
                            SeedType::Double => "double",
                            SeedType::Date => "date",
                            SeedType::Timestamp => "timestamp",
                            SeedType::Boolean => "boolean",
                            SeedType::Varchar => "varchar",
                        }
                        .to_string(),
                        false,
                    ),
                };
                CsvColumn {
                    trim: !data_type.eq_ignore_ascii_case("varchar"),
                    data_type,
                    declared,
                    unconvertible: None,
                }
            })
            .collect();
        Ok(CsvTable {
            rows: rows.len().saturating_sub(1) as u64,
            columns,
            select_sql: String::new(),
        })
    }

    /// dbt-athena's seed table: an external table of strings over the uploaded CSV
    /// (OpenCSVSerde, the header line skipped).
    fn csv_table_sql(
        &self,
        relation: &str,
        columns: &[String],
        location: &str,
        delimiter: char,
    ) -> Option<String> {
        let cols: Vec<String> = columns
            .iter()
            .map(|c| format!("`{}` string", c.replace('`', "``")))
            .collect();
        Some(format!(
            "create external table {} ({})\nrow format serde 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\nwith serdeproperties ('separatorChar'={}, 'quoteChar'='\"', 'escapeChar'='\\\\')\nlocation {}\ntblproperties ('skip.header.line.count'='1')",
            hive_name(relation),
            cols.join(", "),
            string_literal(&delimiter.to_string()),
            string_literal(location)
        ))
    }

    /// Trino's `md5` takes and returns varbinary.
    fn hash_sql(&self, expr: &str) -> String {
        format!("lower(to_hex(md5(to_utf8({expr}))))")
    }

    fn epoch_seconds_sql(&self, expr: &str) -> String {
        format!("to_unixtime({expr})")
    }

    /// Trino has no `string` type: dbt's `string` is `varchar`; the other Hive names Glue
    /// gives columns are spelled as Trino spells them (`int` is `integer`, `float` is `real`,
    /// `array<string>` is `array(varchar)`, `struct<a:int>` is `row(a integer)`).
    fn translate_type(&self, data_type: &str) -> String {
        trino_type(data_type)
    }

    /// A fixture as Trino's `values`: one row per fixture row, every value cast to its
    /// column's type, the columns named by the alias list.
    fn fixture_rows_sql(
        &self,
        columns: &[String],
        types: &[String],
        rows: &[Vec<String>],
    ) -> String {
        let rows: Vec<String> = rows
            .iter()
            .map(|row| {
                let values: Vec<String> = row
                    .iter()
                    .zip(types)
                    .map(|(v, t)| self.cast_sql(v, t))
                    .collect();
                format!("({})", values.join(", "))
            })
            .collect();
        format!(
            "select * from (\n    values\n    {}\n) as kiln_fixture ({})",
            rows.join(",\n    "),
            columns.join(", ")
        )
    }

    fn can_execute(&self) -> bool {
        #[cfg(feature = "athena")]
        {
            self.live.is_some()
        }
        #[cfg(not(feature = "athena"))]
        {
            false
        }
    }

    fn connection_test(&self) -> Vec<ConnectionCheck> {
        #[cfg(feature = "athena")]
        if let Some(live) = &self.live {
            return live.connection_test();
        }
        vec![ConnectionCheck::fail(
            "connection",
            "this kiln was built without its `athena` feature; build it with the default features (`cargo build`) to connect to Athena",
        )]
    }

    fn connect(&self) -> Result<Box<dyn Connection>, DbError> {
        #[cfg(feature = "athena")]
        if let (Some(live), Some(t)) = (&self.live, &self.target) {
            return live.connect(t);
        }
        Err(DbError::open(
            "kiln cannot run against Athena without its `athena` cargo feature (on by default): it compiles for Athena (`kiln compile --target <athena target>`)",
        ))
    }

    fn clear_cancel(&self) {
        #[cfg(feature = "athena")]
        if let Some(live) = &self.live {
            live.clear_cancel();
        }
    }

    fn cancel_all(&self) {
        #[cfg(feature = "athena")]
        if let Some(live) = &self.live {
            live.cancel_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_naming(naming: &str) -> Athena {
        let mut a = Athena::sample();
        if let Some(t) = a.target.as_mut() {
            t.s3_data_naming = Some(naming.into());
        }
        a
    }

    #[test]
    fn locations_follow_s3_data_naming() {
        let loc = |naming: &str| {
            let l = with_naming(naming)
                .table_location("analytics", "orders", "b1")
                .expect("a target");
            (l.location, l.owned, l.unique)
        };
        let root = "s3://data/warehouse";
        assert_eq!(
            loc("schema_table_unique"),
            (
                format!("{root}/analytics/orders/b1/"),
                format!("{root}/analytics/orders/"),
                true
            )
        );
        assert_eq!(
            loc("table_unique"),
            (
                format!("{root}/orders/b1/"),
                format!("{root}/orders/"),
                true
            )
        );
        assert_eq!(
            loc("schema_table"),
            (
                format!("{root}/analytics/orders/"),
                format!("{root}/analytics/orders/"),
                false
            )
        );
        assert_eq!(
            loc("table"),
            (format!("{root}/orders/"), format!("{root}/orders/"), false)
        );
        assert_eq!(
            loc("unique"),
            (format!("{root}/b1/"), format!("{root}/b1/"), true)
        );
        // only a folder per schema and table holds no other relation's files
        let shared = |naming: &str| {
            with_naming(naming)
                .table_location("analytics", "orders", "b1")
                .map(|l| l.shared)
        };
        for (naming, want) in [
            ("schema_table_unique", false),
            ("schema_table", false),
            ("table_unique", true),
            ("table", true),
            ("unique", true),
        ] {
            assert_eq!(shared(naming), Some(want), "{naming}");
        }
        // the default is dbt-athena's profile default, schema_table_unique
        assert_eq!(
            Athena::sample()
                .table_location("s", "t", "b")
                .map(|l| l.location),
            Some(format!("{root}/s/t/b/"))
        );
        // without s3_data_dir, tables go under the staging dir's tables/
        let mut a = Athena::sample();
        if let Some(t) = a.target.as_mut() {
            t.s3_data_dir = None;
        }
        assert_eq!(
            a.table_location("s", "t", "b").map(|l| l.owned),
            Some("s3://results/staging/tables/s/t/".into())
        );
    }

    #[test]
    fn a_bad_naming_or_location_is_a_field_error() {
        let mut fields = Map::new();
        for (k, v) in [
            ("region_name", "us-east-1"),
            ("s3_staging_dir", "s3://results/"),
            ("schema", "main"),
            ("s3_data_naming", "schema_only"),
        ] {
            fields.insert(k.into(), Value::from(v));
        }
        let e = AthenaTarget::read(&fields).expect_err("bad naming");
        assert!(e.message.contains("'schema_only'"), "{}", e.message);
        fields.insert("s3_data_naming".into(), Value::from("table"));
        fields.insert("s3_data_dir".into(), Value::from("/tmp/data"));
        let e = AthenaTarget::read(&fields).expect_err("bad location");
        assert_eq!(e.message, "s3_data_dir '/tmp/data' is not an S3 location");
    }

    #[test]
    fn ctas_properties_for_hive_and_iceberg() {
        let a = Athena::sample();
        let hive = TableStorage {
            location: Some("s3://data/warehouse/main/orders/b1/".into()),
            partitioned_by: vec!["dt".into()],
            bucketed_by: vec!["id".into()],
            bucket_count: Some(4),
            write_compression: Some("snappy".into()),
            ..TableStorage::default()
        };
        insta::assert_snapshot!(a.create_table_as_stored_sql(r#""awsdatacatalog"."main"."orders""#, "select 1 as id, '2024-01-01' as dt", &hive), @r#"
        create table "awsdatacatalog"."main"."orders"
        with (
            table_type='hive',
            external_location='s3://data/warehouse/main/orders/b1/',
            partitioned_by=ARRAY['dt'],
            bucketed_by=ARRAY['id'],
            bucket_count=4,
            format='parquet',
            write_compression='snappy'
        )
        as
        select 1 as id, '2024-01-01' as dt
        "#);
        let iceberg = TableStorage {
            location: Some("s3://data/warehouse/main/orders/b1/".into()),
            iceberg: true,
            partitioned_by: vec!["day(ts)".into(), "bucket(id, 16)".into()],
            table_properties: vec![("optimize_rewrite_delete_file_threshold".into(), "2".into())],
            ..TableStorage::default()
        };
        insta::assert_snapshot!(a.create_table_as_stored_sql(r#""awsdatacatalog"."main"."orders""#, "select 1 as id", &iceberg), @r#"
        create table "awsdatacatalog"."main"."orders"
        with (
            table_type='iceberg',
            is_external=false,
            location='s3://data/warehouse/main/orders/b1/',
            partitioning=ARRAY['day(ts)', 'bucket(id, 16)'],
            format='parquet',
            optimize_rewrite_delete_file_threshold=2
        )
        as
        select 1 as id
        "#);
    }

    #[test]
    fn glue_types_are_spelled_as_trino_spells_them() {
        for (hive, trino) in [
            ("string", "varchar"),
            ("int", "integer"),
            ("bigint", "bigint"),
            ("float", "real"),
            ("decimal(10,2)", "decimal(10,2)"),
            ("timestamp", "timestamp"),
            ("array<string>", "array(varchar)"),
            ("map<string,int>", "map(varchar,integer)"),
            (
                "struct<a:int,b:array<string>>",
                "row(a integer,b array(varchar))",
            ),
            ("VARCHAR", "VARCHAR"),
        ] {
            assert_eq!(trino_type(hive), trino, "{hive}");
        }
        for (trino, hive) in [
            ("varchar", "string"),
            ("VARCHAR", "string"),
            ("varchar(20)", "string"),
            ("integer", "int"),
            ("timestamp(3)", "timestamp"),
            ("double", "double"),
        ] {
            assert_eq!(hive_type(trino), hive, "{trino}");
        }
        let a = Athena::sample();
        insta::assert_snapshot!(a.fixture_rows_sql(
            &["\"id\"".into(), "\"name\"".into()],
            &["integer".into(), "varchar".into()],
            &[vec!["1".into(), "'a'".into()], vec!["2".into(), "null".into()]],
        ), @r#"
        select * from (
            values
            (cast(1 as integer), cast('a' as varchar)),
            (cast(2 as integer), cast(null as varchar))
        ) as kiln_fixture ("id", "name")
        "#);
    }

    #[test]
    fn hive_ddl_names_relations_with_backticks() {
        assert_eq!(
            hive_name(r#""awsdatacatalog"."main"."orders""#),
            "`main`.`orders`"
        );
        assert_eq!(hive_name(r#""main"."odd""name""#), "`main`.`odd\"name`");
        let a = Athena::sample();
        assert_eq!(
            a.add_column_sql(r#""awsdatacatalog"."main"."orders""#, "note", "varchar"),
            "alter table `main`.`orders` add columns (`note` string)"
        );
        assert_eq!(
            a.drop_relation_sql(
                crate::adapter::RelationKind::View,
                r#""awsdatacatalog"."main"."v""#
            ),
            r#"drop view if exists "awsdatacatalog"."main"."v""#
        );
    }
}
