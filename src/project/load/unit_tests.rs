//! `unit_tests:` in properties YAML: each entry read with its fixtures (inline rows, or a file
//! under a test path's `fixtures/` folder), then, once every model is loaded, expanded to one unit
//! test per tested model version (`versions: {include, exclude}`).

use super::Loader;
use super::patch::FileCtx;
use crate::error::{Diagnostic, Location};
use crate::project::node::ResourceType;
use crate::project::properties::{UnitFixtureProps, UnitTestProps};
use crate::project::refs::{RefOrSource, parse_ref_or_source, value_to_plain_string};
use crate::project::unit_test::{Fixture, Format, Input, InputTarget, Overrides, Rows, UnitTest};
use crate::project::yaml::{Part, Step, YamlSpan};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::path::PathBuf;

impl Loader {
    /// Reads one `unit_tests:` entry; it is expanded per model version by
    /// [`Loader::expand_unit_tests`].
    pub(super) fn add_unit_test(&mut self, t: &UnitTestProps, entry: &YamlSpan, ctx: &FileCtx<'_>) {
        let at = |steps: &[Step], part: Part| {
            let mut path = entry.path.clone();
            path.extend(steps.iter().cloned());
            ctx.at(&path, part)
        };
        let mut given = vec![];
        let mut ok = true;
        for (i, g) in t.given.iter().enumerate() {
            let span = entry.join([Step::key("given"), Step::Index(i)]);
            let target = if g.input.trim() == "this" {
                Some(InputTarget::This)
            } else {
                match parse_ref_or_source(&g.input) {
                    Some(RefOrSource::Ref(r)) => Some(InputTarget::Ref(r)),
                    Some(RefOrSource::Source(s, t)) => Some(InputTarget::Source(s, t)),
                    None => None,
                }
            };
            let Some(target) = target else {
                self.diags.push(
                    Diagnostic::error(
                        "unit-test",
                        format!(
                            "unit test '{}' has input '{}', which is not a ref(), a source() or `this`",
                            t.name, g.input
                        ),
                    )
                    .at(at(&[Step::key("given"), Step::Index(i), Step::key("input")], Part::Value))
                    .with_help("write the input as ref('model'), source('source', 'table') or this"),
                );
                ok = false;
                continue;
            };
            match self.read_fixture(&t.name, g, &span, ctx) {
                Some(fixture) => given.push(Input {
                    input: g.input.clone(),
                    target,
                    fixture,
                }),
                None => ok = false,
            }
        }
        let expect_span = entry.child(Step::key("expect"));
        let expect = self.read_fixture(&t.name, &t.expect, &expect_span, ctx);
        let overrides = match &t.overrides {
            None => None,
            Some(o) => {
                let mut out = Overrides::default();
                for (key, slot) in [
                    ("macros", &mut out.macros),
                    ("vars", &mut out.vars),
                    ("env_vars", &mut out.env_vars),
                ] {
                    match o.get(key) {
                        None | Some(Value::Null) => {}
                        Some(Value::Object(m)) => slot.clone_from(m),
                        Some(_) => {
                            self.diags.push(
                                Diagnostic::error(
                                    "unit-test",
                                    format!(
                                        "unit test '{}': overrides.{key} must be a mapping",
                                        t.name
                                    ),
                                )
                                .at(at(&[Step::key("overrides"), Step::key(key)], Part::Value))
                                .with_help(format!("write `{key}: {{name: value}}`")),
                            );
                            ok = false;
                        }
                    }
                }
                if let Some(k) = o
                    .keys()
                    .find(|k| !["macros", "vars", "env_vars"].contains(&k.as_str()))
                {
                    self.diags.push(
                        Diagnostic::error(
                            "unit-test",
                            format!("unit test '{}': unknown override '{k}'", t.name),
                        )
                        .at(at(
                            &[Step::key("overrides"), Step::name(k.clone())],
                            Part::Key,
                        ))
                        .with_help("overrides takes macros, vars and env_vars"),
                    );
                    ok = false;
                }
                Some(out)
            }
        };
        let (Some(expect), true) = (expect, ok) else {
            return;
        };
        // dbt's: the package, the properties file's folders, the model, the test.
        let mut fqn = vec![self.name.clone()];
        fqn.extend(ctx.f.folders());
        fqn.extend([t.model.clone(), t.name.clone()]);
        let mut config = Map::new();
        config.insert("tags".into(), Value::Array(vec![]));
        config.insert("meta".into(), Value::Object(Map::new()));
        config.insert("enabled".into(), Value::Bool(true));
        // dbt_project.yml's `unit_tests:` tree, then the test's own `config:`.
        let project_level = crate::project::config::project_config_for(&self.cfg.unit_tests, &fqn);
        crate::project::config::merge_into(&mut config, &project_level);
        let mut own_config = Map::new();
        for (k, v) in &t.config {
            let v = if k == "tags" {
                match v {
                    Value::String(s) => Value::Array(vec![Value::String(s.clone())]),
                    other => other.clone(),
                }
            } else {
                v.clone()
            };
            own_config.insert(k.clone(), v);
        }
        crate::project::config::merge_into(&mut config, &own_config);
        let checksum = super::sha256_hex(
            serde_json::json!({
                "model": t.model, "name": t.name, "given": t.given.iter().map(|g| serde_json::json!([g.input, g.rows, g.format, g.fixture])).collect::<Vec<_>>(),
                "expect": [t.expect.rows, t.expect.format, t.expect.fixture],
                "overrides": t.overrides, "versions": t.versions,
            })
            .to_string()
            .as_bytes(),
        );
        self.unit_tests.push(UnitTest {
            unique_id: String::new(),
            name: t.name.clone(),
            model: t.model.clone(),
            model_id: String::new(),
            version: None,
            versions: t.versions.clone(),
            package_name: self.name.clone(),
            path: ctx.f.path.clone(),
            original_file_path: ctx.f.original_file_path.clone(),
            file: PathBuf::from(&ctx.f.shown),
            fqn,
            description: t.description.clone().unwrap_or_default(),
            given,
            expect,
            overrides,
            config,
            checksum,
            span: entry.clone(),
        });
    }

