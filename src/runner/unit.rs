//! Running one unit test: each input becomes a CTE of typed rows (the columns given; the rest of
//! the upstream's columns as typed NULLs), the model is compiled with its refs and sources (and
//! `this`) pointing at those CTEs and the test's overrides, and its output is compared with the
//! expected rows as dbt compares them: on the expected columns only, cast to the output's types,
//! row order ignored. A difference is shown as a table diff of expected against actual.

use super::exec::{Exec, Failure, now, response};
use super::{NodeResult, Status, Timing, output};
use crate::adapter::{Cell, Column, Connection, string_literal};
use crate::events::{Event, kinds};
use crate::jinja::compile::{EphemeralCache, compile_one};
use crate::project::unit_test::{Fixture, InputTarget, Rows, UnitTest, cte_name};
use crate::project::{ColumnInfo, ResourceType};
use serde_json::{Value as Json, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// `node_info` of a unit test.
pub(super) fn unit_info(
    t: &UnitTest,
    status: &str,
    started: Option<chrono::DateTime<chrono::Utc>>,
    finished: Option<chrono::DateTime<chrono::Utc>>,
) -> Json {
    let time = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    json!({
        "materialized": "unit",
        "meta": t.meta(),
        "node_checksum": t.checksum,
        "node_finished_at": finished.map(time).unwrap_or_default(),
        "node_name": t.name,
        "node_path": t.path,
        "node_relation": {"alias": "", "database": "", "relation_name": "", "schema": ""},
        "node_started_at": started.map(time).unwrap_or_default(),
        "node_status": status,
        "resource_type": "unit_test",
        "unique_id": t.unique_id,
    })
}

/// What went wrong in a unit test before its rows could be compared.
enum UnitFailure {
    /// The test's definition does not fit the model or its inputs (dbt's compilation error).
    Definition(String),
    Run(Failure),
}

impl From<Failure> for UnitFailure {
    fn from(f: Failure) -> Self {
        UnitFailure::Run(f)
    }
}

impl Exec<'_> {
    /// A unit test not run because `cause` failed.
    pub(super) fn skipped_unit(&self, t: &UnitTest, r: &mut NodeResult) {
        let index = self.progress.claim();
        let total = self.progress.total();
        let (plain, styled) = output::result_line(
            index,
            total,
            &format!(
                "SKIP unit_test {}",
                t.unique_id.rsplit('.').next().unwrap_or(&t.name)
            ),
            "SKIP",
        );
        let event = Event::new(kinds::SKIPPING_DETAILS, plain)
            .styled(styled)
            .stamped()
            .with("index", index)
            .with("node_info", unit_info(t, "skipped", Some(now()), None))
            .with("node_name", t.name.clone())
            .with("resource_type", "unit_test")
            .with("schema", "")
            .with("total", total);
        self.progress.done(index, event);
        r.problem = Some((
            "unit_test".into(),
            t.name.clone(),
            t.original_file_path.clone(),
        ));
    }

    pub(super) fn run_unit_test(
        &self,
        t: &UnitTest,
        worker: usize,
        mut r: NodeResult,
    ) -> NodeResult {
        r.problem = Some((
            "unit_test".into(),
            t.name.clone(),
            t.original_file_path.clone(),
        ));
        let index = self.progress.claim();
        // A tested version's test is shown as `<name>_v<version>`, its unique_id's last part.
        let shown = t.unique_id.rsplit('.').next().unwrap_or(&t.name);
        let label = format!("{}::{shown}", t.model);
        let started_at = now();
        let _scope = crate::events::enter_node(
            format!("Thread-{} (worker)", worker + 1),
            unit_info(t, "executing", Some(started_at), None),
        );
        self.progress.start(
            index,
            &format!("unit_test {label}"),
            &unit_info(t, "started", Some(started_at), None),
        );
        let started = Instant::now();
        let outcome = self.unit_outcome(t, worker, &mut r);
        r.execution_time = started.elapsed().as_secs_f64();
        let secs = r.execution_time;
        match outcome {
            Ok(()) => {}
            Err(f) => {
                r.status = Status::Error;
                let (kind, message) = match f {
                    UnitFailure::Definition(m) => ("Compilation Error", m),
                    UnitFailure::Run(Failure::Compile(d)) => (
                        "Compilation Error",
                        crate::error::render_diagnostics(&[d], false),
                    ),
                    UnitFailure::Run(f) => (
                        "Runtime Error",
                        format!(
                            "An error occurred during execution of unit test '{}'. There may be an error in the unit test definition: check the data types.\n{}",
                            t.name,
                            f.message()
                        ),
                    ),
                };
                let mut text = format!("{kind} in unit_test {} ({})", t.name, t.original_file_path);
                for line in message.trim_end().lines() {
                    text.push_str("\n  ");
                    text.push_str(line);
                }
                r.message = Some(message);
                r.detail = Some(text);
            }
        }
        let (line, status) = match r.status {
            Status::Pass => (format!("PASS {label}"), format!("PASS in {secs:.2}s")),
            Status::Fail => {
                let n = r.failures.unwrap_or(0);
                (
                    format!("FAIL {n} {label}"),
                    format!("FAIL {n} in {secs:.2}s"),
                )
            }
            _ => (format!("ERROR {label}"), format!("ERROR in {secs:.2}s")),
        };
        let info = unit_info(t, r.status.as_str(), Some(started_at), Some(now()));
        let total = self.progress.total();
        let (plain, styled) = output::result_line(index, total, &line, &status);
        let event = Event::new(kinds::LOG_TEST_RESULT, plain)
            .styled(styled)
            .stamped()
            .with("index", index)
            .with("name", t.name.clone())
            .with("node_info", info.clone())
            .with("num_failures", r.failures.unwrap_or(0))
            .with("status", r.status.as_str())
            .with("total", total)
            .with("execution_time", secs);
        self.progress.done(index, event);
        output::node_finished(&r, info).emit();
        r
    }

    fn unit_outcome(
        &self,
        t: &UnitTest,
        worker: usize,
        r: &mut NodeResult,
    ) -> Result<(), UnitFailure> {
        let project = &self.loaded.project;
        let Some(model) = self.nodes.get(&t.model_id) else {
            return Err(UnitFailure::Definition(format!(
                "model '{}' is not part of this project",
                t.model
            )));
        };
        let t0 = now();
        // 1. Each input as a CTE of typed rows.
        let mut ctes = vec![];
        let mut renames: Vec<(String, String)> = vec![];
        let mut pending_this = None;
        for input in &t.given {
            let (uid, shown) = match &input.target {
                InputTarget::This => (t.model_id.clone(), format!("this ({})", model.name)),
                InputTarget::Ref(call) => {
                    let id = self
                        .loaded
                        .graph
                        .names
                        .resolve(call, &t.package_name)
                        .map_err(|_| {
                            UnitFailure::Definition(format!("{} names no model", input.input))
                        })?;
                    (id, call.name.clone())
                }
                InputTarget::Source(s, tb) => {
                    let id = project
                        .resolve_source(s, tb, &t.package_name)
                        .map(String::from)
                        .ok_or_else(|| {
                            UnitFailure::Definition(format!("{} is not declared", input.input))
                        })?;
                    (id, tb.clone())
                }
            };
            let name = cte_name(&input.target, &model.name);
            let body = match &input.fixture.rows {
                Rows::Sql(sql) => sql.clone(),
                Rows::Table(_) => match self.upstream_columns(t, &uid, &input.input, worker)? {
                    Some(columns) => self.fixture_sql(t, &input.fixture, &columns, &shown)?,
                    // `this` before the model's first build: typed below, from its own query.
                    None if input.target == InputTarget::This => {
                        pending_this = Some((input, uid, name, shown));
                        continue;
                    }
                    None => return Err(self.no_columns(t, &uid)),
                },
            };
            ctes.push((name.clone(), format!("\n-- Fixture for {shown}\n{body}")));
            renames.push((uid, name));
        }
        let overrides = t.overrides_or_default();
        // `this` not built yet (and no YAML types): its columns are those the model returns on
        // a first build (`is_incremental()` false), from the other inputs (better than dbt,
        // which needs the table).
        if let Some((input, uid, name, shown)) = pending_this {
            let mut first_build = overrides.clone();
            first_build
                .macros
                .insert("is_incremental".into(), Json::Bool(false));
            let code = self.compile_unit(t, &renames, &ctes, first_build)?;
            let probe = self.loaded.adapter.empty_subquery_sql(&code);
            let columns = self
                .with_conn(worker, |c| c.query_columns(&probe))
                .map_err(|_| self.no_columns(t, &uid))?;
            let body = self.fixture_sql(t, &input.fixture, &columns, &shown)?;
            ctes.push((name.clone(), format!("\n-- Fixture for {shown}\n{body}")));
            renames.push((uid, name));
        }
        // 2. The model compiled against them, with the test's overrides.
        let code = self.compile_unit(t, &renames, &ctes, overrides)?;
        r.compiled_code = Some(code.clone());
        self.write_unit_artifact(t, "compiled", &code);
        r.timing.push(Timing {
            name: "compile",
            started_at: t0,
            completed_at: now(),
        });
        // 3. The output's columns type the expected rows.
        let t1 = now();
        let probe = self.loaded.adapter.empty_subquery_sql(&code);
        let actual_columns = self
            .with_conn(worker, |c| c.query_columns(&probe))
            .map_err(Failure::Database)?;
        let expected_columns: Vec<String> = match &t.expect.rows {
            Rows::Sql(_) => actual_columns.iter().map(|c| c.name.clone()).collect(),
            Rows::Table(rows) if rows.is_empty() => {
                actual_columns.iter().map(|c| c.name.clone()).collect()
            }
            Rows::Table(_) => t.expect.columns(),
        };
        let typed: Vec<Column> = expected_columns
            .iter()
            .map(|name| {
                actual_columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
                    .cloned()
                    .ok_or_else(|| {
                        let names: Vec<&str> = actual_columns.iter().map(|c| c.name.as_str()).collect();
                        let hint = crate::error::suggest::closest(name, names.iter().copied(), 3)
                            .map(|s| format!(" (did you mean '{s}'?)"))
                            .unwrap_or_default();
                        UnitFailure::Definition(format!(
                            "unit test '{}' expects column '{name}'{hint}, which model '{}' does not return; it returns: {}",
                            t.name,
                            t.model,
                            names.join(", ")
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        let expected_sql = match &t.expect.rows {
            Rows::Sql(sql) => sql.clone(),
            Rows::Table(_) => self.fixture_sql(t, &t.expect, &typed, "expect")?,
        };
        let adapter = self.loaded.adapter.as_ref();
        let cols = typed
            .iter()
            .map(|c| adapter.quote(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let tag = adapter.quote("actual_or_expected");
        let query = format!(
            "-- Build actual result given inputs\nwith dbt_internal_unit_test_actual as (\n  select\n    {cols}, 'actual' as {tag}\n  from (\n    {code}\n  ) _dbt_internal_unit_test_actual\n),\n-- Build expected result\ndbt_internal_unit_test_expected as (\n  select\n    {cols}, 'expected' as {tag}\n  from (\n    {expected_sql}\n  ) _dbt_internal_unit_test_expected\n)\n-- Union actual and expected results\nselect * from dbt_internal_unit_test_actual\nunion all\nselect * from dbt_internal_unit_test_expected"
        );
        self.write_unit_artifact(t, "run", &query);
        let rows = self
            .with_conn(worker, |c| c.query(&query))
            .map_err(Failure::Database)?;
        r.timing.push(Timing {
            name: "execute",
            started_at: t1,
            completed_at: now(),
        });
        r.adapter_response = response("OK", None);
        let width = typed.len();
        let mut actual = vec![];
        let mut expected = vec![];
        for row in rows.rows {
            let which = row.get(width).map(Cell::to_string).unwrap_or_default();
            let cells: Vec<String> = row.iter().take(width).map(cell_text).collect();
            if which == "actual" {
                actual.push(cells);
            } else {
                expected.push(cells);
            }
        }
        let names: Vec<String> = typed.iter().map(|c| c.name.clone()).collect();
        match diff_tables(&names, expected, actual) {
            None => {
                r.status = Status::Pass;
                r.failures = Some(0);
            }
            Some((table, changed)) => {
                r.status = Status::Fail;
                // dbt counts a failed unit test as one failure, however many rows differ.
                let _ = changed;
                r.failures = Some(1);
                let message = format!("\n\nactual differs from expected:\n\n{table}\n");
                r.detail = Some(message.clone());
                r.message = Some(message);
                r.compiled_path =
                    Some(self.unit_artifact_path(t, "compiled").display().to_string());
            }
        }
        Ok(())
    }

    /// The model's SQL with each input (`renames`: unique_id → CTE name) read from its fixture
    /// CTE, rendered with `overrides`.
    fn compile_unit(
        &self,
        t: &UnitTest,
        renames: &[(String, String)],
        ctes: &[(String, String)],
        overrides: crate::project::unit_test::Overrides,
    ) -> Result<String, UnitFailure> {
        let project = &self.loaded.project;
        let mut shared = crate::jinja::compile::compile_shared(
            project,
            &self.loaded.jenv,
            self.loaded.adapter.clone(),
            &self.loaded.info,
            self.loaded.graph.clone(),
            crate::session::graph_fn(self.loaded),
        );
        shared.db = self.shared.db.clone();
        for (uid, name) in renames {
            if let Some(res) = shared.relations.get_mut(uid) {
                res.relation.rendered_override = Some(name.clone());
                res.ephemeral = None;
            }
        }
        for (k, v) in &overrides.vars {
            shared.vars.insert(k.clone(), v.clone());
            if let Some(pv) = shared.package_vars.get_mut(&t.package_name) {
                pv.insert(k.clone(), v.clone());
            }
        }
        shared.overrides = Some(Arc::new(overrides));
        shared.inputs = Default::default();
        let shared = Arc::new(shared);
        let (code, _) = compile_one(
            self.nodes,
            &self.loaded.jenv,
            &shared,
            &t.model_id,
            &EphemeralCache::default(),
        )
        .map_err(Failure::Compile)?;
        let dialect = self.loaded.adapter.sql_dialect();
        Ok(crate::sql::cte::inject_ctes(&code, ctes, dialect.as_ref()).sql)
    }

    /// dbt's error for an input whose columns cannot be known, with what to do.
    fn no_columns(&self, t: &UnitTest, uid: &str) -> UnitFailure {
        let project = &self.loaded.project;
        let shown = match (self.nodes.get(uid), project.sources.get(uid)) {
            (Some(n), _) => n.relation_name.clone().unwrap_or_else(|| n.name.clone()),
            (None, Some(s)) => s.relation_name.clone(),
            (None, None) => uid.to_string(),
        };
        let build = match self.nodes.get(uid) {
            Some(n) if n.resource_type == ResourceType::Seed => {
                format!("load it first (`kiln seed -s {}`)", n.name)
            }
            Some(n) => format!(
                "build it first (`kiln run -s +{0}`, or `kiln run -s +{0} --empty` for its columns alone)",
                n.name
            ),
            None => "load the source's table first".into(),
        };
        UnitFailure::Definition(format!(
            "Not able to get columns for unit test '{}' from relation {shown} because the relation doesn't exist\n{build}, or declare its columns with a data_type in YAML",
            t.name
        ))
    }

    /// The columns of the relation an input stands for: from the warehouse; when it is not
    /// built, the data types its YAML declares for every column; `None` when neither.
    fn upstream_columns(
        &self,
        t: &UnitTest,
        uid: &str,
        input: &str,
        worker: usize,
    ) -> Result<Option<Vec<Column>>, UnitFailure> {
        let project = &self.loaded.project;
        type Declared<'c> = Option<&'c indexmap::IndexMap<String, ColumnInfo>>;
        let (database, schema, identifier, declared): (String, String, String, Declared<'_>) =
            if let Some(n) = self.nodes.get(uid) {
                (
                    n.database.clone(),
                    n.schema.clone(),
                    n.alias.clone(),
                    Some(&n.columns),
                )
            } else if let Some(s) = project.sources.get(uid) {
                (
                    s.database.clone(),
                    s.schema.clone(),
                    s.identifier.clone(),
                    Some(&s.columns),
                )
            } else {
                return Err(UnitFailure::Definition(format!(
                    "{input} names nothing in the project"
                )));
            };
        let ephemeral = self.nodes.get(uid).is_some_and(|n| n.is_ephemeral());
        if !ephemeral {
            let found = self
                .with_conn(worker, |c: &mut dyn Connection| {
                    c.columns(&database, &schema, &identifier)
                })
                .map_err(Failure::Database)?;
            if !found.is_empty() {
                return Ok(Some(found));
            }
        }
        if let Some(cols) = declared
            && !cols.is_empty()
            && cols.values().all(|c| c.data_type.is_some())
        {
            return Ok(Some(
                cols.values()
                    .map(|c| Column {
                        name: c.name.clone(),
                        data_type: c.data_type.clone().unwrap_or_default(),
                        comment: None,
                    })
                    .collect(),
            ));
        }
        if ephemeral && let Some(n) = self.nodes.get(uid) {
            let (code, _) = compile_one(
                self.nodes,
                &self.loaded.jenv,
                self.shared,
                uid,
                &EphemeralCache::default(),
            )
            .map_err(Failure::Compile)?;
            let probe = self.loaded.adapter.empty_subquery_sql(&code);
            return self
                .with_conn(worker, |c| c.query_columns(&probe))
                .map(Some)
                .map_err(|e| {
                    UnitFailure::Definition(format!(
                        "Not able to get columns for unit test '{}' from ephemeral model '{}': {e}",
                        t.name, n.name
                    ))
                });
        }
        Ok(None)
    }

    /// A table fixture as SQL: one `select` per row, every column of `columns` cast to its
    /// type (NULL where the row gives none); no rows: the typed columns as an empty subquery.
    fn fixture_sql(
        &self,
        t: &UnitTest,
        f: &Fixture,
        columns: &[Column],
        shown: &str,
    ) -> Result<String, UnitFailure> {
        let Rows::Table(rows) = &f.rows else {
            return Ok(String::new());
        };
        let adapter = self.loaded.adapter.as_ref();
        for name in f.columns() {
            if !columns.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                let hint = crate::error::suggest::closest(&name, names.iter().copied(), 3)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                return Err(UnitFailure::Definition(format!(
                    "Invalid column name: '{name}'{hint} in unit test fixture for '{shown}' of unit test '{}'. Accepted columns for '{shown}' are: {}",
                    t.name,
                    names.join(", ")
                )));
            }
        }
        let literals = |row: Option<&indexmap::IndexMap<String, Json>>| -> Vec<String> {
            columns
                .iter()
                .map(|c| {
                    let v = row.and_then(|r| {
                        r.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(&c.name))
                            .map(|(_, v)| v)
                    });
                    match v {
                        None | Some(Json::Null) => "null".to_string(),
                        Some(Json::String(s)) => string_literal(s),
                        Some(Json::Bool(b)) => b.to_string(),
                        Some(Json::Number(n)) => n.to_string(),
                        Some(other) => string_literal(&other.to_string()),
                    }
                })
                .collect()
        };
        let names: Vec<String> = columns.iter().map(|c| adapter.quote(&c.name)).collect();
        // (a catalog's type names, as the engine's casts spell them)
        let types: Vec<String> = columns
            .iter()
            .map(|c| adapter.translate_type(&c.data_type))
            .collect();
        if rows.is_empty() {
            return Ok(adapter.empty_subquery_sql(&adapter.fixture_rows_sql(
                &names,
                &types,
                &[literals(None)],
            )));
        }
        let rows: Vec<Vec<String>> = rows.iter().map(|r| literals(Some(r))).collect();
        Ok(adapter.fixture_rows_sql(&names, &types, &rows))
    }

    fn unit_artifact_path(&self, t: &UnitTest, kind: &str) -> PathBuf {
        let mut p = PathBuf::from(self.loaded.project.config.target_path())
            .join(kind)
            .join(&t.package_name);
        p.push(&t.original_file_path);
        p.push(&t.model);
        p.push(format!("{}.sql", t.name));
        p
    }

    fn write_unit_artifact(&self, t: &UnitTest, kind: &str, text: &str) {
        let path = self
            .loaded
            .project
            .dir
            .join(self.unit_artifact_path(t, kind));
        let _ = self.files.send((path, text.to_string()));
    }
}

/// A value as the diff shows it.
fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Null => "NULL".into(),
        Cell::Float(x) => crate::adapter::python_float(*x),
        other => other.to_string(),
    }
}

/// Expected against actual as multisets of rows. `None` when they hold the same rows; else the
/// diff as a table (daff's layout, which dbt prints: a marker column, `@@` over the header,
/// `→` on a changed row with `expected→actual` in each changed cell, `---` a row only expected,
/// `+++` a row only in the output) and how many rows differ.
pub(super) fn diff_tables(
    columns: &[String],
    mut expected: Vec<Vec<String>>,
    mut actual: Vec<Vec<String>>,
) -> Option<(String, usize)> {
    expected.sort();
    actual.sort();
    if expected == actual {
        return None;
    }
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &expected, &actual);
    let mut lines: Vec<(String, Vec<String>)> = vec![("@@".into(), columns.to_vec())];
    let mut changed = 0;
    for op in ops {
        match op {
            similar::DiffOp::Equal { old_index, len, .. } => {
                for row in &expected[old_index..old_index + len] {
                    lines.push((String::new(), row.clone()));
                }
            }
            similar::DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for row in &expected[old_index..old_index + old_len] {
                    lines.push(("---".into(), row.clone()));
                    changed += 1;
                }
            }
            similar::DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for row in &actual[new_index..new_index + new_len] {
                    lines.push(("+++".into(), row.clone()));
                    changed += 1;
                }
            }
            similar::DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                // Rows with the same first value are one row changed (`→`); the others are
                // only expected (`---`) or only in the output (`+++`), in the order of that
                // first value.
                let mut block: Vec<(&str, Vec<String>)> = vec![];
                let mut unmatched: Vec<&Vec<String>> =
                    actual[new_index..new_index + new_len].iter().collect();
                for e in &expected[old_index..old_index + old_len] {
                    let pos = unmatched.iter().position(|a| a.first() == e.first());
                    match pos {
                        Some(p) => {
                            let a = unmatched.remove(p);
                            let cells = e
                                .iter()
                                .zip(a)
                                .map(|(x, y)| {
                                    if x == y {
                                        x.clone()
                                    } else {
                                        format!("{x}→{y}")
                                    }
                                })
                                .collect();
                            block.push(("→", cells));
                        }
                        None => block.push(("---", e.clone())),
                    }
                }
                block.extend(unmatched.into_iter().map(|a| ("+++", a.clone())));
                block.sort_by(|x, y| x.1.first().cmp(&y.1.first()));
                changed += block.len();
                lines.extend(block.into_iter().map(|(m, c)| (m.to_string(), c)));
            }
        }
    }
    let n = columns.len() + 1;
    let mut widths = vec![0usize; n];
    for (marker, cells) in &lines {
        widths[0] = widths[0].max(marker.chars().count());
        for (i, c) in cells.iter().enumerate() {
            widths[i + 1] = widths[i + 1].max(c.chars().count());
        }
    }
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let text = lines
        .iter()
        .map(|(marker, cells)| {
            let mut parts = vec![pad(marker, widths[0])];
            for (i, c) in cells.iter().enumerate() {
                parts.push(if i + 1 == n - 1 {
                    c.clone()
                } else {
                    pad(c, widths[i + 1])
                });
            }
            parts.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n");
    Some((text, changed))
}

/// Unit tests of the unit-test diff.
#[cfg(test)]
mod tests {
    use super::diff_tables;

    fn rows(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn same_rows_in_any_order_pass() {
        let cols = vec!["id".to_string()];
        assert!(diff_tables(&cols, rows(&[&["1"], &["2"]]), rows(&[&["2"], &["1"]])).is_none());
    }

    #[test]
    fn a_changed_row_reads_as_dbt_prints_it() {
        let cols: Vec<String> = ["customer_id", "orders", "total_amount"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (text, n) = diff_tables(
            &cols,
            rows(&[&["10", "1", "5.0"], &["11", "2", "7.0"]]),
            rows(&[&["10", "1", "5.0"], &["11", "1", "7.0"]]),
        )
        .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            text,
            "@@,customer_id,orders,total_amount\n  ,10         ,1     ,5.0\n→ ,11         ,2→1   ,7.0"
        );
    }

    #[test]
    fn missing_and_extra_rows_are_marked() {
        let cols = vec!["id".to_string()];
        let (text, n) = diff_tables(&cols, rows(&[&["1"], &["3"]]), rows(&[&["1"]])).unwrap();
        assert_eq!(n, 1);
        assert_eq!(text, "@@ ,id\n   ,1\n---,3");
        // dbt's (daff's) table for expected 1a 2x 4d against actual 1a 2b 3c.
        let cols = vec!["id".to_string(), "status".to_string()];
        let (text, n) = diff_tables(
            &cols,
            rows(&[&["1", "a"], &["2", "x"], &["4", "d"]]),
            rows(&[&["1", "a"], &["2", "b"], &["3", "c"]]),
        )
        .unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            text,
            "@@ ,id,status\n   ,1 ,a\n→  ,2 ,x→b\n+++,3 ,c\n---,4 ,d"
        );
    }
}
