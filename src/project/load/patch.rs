//! Properties YAML: each file read and parsed on every core, then applied in file order to the
//! nodes it describes (descriptions, columns, configs, versions), collecting the generic tests
//! it declares.

use super::{Loader, read};
use crate::error::{Diagnostic, Location};
use crate::project::config::{self, Config, merge_into};
use crate::project::discover::FoundFile;
use crate::project::generic_tests;
use crate::project::node::*;
use crate::project::origin::Files;
use crate::project::properties::{ColumnProps, NodeProps, PropertiesFile};
use crate::project::refs::value_to_plain_string;
use crate::project::render::render_yaml_strings_with;
use crate::project::semantic::SemanticKind;
use crate::project::yaml::{self, Part, Step, YamlPath, YamlSpan};
use indexmap::IndexMap;
use rayon::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

impl Loader {
    /// The properties files under every resource path (and the macro and test paths).
    pub(super) fn property_files(&self) -> Vec<FoundFile> {
        let mut roots = self.cfg.model_paths();
        roots.extend(self.cfg.seed_paths());
        roots.extend(self.cfg.snapshot_paths());
        roots.extend(self.cfg.analysis_paths());
        roots.extend(self.cfg.macro_paths());
        roots.extend(self.cfg.test_paths());
        let mut seen_roots = BTreeSet::new();
        roots.retain(|r| seen_roots.insert(r.clone()));
        self.find(&roots, &["yml", "yaml"])
    }

    /// Reads, parses and renders each properties file, on every core (each is independent).
    pub(super) fn parse_properties(&self, files: Vec<FoundFile>) -> Vec<ParsedProperties> {
        files
            .into_par_iter()
            .map(|f| {
                // dbt strips a file before reading its YAML, so a block scalar that ends the file
                // (`description: >`) loses its final newline; only the end is trimmed here, which
                // gives the same values and keeps line numbers.
                let mut text = read(&f.abs)?;
                let shown = PathBuf::from(&f.shown);
                let trimmed = text.trim_end().len();
                let props: PropertiesFile = match yaml::from_str(&shown, &text[..trimmed]) {
                    Ok(p) => {
                        text.truncate(trimmed);
                        p
                    }
                    // Errors are reported on the file as it is (an unclosed quote at the end of
                    // the file is pointed at where it opens).
                    Err(_) => yaml::from_str(&shown, &text)?,
                };
                // dbt renders Jinja in property values (`{{ var(...) }}`, `{{ env_var(...) }}`,
                // `{{ target.name }}`), except descriptions (doc() is rendered later) and
                // tests (rendered per test at compile time).
                let props = if text.contains("{{") {
                    self.render_properties(&shown, &text)?
                } else {
                    props
                };
                Ok((f, text, props))
            })
            .collect()
    }