    /// One fixture (a `given` entry or `expect`): its format checked against its rows, a
    /// `fixture:` file read.
    fn read_fixture(
        &mut self,
        test: &str,
        p: &UnitFixtureProps,
        span: &YamlSpan,
        ctx: &FileCtx<'_>,
    ) -> Option<Fixture> {
        let at = |step: &'static str, part: Part| {
            let mut path = span.path.clone();
            path.push(Step::key(step));
            ctx.at(&path, part)
        };
        let what = if span.path.last() == Some(&Step::key("expect")) {
            "expect".to_string()
        } else {
            format!("input {}", p.input)
        };
        let format = match p.format.as_deref() {
            None => Format::Dict,
            Some(f) => match Format::parse(f) {
                Some(f) => f,
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            "unit-test",
                            format!("unit test '{test}', {what}: unknown format '{f}'"),
                        )
                        .at(at("format", Part::Value))
                        .with_help("format is one of dict (the default), csv, sql"),
                    );
                    return None;
                }
            },
        };
        let bad = |this: &mut Self, loc: Location, msg: String, help: &str| {
            this.diags.push(
                Diagnostic::error("unit-test", format!("unit test '{test}', {what}: {msg}"))
                    .at(loc)
                    .with_help(help.to_string()),
            );
            None
        };
        if p.rows.is_some() && p.fixture.is_some() {
            return bad(
                self,
                at("fixture", Part::Key),
                "sets both rows and fixture".into(),
                "keep one: inline rows, or a fixture file under a test path's fixtures/ folder",
            );
        }
        let rows = match (&p.rows, &p.fixture, format) {
            (Some(Value::Array(items)), None, Format::Dict) => {
                let mut rows = vec![];
                for (j, item) in items.iter().enumerate() {
                    match item {
                        Value::Object(m) => {
                            rows.push(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        }
                        _ => {
                            let mut path = span.path.clone();
                            path.extend([Step::key("rows"), Step::Index(j)]);
                            return bad(
                                self,
                                ctx.at(&path, Part::Value),
                                "a row is not a mapping of column to value".into(),
                                "write each row as {column: value, ...}",
                            );
                        }
                    }
                }
                Rows::Table(rows)
            }
            (None | Some(Value::Null), None, Format::Dict) => Rows::Table(vec![]),
            (Some(Value::String(_)), None, Format::Dict) => {
                return bad(
                    self,
                    at("rows", Part::Value),
                    "rows is text, but the format is dict".into(),
                    "set `format: csv` (or `format: sql`) for rows written as text, or write the rows as a list of {column: value}",
                );
            }
            (None, Some(_), Format::Dict) => {
                return bad(
                    self,
                    at("fixture", Part::Key),
                    "a fixture file needs `format: csv` or `format: sql`".into(),
                    "set the format of the fixture file, or write the rows inline",
                );
            }
            (Some(Value::String(text)), None, Format::Csv) => {
                let loc = at("rows", Part::Value);
                // A block scalar's text starts on the line after `rows: |`.
                let first_line = loc.line + 1;
                match parse_csv(text) {
                    Ok(rows) => Rows::Table(rows),
                    Err((line, msg)) => {
                        let file = ctx.f.shown.clone();
                        return bad(
                            self,
                            Location::from_line_col(file, ctx.text, first_line + line - 1, 1),
                            msg,
                            "every csv row needs one value per header column; quote values that contain commas",
                        );
                    }
                }
            }
            (Some(Value::String(text)), None, Format::Sql) => {
                Rows::Sql(text.trim_end().to_string())
            }
            (Some(other), None, f @ (Format::Csv | Format::Sql)) if !other.is_string() => {
                return bad(
                    self,
                    at("rows", Part::Value),
                    format!("rows is a list, but the format is {}", f.as_str()),
                    "write csv or sql rows as text (`rows: |`), or drop `format:` to use dict rows",
                );
            }
            (None, Some(name), f @ (Format::Csv | Format::Sql)) => {
                let ext = if f == Format::Csv { "csv" } else { "sql" };
                let name = value_to_plain_string(name);
                let found = self
                    .find(&self.cfg.test_paths(), &[ext])
                    .into_iter()
                    .find(|ff| ff.path.starts_with("fixtures/") && ff.stem() == name);
                let Some(ff) = found else {
                    let roots = self
                        .cfg
                        .test_paths()
                        .iter()
                        .map(|r| format!("{r}/fixtures/{name}.{ext}"))
                        .collect::<Vec<_>>()
                        .join(" or ");
                    return bad(
                        self,
                        at("fixture", Part::Value),
                        format!("fixture '{name}' not found"),
                        &format!("create {roots}, or correct the fixture's name (without .{ext})"),
                    );
                };
                let text = self.read_found(&ff)?;
                if f == Format::Sql {
                    Rows::Sql(text.trim_end().to_string())
                } else {
                    match parse_csv(&text) {
                        Ok(rows) => Rows::Table(rows),
                        Err((line, msg)) => {
                            self.diags.push(
                                Diagnostic::error(
                                    "unit-test",
                                    format!("unit test '{test}', {what}: fixture {}: {msg}", ff.shown),
                                )
                                .at(Location::from_line_col(&ff.shown, &text, line, 1))
                                .with_help("every csv row needs one value per header column; quote values that contain commas"),
                            );
                            return None;
                        }
                    }
                }
            }
            (None | Some(Value::Null), None, f) => {
                return bad(
                    self,
                    at("format", Part::Value),
                    format!("format {} needs rows or a fixture", f.as_str()),
                    "add `rows:` (text), or `fixture: <name>` naming a file under a test path's fixtures/ folder",
                );
            }
            (Some(_), _, _) => {
                return bad(
                    self,
                    at("rows", Part::Value),
                    "rows do not match the format".into(),
                    "dict rows are a list of {column: value}; csv and sql rows are text",
                );
            }
        };
        Some(Fixture {
            format,
            rows,
            fixture: p.fixture.as_ref().map(value_to_plain_string),
            span: span.clone(),
        })
    }

    /// Each unit test read becomes one unit test per version of its model that it tests (one
    /// for an unversioned model); a test of a model that does not exist is an error here.
    pub(super) fn expand_unit_tests(&mut self) {
        let defs = std::mem::take(&mut self.unit_tests);
        let mut files = crate::project::origin::Files::new(&self.dir);
        for t in defs {
            let models: Vec<(&String, &crate::project::Node)> = self
                .nodes
                .iter()
                .filter(|(_, n)| {
                    n.resource_type == ResourceType::Model
                        && n.name == t.model
                        && n.package_name == self.name
                })
                .map(|(k, n)| (k, n.as_ref()))
                .collect();
            if models.is_empty() {
                let names: Vec<&str> = self
                    .nodes
                    .values()
                    .filter(|n| n.resource_type == ResourceType::Model)
                    .map(|n| n.name.as_str())
                    .collect();
                let mut d = Diagnostic::error(
                    "unit-test",
                    format!(
                        "unit test '{}' tests model '{}', which does not exist",
                        t.name, t.model
                    ),
                );
                if let Some(loc) = files.locate(&t.span.child(Step::key("model")), Part::Value) {
                    d = d.at(loc);
                } else {
                    d = d.in_file(&t.file);
                }
                d = d.with_help(match crate::error::suggest::closest(&t.model, names, 3) {
                    Some(s) => format!("did you mean '{s}'?"),
                    None => "`model:` names a model of this project".into(),
                });
                self.diags.push(d);
                continue;
            }
            let wanted = |v: &Option<String>| -> bool {
                let Some(v) = v else { return true };
                let listed = |key: &str| -> Option<Vec<String>> {
                    let list = t.versions.as_ref()?.get(key)?;
                    Some(match list {
                        Value::Array(a) => a.iter().map(value_to_plain_string).collect(),
                        other => vec![value_to_plain_string(other)],
                    })
                };
                if let Some(inc) = listed("include") {
                    return inc.contains(v);
                }
                if let Some(exc) = listed("exclude") {
                    return !exc.contains(v);
                }
                true
            };
            for (id, node) in models {
                if !wanted(&node.version) {
                    continue;
                }
                let mut u = t.clone();
                u.model_id = id.clone();
                u.version.clone_from(&node.version);
                let suffix = node
                    .version
                    .as_ref()
                    .map(|v| format!("_v{v}"))
                    .unwrap_or_default();
                u.unique_id = format!("unit_test.{}.{}.{}{suffix}", self.name, t.model, t.name);
                if !crate::project::config::is_enabled(&u.config) {
                    continue;
                }
                if !self.expanded_unit_tests.contains_key(&u.unique_id) {
                    self.expanded_unit_tests.insert(u.unique_id.clone(), u);
                } else {
                    let mut d = Diagnostic::error(
                        "unit-test",
                        format!(
                            "two unit tests of model '{}' are named '{}'",
                            t.model, t.name
                        ),
                    )
                    .with_help("give each unit test of a model its own name");
                    if let Some(loc) = files.locate(&t.span.child(Step::key("name")), Part::Value) {
                        d = d.at(loc);
                    }
                    self.diags.push(d);
                }
            }
        }
    }
}

