//! Seeds: a CSV file loaded into a table by the engine's own CSV reader, never row by row.
//!
//! [`load`] reads the configuration ([`config`]) and the header ([`header`]: the first CSV record,
//! in Rust, names exactly as written), then asks the adapter to read the file
//! ([`crate::adapter::Adapter::load_csv`]: DuckDB infers the column types in one vectorised pass
//! over the file, and checks the `column_types` declared, see [`crate::adapter::csv`] for the
//! rules). It returns a [`Plan`] ([`seed_plan`]) that creates the table under a temporary name with
//! the final types, fills it with the engine's query over the file, and swaps it in place of the
//! previous relation ([`super::swap_in_steps`]). The runner executes the plan.
//!
//! Config: `column_types` (declared types win, column names matched case-insensitively),
//! `quote_columns` (names that are not plain identifiers, or are the engine's keywords, are
//! quoted regardless), `delimiter` (one character, default `,`). A seed is always rebuilt and
//! swapped in, which is what dbt does under `--full-refresh`; without it dbt truncates and
//! re-inserts into the old table, keeping its column types, and fails when the CSV's columns
//! changed. kiln never needs the flag: the swap is atomic and the new table always has the CSV's
//! current columns and types.

pub mod config;
pub mod header;

pub use config::SeedConfig;
pub use header::{header_names, read_header};

use super::{Plan, RelationTarget, TMP_SUFFIX, swap_in_steps};
use crate::adapter::csv::CsvFile;
use crate::adapter::{Adapter, Connection, DbError, RelationKind, string_literal};
use crate::project::Node;
use std::path::{Path, PathBuf};

/// One column of the seed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedColumn {
    /// The name from the CSV header.
    pub name: String,
    /// The type in the DDL: inferred (`INTEGER`, ...) or as written in `column_types`.
    pub data_type: String,
    /// Whether the type comes from `column_types`.
    pub declared: bool,
    /// Whether the name is quoted in the DDL.
    pub quoted: bool,
    /// Whether the value is trimmed before the cast (false for text, which is kept as written).
    pub trim: bool,
}

impl SeedColumn {
    /// The name as it appears in SQL.
    pub fn sql_name(&self, adapter: &dyn Adapter) -> String {
        if self.quoted {
            adapter.quote(&self.name)
        } else {
            self.name.clone()
        }
    }
}

/// What [`load`] found: the plan for the runner and the table's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedLoad {
    pub plan: Plan,
    pub columns: Vec<SeedColumn>,
    /// The number of data rows in the CSV.
    pub rows: u64,
    /// Config that had no effect (a `column_types` entry naming no column), for the runner to
    /// show as warnings.
    pub warnings: Vec<String>,
}

impl SeedLoad {
    /// dbt's status line for the load: `CREATE 42` on a full refresh, `INSERT 42` otherwise.
    pub fn status(&self, full_refresh: bool) -> String {
        let code = if full_refresh { "CREATE" } else { "INSERT" };
        format!("{code} {}", self.rows)
    }
}

/// The CSV file of a seed, absolute (a relative `node.file` is taken from the working directory).
pub fn seed_path(node: &Node) -> PathBuf {
    if node.file.is_absolute() {
        node.file.clone()
    } else {
        std::path::absolute(&node.file).unwrap_or_else(|_| node.file.clone())
    }
}

/// Reads the seed's CSV (at [`seed_path`]), has the engine read its column types, and returns
/// the plan that builds the table. `existing` is the relation the seed replaces, if any.
pub fn load(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    node: &Node,
    existing: Option<RelationKind>,
) -> Result<SeedLoad, DbError> {
    load_file(conn, adapter, node, &seed_path(node), existing)
}

/// The seed's columns as the engine would type them (its CSV header, `column_types`, and the
/// engine's inference over the values), without planning a load: what the column lineage reads
/// on an engine without a binder, whose `load_csv` reads the file in Rust (Athena).
pub fn columns(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    node: &Node,
    path: &Path,
) -> Result<Vec<(String, String)>, DbError> {
    let (_, names, table) = read_typed(conn, adapter, node, path)?;
    Ok(names
        .into_iter()
        .zip(table.columns)
        .map(|(n, c)| (n, c.data_type))
        .collect())
}

/// The seed's config, its CSV header and the engine's reading of the file (types, rows), with
/// errors naming the seed's file.
fn read_typed(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    node: &Node,
    path: &Path,
) -> Result<(SeedConfig, Vec<String>, crate::adapter::csv::CsvTable), DbError> {
    let file = &node.original_file_path;
    let fail = |msg: String| DbError::query(format!("seed {file}: {msg}"));
    let cfg = SeedConfig::of(node).map_err(fail)?;
    let names = read_header(path, cfg.delimiter).map_err(fail)?;
    let declared: Vec<Option<String>> = names
        .iter()
        .map(|n| cfg.declared_type(n).map(String::from))
        .collect();
    let table = adapter
        .load_csv(
            conn,
            &CsvFile {
                path,
                delimiter: cfg.delimiter,
                names: &names,
                declared: &declared,
            },
        )
        .map_err(fail)?;
    Ok((cfg, names, table))
}