    /// Applies the parsed properties files in file order, so the outcome never depends on
    /// scheduling, then builds the generic tests they declare.
    pub(super) fn apply_properties(
        &mut self,
        parsed: Vec<ParsedProperties>,
        timer: &crate::timing::StageTimer,
    ) {
        let mut patched: BTreeMap<String, String> = BTreeMap::new();
        let mut pending_tests = vec![];
        for item in parsed {
            let (f, text, props) = match item {
                Ok(x) => x,
                Err(d) => {
                    self.diags.push(d);
                    continue;
                }
            };
            let ctx = FileCtx { f: &f, text: &text };
            for (rt, key, list) in [
                (ResourceType::Model, "models", &props.models),
                (ResourceType::Seed, "seeds", &props.seeds),
                (ResourceType::Snapshot, "snapshots", &props.snapshots),
                (ResourceType::Analysis, "analyses", &props.analyses),
                (ResourceType::Test, "data_tests", &props.data_tests),
            ] {
                for (i, p) in list.iter().enumerate() {
                    let entry = ctx.span(vec![Step::key(key), Step::Index(i)]);
                    self.apply_patch(rt, p, &entry, &ctx, &mut patched, &mut pending_tests);
                }
            }
            for (i, s) in props.sources.iter().enumerate() {
                let entry = ctx.span(vec![Step::key("sources"), Step::Index(i)]);
                self.add_source(s, &entry, &ctx, &mut pending_tests);
            }
            for (i, e) in props.exposures.iter().enumerate() {
                let entry = ctx.span(vec![Step::key("exposures"), Step::Index(i)]);
                self.add_exposure(e, &entry, &ctx);
            }
            for (i, t) in props.unit_tests.iter().enumerate() {
                let entry = ctx.span(vec![Step::key("unit_tests"), Step::Index(i)]);
                self.add_unit_test(t, &entry, &ctx);
            }
            self.add_semantic(
                [
                    (SemanticKind::SemanticModel, &props.semantic_models),
                    (SemanticKind::Metric, &props.metrics),
                    (SemanticKind::SavedQuery, &props.saved_queries),
                ],
                &ctx,
            );
            for (i, m) in props.macros.iter().enumerate() {
                let uid = format!("macro.{}.{}", self.name, m.name);
                match self.macros.get_mut(&uid) {
                    Some(mac) => {
                        mac.description = m.description.clone().unwrap_or_default();
                        mac.meta = m.meta.clone();
                        mac.arguments = m.arguments.clone();
                        mac.patch_path = Some(format!("{}://{}", self.name, f.original_file_path));
                        mac.docs = m.docs.clone();
                    }
                    None => self.diags.push(
                        Diagnostic::warning(
                            "patch-macro",
                            format!(
                                "properties describe macro '{}', which does not exist",
                                m.name
                            ),
                        )
                        .at(ctx.at(
                            &[Step::key("macros"), Step::Index(i), Step::key("name")],
                            Part::Key,
                        )),
                    ),
                }
            }
        }
        timer.mark("properties apply");
        let built: Vec<Result<Node, Diagnostic>> = pending_tests
            .par_iter()
            .map(|t| {
                generic_tests::build(
                    t,
                    &self.name,
                    &self.test_tree,
                    &self.target_db,
                    &self.target_schema,
                    self.quote_char,
                )
            })
            .collect();
        // A test's mistakes are located only now, from the address of its entry.
        let dir = self.dir.clone();
        let mut files = Files::new(&dir);
        for (r, t) in built.into_iter().zip(&pending_tests) {
            match r {
                Ok(node) => self.register(node),
                Err(d) => {
                    let d = match files.locate(t.span(), Part::Value) {
                        Some(loc) => d.at(loc),
                        None => d,
                    };
                    self.diags.push(d);
                }
            }
        }
        timer.mark("generic tests");
        self.render_descriptions();
        timer.mark("descriptions");
    }

    pub(super) fn render_properties(
        &self,
        shown: &Path,
        text: &str,
    ) -> Result<PropertiesFile, Diagnostic> {
        let mut raw = yaml::to_json(shown, text)?;
        const LATER: &[&str] = &[
            "description",
            "data_tests",
            "tests",
            "pre-hook",
            "post-hook",
            "pre_hook",
            "post_hook",
            "sql_header",
        ];
        // The semantic layer's filters (a metric's `filter`, a saved query's `where`) are
        // MetricFlow's templates (`{{ Dimension('x') }}`), kept as written, as dbt does.
        let semantic = crate::project::semantic::take_sections(&mut raw);
        let mut later_and_filters = LATER.to_vec();
        later_and_filters.extend(["filter", "where"]);
        let rendered = render_yaml_strings_with(&raw, &self.vars, Some(&self.target_fields), LATER)
            .and_then(|mut rendered| {
                let semantic = render_yaml_strings_with(
                    &semantic,
                    &self.vars,
                    Some(&self.target_fields),
                    &later_and_filters,
                )?;
                crate::project::semantic::put_sections(&mut rendered, semantic);
                Ok(rendered)
            })
            .map_err(|f| {
                let d = Diagnostic::error("yaml", f.message.clone()).with_help(
                    f.hint.clone().unwrap_or_else(|| {
                        "property values may use var(), env_var() and target".into()
                    }),
                );
                match f.location(shown, text) {
                    Some(at) => d.at(at),
                    None => d.in_file(shown),
                }
            })?;
        serde_json::from_value(rendered).map_err(|e| {
            Diagnostic::error("yaml", format!("after rendering Jinja: {e}")).in_file(shown)
        })
    }