/// Reads csv text (a header row, then rows) into rows of text values; an empty value is NULL.
/// On a malformed row, its 1-based line in `text` and what is wrong.
pub(crate) fn parse_csv(text: &str) -> Result<Vec<IndexMap<String, Value>>, (usize, String)> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(vec![]);
    };
    let header: Vec<String> = split_csv_line(header)
        .map_err(|m| (1, m))?
        .into_iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = vec![];
    for (i, line) in lines {
        let fields = split_csv_line(line).map_err(|m| (i + 1, m))?;
        if fields.len() != header.len() {
            return Err((
                i + 1,
                format!(
                    "csv row {} has {} value{} but the header has {} column{} ({})",
                    rows.len() + 1,
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" },
                    header.len(),
                    if header.len() == 1 { "" } else { "s" },
                    header.join(", ")
                ),
            ));
        }
        rows.push(
            header
                .iter()
                .zip(fields)
                .map(|(h, f)| {
                    let v = if f.is_empty() {
                        Value::Null
                    } else {
                        Value::String(f)
                    };
                    (h.clone(), v)
                })
                .collect(),
        );
    }
    Ok(rows)
}

/// One csv line's fields (double quotes around a field; `""` inside is a quote).
fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
                was_quoted = true;
            }
            (',', false) => {
                out.push(if was_quoted {
                    std::mem::take(&mut cur)
                } else {
                    std::mem::take(&mut cur).trim().to_string()
                });
                was_quoted = false;
            }
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quoted value is not closed".into());
    }
    out.push(if was_quoted {
        cur
    } else {
        cur.trim().to_string()
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_and_errors() {
        let rows = parse_csv("id,name\n1,\"a, b\"\n2,\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["name"], Value::String("a, b".into()));
        assert_eq!(rows[1]["name"], Value::Null);
        let (line, msg) = parse_csv("id,name\n1,a\n2\n").unwrap_err();
        assert_eq!(line, 3);
        assert!(
            msg.contains("has 1 value but the header has 2 columns"),
            "{msg}"
        );
    }
}
