//! `sources:` in properties YAML: one source node per table, with dbt's merging of config, meta,
//! tags and freshness from dbt_project.yml, the source and the table.

use super::Loader;
use super::patch::{FileCtx, columns_of, tests_of};
use crate::error::Diagnostic;
use crate::project::config::{self, Config, merge_into, project_config_for};
use crate::project::generic_tests;
use crate::project::node::SourceNode;
use crate::project::properties::SourceProps;
use crate::project::yaml::{Part, Step, YamlSpan};
use serde_json::Value;

impl Loader {
    pub(super) fn add_source(
        &mut self,
        s: &SourceProps,
        entry: &YamlSpan,
        ctx: &FileCtx<'_>,
        pending_tests: &mut Vec<generic_tests::PendingTest>,
    ) {
        for (i, t) in s.tables.iter().enumerate() {
            let table = entry.join([Step::key("tables"), Step::Index(i)]);
            let uid = format!("source.{}.{}.{}", self.name, s.name, t.name);
            if self.sources.contains_key(&uid) {
                self.diags.push(
                    Diagnostic::error(
                        "duplicate",
                        format!("source table '{}.{}' is declared twice", s.name, t.name),
                    )
                    .at(ctx.at(&table.child(Step::key("name")).path, Part::Key)),
                );
                continue;
            }
            let mut fqn = vec![self.name.clone()];
            fqn.extend(ctx.f.folders());
            fqn.push(s.name.clone());
            fqn.push(t.name.clone());
            let project_config = project_config_for(&self.cfg.sources, &fqn);
            let mut config = Config::new();
            config.insert("enabled".into(), Value::Bool(true));
            merge_into(&mut config, &project_config);
            merge_into(&mut config, &s.config);
            merge_into(&mut config, &t.config);
            // A package's sources: the root project's `sources: {<package>: ...}` last, as dbt.
            if let Some(root) = &self.root {
                merge_into(&mut config, &project_config_for(&root.sources, &fqn));
            }
            // dbt merges `meta` from the source and the table, each top-level then `config:`,
            // the table's keys winning, over dbt_project.yml's: catalogs read the table's meta,
            // so a source's owner and SLA reach every table of it.
            let config_meta = |c: &Config| c.get("meta").and_then(Value::as_object).cloned();
            let mut own_meta = s.meta.clone();
            for layer in [
                config_meta(&s.config).unwrap_or_default(),
                t.meta.clone(),
                config_meta(&t.config).unwrap_or_default(),
            ] {
                own_meta.extend(layer);
            }
            let mut meta = config_meta(&project_config).unwrap_or_default();
            meta.extend(own_meta.clone());
            config.insert("meta".into(), Value::Object(meta.clone()));
            let mut source_meta = s.meta.clone();
            source_meta.extend(config_meta(&s.config).unwrap_or_default());
            // Tags of the source and the table (top-level and `config:`) as one sorted set, after
            // dbt_project.yml's.
            let mut own_tags: Vec<String> = s.tags.to_vec();
            own_tags.extend(config::tags_of(&s.config));
            own_tags.extend(t.tags.to_vec());
            own_tags.extend(config::tags_of(&t.config));
            own_tags.sort();
            own_tags.dedup();
            let mut tags: Vec<String> = config::tags_of(&project_config);
            for tag in &own_tags {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            // Source and table `tags:` are configs too (`config.tags:` selects by them).
            if !tags.is_empty() {
                config.insert("tags".into(), Value::from(tags.clone()));
            }
            // The nearest `freshness` wins; `freshness: null` switches an inherited one off.
            let freshness = t
                .freshness
                .clone()
                .or_else(|| s.freshness.clone())
                .or_else(|| config.get("freshness").cloned())
                .filter(|f| !f.is_null());
            let loaded_at_field = t
                .loaded_at_field
                .clone()
                .or_else(|| s.loaded_at_field.clone())
                .or_else(|| {
                    config
                        .get("loaded_at_field")
                        .and_then(Value::as_str)
                        .map(String::from)
                });
            let external = config
                .get("external_location")
                .cloned()
                .or_else(|| meta.get("external_location").cloned());
            // dbt's `unrendered_config`: dbt_project.yml's settings as written, then the source's
            // and the table's `config:`, then the values it works out for the table.
            let mut unrendered = config::unrendered_project_config_for(&self.cfg.sources, &fqn);
            for (k, v) in s.config.iter().chain(t.config.iter()) {
                unrendered.insert(config::normalize_key(k), v.clone());
            }
            let switched_off = [
                t.freshness.as_ref(),
                s.freshness.as_ref(),
                t.config.get("freshness"),
                s.config.get("freshness"),
            ]
            .contains(&Some(&Value::Null));
            match &freshness {
                Some(f) => {
                    unrendered.insert("freshness".into(), f.clone());
                }
                None if switched_off => {
                    unrendered.insert("freshness".into(), Value::Null);
                }
                None => {
                    unrendered.remove("freshness");
                }
            }
            let loaded_at_query = t
                .loaded_at_query
                .clone()
                .or_else(|| s.loaded_at_query.clone());
            let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::from);
            unrendered.insert("loaded_at_field".into(), opt(&loaded_at_field));
            unrendered.insert("loaded_at_query".into(), opt(&loaded_at_query));
            unrendered.insert("meta".into(), Value::Object(own_meta));
            unrendered.insert("tags".into(), Value::from(own_tags));
            let mut quoting = s.quoting.clone();
            for (k, v) in &t.quoting {
                quoting.insert(k.clone(), v.clone());
            }
            // dbt quotes the column of a test when the source or table sets `quoting: {column:
            // true}` and the column does not say otherwise.
            let quote_columns = quoting.get("column").and_then(Value::as_bool) == Some(true);
            let database = config
                .get("database")
                .and_then(Value::as_str)
                .map(String::from)
                .or_else(|| s.database.clone())
                .unwrap_or_else(|| self.target_db.clone());
            let schema = config
                .get("schema")
                .and_then(Value::as_str)
                .map(String::from)
                .or_else(|| s.schema.clone())
                .unwrap_or_else(|| s.name.clone());
            let node = SourceNode {
                unique_id: uid.clone(),
                source_name: s.name.clone(),
                name: t.name.clone(),
                identifier: t.identifier.clone().unwrap_or_else(|| t.name.clone()),
                database,
                schema,
                package_name: self.name.clone(),
                path: ctx.f.original_file_path.clone(),
                original_file_path: ctx.f.original_file_path.clone(),
                fqn,
                description: t.description.clone().unwrap_or_default(),
                source_description: s.description.clone().unwrap_or_default(),
                loader: s.loader.clone().unwrap_or_default(),
                loaded_at_field,
                loaded_at_query,
                freshness,
                quoting,
                meta,
                source_meta,
                tags,
                config,
                unrendered_config: unrendered,
                unrendered_database: s.database.clone(),
                unrendered_schema: s.schema.clone(),
                columns: columns_of(&t.columns),
                relation_name: String::new(),
                external,
                doc_blocks: vec![],
            };
            let key_name = format!("sources.{}", s.name);
            let folders = ctx.f.folders();
            // dbt gives the tests the source's and the table's `tags:` (not their configs').
            let test_tags: Vec<String> =
                s.tags.to_vec().into_iter().chain(t.tags.to_vec()).collect();
            for (test, span) in tests_of(&table, &t.data_tests, &t.tests) {
                pending_tests.push(
                    generic_tests::PendingTest::for_source(
                        test, None, false, &uid, &s.name, &t.name, &key_name, &folders, ctx.f, span,
                    )
                    .inheriting(test_tags.clone()),
                );
            }
            for (k, c) in t.columns.iter().enumerate() {
                let column = table.join([Step::key("columns"), Step::Index(k)]);
                let column_tags: Vec<String> =
                    test_tags.iter().cloned().chain(c.tags.to_vec()).collect();
                for (test, span) in tests_of(&column, &c.data_tests, &c.tests) {
                    pending_tests.push(
                        generic_tests::PendingTest::for_source(
                            test,
                            Some(c),
                            quote_columns,
                            &uid,
                            &s.name,
                            &t.name,
                            &key_name,
                            &folders,
                            ctx.f,
                            span,
                        )
                        .inheriting(column_tags.clone()),
                    );
                }
            }
            self.sources.insert(uid, node);
        }
    }
}