    /// A model's `time_spine:` property, checked as dbt checks it (its columns exist among the
    /// model's YAML columns) and kept for the manifest and semantic_manifest.json.
    fn time_spine(
        &mut self,
        uid: &str,
        p: &NodeProps,
        ts: &Value,
        entry: &YamlSpan,
        ctx: &FileCtx<'_>,
    ) {
        let at = |steps: Vec<Step>| {
            let mut span = entry.child(Step::key("time_spine"));
            for s in steps {
                span = span.child(s);
            }
            ctx.at(&span.path, Part::Value)
        };
        let columns: Vec<&str> = p.columns.iter().map(|c| c.name.as_str()).collect();
        let Some(standard) = ts
            .get("standard_granularity_column")
            .and_then(Value::as_str)
        else {
            self.diags.push(
                Diagnostic::error(
                    "time-spine",
                    format!("model '{}': time_spine needs a standard_granularity_column", p.name),
                )
                .at(at(vec![]))
                .with_help("name the model's column at the finest grain, e.g. `standard_granularity_column: date_day`"),
            );
            return;
        };
        if !columns.contains(&standard) {
            self.diags.push(
                Diagnostic::error(
                    "time-spine",
                    format!(
                        "model '{}': the time spine's standard granularity column '{standard}' is not among the model's columns",
                        p.name
                    ),
                )
                .at(at(vec![Step::key("standard_granularity_column")]))
                .with_help(format!(
                    "declare it under the model's `columns:` (with its `granularity:`); the columns are: {}",
                    columns.join(", ")
                )),
            );
            return;
        }
        let mut custom = vec![];
        let given = ts.get("custom_granularities").and_then(Value::as_array);
        for (i, g) in given.into_iter().flatten().enumerate() {
            let name = g.get("name").and_then(Value::as_str).unwrap_or_default();
            let column = g.get("column_name").and_then(Value::as_str);
            let col = column.unwrap_or(name);
            if !columns.contains(&col) {
                self.diags.push(
                    Diagnostic::error(
                        "time-spine",
                        format!(
                            "model '{}': the time spine's custom granularity '{name}' names column '{col}', which is not among the model's columns",
                            p.name
                        ),
                    )
                    .at(at(vec![Step::key("custom_granularities"), Step::Index(i)]))
                    .with_help("declare the column under the model's `columns:`, or set `column_name:`"),
                );
                return;
            }
            custom.push(serde_json::json!({"name": name, "column_name": column}));
        }
        self.time_spines.insert(
            uid.to_string(),
            serde_json::json!({
                "standard_granularity_column": standard,
                "custom_granularities": custom,
            }),
        );
    }

    /// Turns the files of a versioned model (`<name>_v<N>.sql`, or `defined_in`) into its version
    /// nodes (`model.<project>.<name>.v<N>`), as dbt does.
    pub(super) fn version_nodes(
        &mut self,
        p: &NodeProps,
        entry: &YamlSpan,
        ctx: &FileCtx<'_>,
    ) -> Vec<(String, Option<(String, usize)>)> {
        // (version, its entry, its index under `versions:`)
        let versions: Vec<(String, &Value, usize)> = p
            .versions
            .iter()
            .enumerate()
            .filter_map(|(j, v)| v.get("v").map(|n| (value_to_plain_string(n), v, j)))
            .collect();
        let latest = p
            .latest_version
            .as_ref()
            .map(value_to_plain_string)
            .or_else(|| {
                versions.iter().map(|(v, _, _)| v.clone()).max_by(|a, b| {
                    match (a.parse::<f64>(), b.parse::<f64>()) {
                        (Ok(x), Ok(y)) => x.total_cmp(&y),
                        _ => a.cmp(b),
                    }
                })
            });
        let mut out = vec![];
        for (v, spec, j) in versions {
            let defined_in = spec
                .get("defined_in")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{}_v{v}", p.name), ToString::to_string);
            let old_uid = format!("model.{}.{defined_in}", self.name);
            let Some(mut node) = self.nodes.remove(&old_uid) else {
                self.diags.push(
                    Diagnostic::error("version", format!("version {v} of model '{}' has no file {defined_in}.sql", p.name))
                        .at(ctx.at(&entry.join([Step::key("versions"), Step::Index(j), Step::key("v")]).path, Part::Value))
                        .with_help(format!("create {defined_in}.sql under the model paths, or set `defined_in:` for this version")),
                );
                continue;
            };
            self.names_seen.remove(&old_uid);
            let new_uid = format!("model.{}.{}.v{v}", self.name, p.name);
            node.name = p.name.clone();
            node.alias = p.name.clone();
            node.unique_id = new_uid.clone();
            node.fqn.pop();
            node.fqn.push(p.name.clone());
            node.fqn.push(format!("v{v}"));
            node.version = Some(v.clone());
            node.latest_version = latest.clone();
            node.spans.version = Some(j);
            if let Some(Value::Object(c)) = spec.get("config") {
                merge_into(&mut node.config, c);
            }
            self.names_seen
                .insert(new_uid.clone(), node.original_file_path.clone());
            self.nodes.insert(new_uid.clone(), node);
            out.push((new_uid, Some((v, j))));
        }
        out
    }