/// [`load`] with the CSV file given.
pub fn load_file(
    conn: &mut dyn Connection,
    adapter: &dyn Adapter,
    node: &Node,
    path: &Path,
    existing: Option<RelationKind>,
) -> Result<SeedLoad, DbError> {
    let (cfg, names, table) = read_typed(conn, adapter, node, path)?;
    let file = &node.original_file_path;
    let fail = |msg: String| DbError::query(format!("seed {file}: {msg}"));

    let mut problems = vec![];
    let mut columns = Vec::with_capacity(names.len());
    for (name, c) in names.iter().zip(&table.columns) {
        if let Some((bad, example)) = &c.unconvertible {
            let values = if *bad == 1 { "value" } else { "values" };
            problems.push(format!(
                "column '{name}' has {bad} {values} that cannot be converted to {} (its type in column_types), e.g. {}",
                c.data_type,
                string_literal(example)
            ));
        }
        columns.push(SeedColumn {
            name: name.clone(),
            data_type: c.data_type.clone(),
            declared: c.declared,
            quoted: cfg.quote_columns || adapter.needs_quotes(name),
            trim: c.trim,
        });
    }
    if !problems.is_empty() {
        return Err(fail(format!(
            "{}; fix the values or the column's type in column_types",
            problems.join("; ")
        )));
    }

    let warnings = cfg
        .column_types
        .iter()
        .filter(|(c, _)| !names.iter().any(|n| n.eq_ignore_ascii_case(c)))
        .map(|(c, _)| {
            format!(
                "seed {file}: column_types names column '{c}', which is not in the CSV header ({})",
                names.join(", ")
            )
        })
        .collect();
    let plan = if adapter.supports_catalog_publish() {
        let cols: Vec<(String, String, bool)> = columns
            .iter()
            .map(|c| (c.name.clone(), c.data_type.clone(), c.trim))
            .collect();
        super::publish::seed(
            adapter,
            node,
            path,
            &cols,
            cfg.delimiter,
            existing,
            &super::publish::build_id(),
        )
        .map_err(|e| fail(e.0))?
    } else {
        seed_plan(
            adapter,
            &RelationTarget::of(node),
            &columns,
            &table.select_sql,
            existing,
        )
    };
    Ok(SeedLoad {
        plan,
        columns,
        rows: table.rows,
        warnings,
    })
}

/// The plan: create the temporary table with the final types, fill it with `select_sql` (the
/// engine's query over the file), swap it in.
pub fn seed_plan(
    adapter: &dyn Adapter,
    target: &RelationTarget,
    columns: &[SeedColumn],
    select_sql: &str,
    existing: Option<RelationKind>,
) -> Plan {
    let tmp_name = target.suffixed(TMP_SUFFIX).sql(adapter);
    let defs: Vec<String> = columns
        .iter()
        .map(|c| format!("{} {}", c.sql_name(adapter), c.data_type))
        .collect();
    let create = adapter.create_table_sql(&tmp_name, &defs);
    let insert = format!("insert into {tmp_name}\n{select_sql}");
    swap_in_steps(adapter, target, vec![create, insert], existing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::DuckDb;
    use crate::adapter::csv::CsvColumn;
    use crate::project::ResourceType;
    use serde_json::Value as Json;

    fn node(config: Json) -> Node {
        Node::sample(ResourceType::Seed, "people", config)
    }

    fn col(name: &str, ty: &str, declared: bool, trim: bool) -> SeedColumn {
        SeedColumn {
            name: name.into(),
            data_type: ty.into(),
            declared,
            quoted: crate::adapter::Adapter::needs_quotes(&DuckDb::in_memory(), name),
            trim,
        }
    }

    #[test]
    fn plan_creates_fills_and_swaps() {
        let adapter = DuckDb::in_memory();
        let target = RelationTarget::of(&node(Json::Null));
        let columns = [
            col("id", "INTEGER", false, true),
            col("Full Name", "VARCHAR", false, false),
            col("amount", "decimal(12,2)", true, true),
            col("code", "varchar(3)", true, false),
        ];
        let read: Vec<CsvColumn> = columns
            .iter()
            .map(|c| CsvColumn {
                data_type: c.data_type.clone(),
                declared: c.declared,
                trim: c.trim,
                unconvertible: None,
            })
            .collect();
        let source = crate::adapter::duckdb_csv_source("/data/seeds/people.csv", ';', 4);
        let select = crate::adapter::duckdb_csv_fill_select(&source, &read);
        let plan = seed_plan(
            &adapter,
            &target,
            &columns,
            &select,
            Some(RelationKind::Table),
        );
        insta::assert_snapshot!(plan.script(&adapter));
    }

    #[test]
    fn status_line() {
        let load = SeedLoad {
            plan: Plan::default(),
            columns: vec![],
            rows: 42,
            warnings: vec![],
        };
        assert_eq!(load.status(true), "CREATE 42");
        assert_eq!(load.status(false), "INSERT 42");
    }
}