    pub(super) fn apply_patch(
        &mut self,
        rt: ResourceType,
        p: &NodeProps,
        entry: &YamlSpan,
        ctx: &FileCtx<'_>,
        patched: &mut BTreeMap<String, String>,
        pending_tests: &mut Vec<generic_tests::PendingTest>,
    ) {
        let here = || ctx.at(&entry.child(Step::key("name")).path, Part::Key);
        // YAML-defined snapshots (dbt 1.9) create their node here.
        if rt == ResourceType::Snapshot
            && let Some(rel) = &p.relation
        {
            let uid = format!("snapshot.{}.{}", self.name, p.name);
            if !self.nodes.contains_key(&uid) {
                let mut fqn = vec![self.name.clone()];
                fqn.extend(ctx.f.folders());
                fqn.push(p.name.clone());
                let raw = format!("select * from {{{{ {rel} }}}}");
                let mut node = self.new_node(rt, ctx.f, p.name.clone(), fqn, raw, String::new());
                node.line_offset = here().line.saturating_sub(1);
                node.spans.entry = Some(entry.clone());
                self.register(node);
            }
        }
        let uid = format!("{}.{}.{}", rt.as_str(), self.name, p.name);
        if let Some(prev) = patched.get(&uid) {
            self.diags.push(
                Diagnostic::error(
                    "duplicate",
                    format!(
                        "{rt} '{}' is described twice: in {prev} and {}",
                        p.name, ctx.f.original_file_path
                    ),
                )
                .at(here())
                .with_help("keep one properties entry per node"),
            );
            return;
        }
        // A versioned model (`versions:`) patches each of its version nodes.
        let targets: Vec<(String, Option<(String, usize)>)> =
            if rt == ResourceType::Model && !p.versions.is_empty() {
                self.version_nodes(p, entry, ctx)
            } else {
                vec![(uid.clone(), None)]
            };
        for (uid, version) in targets {
            if rt == ResourceType::Model
                && self.nodes.contains_key(&uid)
                && let Some(ts) = &p.time_spine
            {
                self.time_spine(&uid, p, ts, entry, ctx);
            }
            let version = version.map(|(v, _)| v);
            let Some(node) = self.nodes.get_mut(&uid) else {
                self.diags.push(
                    Diagnostic::warning(
                        "patch",
                        format!(
                            "properties describe {rt} '{}', but no such {rt} file exists",
                            p.name
                        ),
                    )
                    .at(here()),
                );
                continue;
            };
            patched.insert(uid.clone(), ctx.f.original_file_path.clone());
            node.spans.entry = Some(entry.clone());
            node.patch_path = Some(format!("{}://{}", self.name, ctx.f.original_file_path));
            node.description = p.description.clone().unwrap_or_default();
            let mut yaml_cfg = Config::new();
            if !p.meta.is_empty() {
                yaml_cfg.insert("meta".into(), Value::Object(p.meta.clone()));
            }
            let tags = p.tags.to_vec();
            if !tags.is_empty() {
                yaml_cfg.insert("tags".into(), Value::from(tags));
            }
            if let Some(docs) = &p.docs {
                yaml_cfg.insert("docs".into(), docs.clone());
            }
            for key in ["access", "group"] {
                let v = if key == "access" { &p.access } else { &p.group };
                if let Some(v) = v {
                    yaml_cfg.insert(key.into(), Value::from(v.clone()));
                }
            }
            merge_into(&mut yaml_cfg, &p.config);
            merge_into(&mut node.config, &yaml_cfg);
            for (k, v) in &p.config {
                node.unrendered_config
                    .insert(config::normalize_key(k), v.clone());
            }
            node.columns = columns_of(&p.columns);
            node.constraints = p.constraints.clone();
            if version.is_none() {
                node.latest_version = p.latest_version.as_ref().map(value_to_plain_string);
            }
            node.deprecation_date = p.deprecation_date.as_ref().map(value_to_plain_string);
            let node_uid = node.unique_id.clone();
            let folders = ctx.f.folders();
            let key_name = format!(
                "{}.{}",
                match rt {
                    ResourceType::Model => "models",
                    ResourceType::Seed => "seeds",
                    ResourceType::Snapshot => "snapshots",
                    _ => "analyses",
                },
                p.name
            );
            for (t, span) in tests_of(entry, &p.data_tests, &p.tests) {
                pending_tests.push(generic_tests::PendingTest::for_node(
                    t,
                    None,
                    &node_uid,
                    &p.name,
                    version.as_deref(),
                    &key_name,
                    &folders,
                    ctx.f,
                    span,
                ));
            }
            for (k, c) in p.columns.iter().enumerate() {
                let column = entry.join([Step::key("columns"), Step::Index(k)]);
                for (t, span) in tests_of(&column, &c.data_tests, &c.tests) {
                    pending_tests.push(generic_tests::PendingTest::for_node(
                        t,
                        Some(c),
                        &node_uid,
                        &p.name,
                        version.as_deref(),
                        &key_name,
                        &folders,
                        ctx.f,
                        span,
                    ));
                }
            }
        }
    }
}

/// A properties file read and parsed: the file, its text, its contents.
pub(super) type ParsedProperties = Result<(FoundFile, String, PropertiesFile), Diagnostic>;

/// A properties file being applied: the file and its text.
pub(super) struct FileCtx<'a> {
    pub(super) f: &'a FoundFile,
    pub(super) text: &'a str,
}

impl FileCtx<'_> {
    /// The address of a value in this file.
    pub(super) fn span(&self, path: YamlPath) -> YamlSpan {
        YamlSpan::new(&self.f.shown, path)
    }

    /// Where the value (or key) at `path` is in this file; its first line if it has none.
    pub(super) fn at(&self, path: &[Step], part: Part) -> Location {
        let file = Path::new(&self.f.shown);
        yaml::location(file, self.text, path, part)
            .unwrap_or_else(|| Location::from_line_col(file, self.text, 1, 1))
    }
}

/// The tests of an entry (`data_tests:`, then the older `tests:`), each with its address.
pub(super) fn tests_of<'v>(
    entry: &YamlSpan,
    data_tests: &'v [Value],
    tests: &'v [Value],
) -> Vec<(&'v Value, YamlSpan)> {
    let mut out = Vec::with_capacity(data_tests.len() + tests.len());
    for (list, items) in [("data_tests", data_tests), ("tests", tests)] {
        for (j, t) in items.iter().enumerate() {
            out.push((t, entry.join([Step::key(list), Step::Index(j)])));
        }
    }
    out
}

pub(super) fn columns_of(cols: &[ColumnProps]) -> IndexMap<String, ColumnInfo> {
    cols.iter()
        .map(|c| {
            (
                c.name.clone(),
                ColumnInfo {
                    name: c.name.clone(),
                    description: c.description.clone().unwrap_or_default(),
                    meta: {
                        let mut m = c.meta.clone();
                        if let Some(Value::Object(cm)) = c.config.get("meta") {
                            for (k, v) in cm {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                        m
                    },
                    data_type: c.data_type.clone(),
                    constraints: c.constraints.clone(),
                    quote: c.quote,
                    tags: c.tags.to_vec(),
                    granularity: c.granularity.clone(),
                    doc_blocks: vec![],
                },
            )
        })
        .collect()
}
