//! `exposures:` in properties YAML.

use super::Loader;
use super::patch::FileCtx;
use crate::error::Diagnostic;
use crate::project::config::{self, Config, merge_into, project_config_for};
use crate::project::node::ExposureNode;
use crate::project::refs::{RefOrSource, parse_ref_or_source};
use crate::project::yaml::{Part, Step, YamlSpan};
use serde_json::Value;

impl Loader {
    pub(super) fn add_exposure(
        &mut self,
        e: &crate::project::properties::ExposureProps,
        entry: &YamlSpan,
        ctx: &FileCtx<'_>,
    ) {
        let here = ctx.at(&entry.child(Step::key("name")).path, Part::Key);
        let uid = format!("exposure.{}.{}", self.name, e.name);
        let Some(kind) = e.kind.clone() else {
            self.diags.push(
                Diagnostic::error("exposure", format!("exposure '{}' has no `type`", e.name))
                    .at(here)
                    .with_help("set type to one of dashboard, notebook, analysis, ml, application"),
            );
            return;
        };
        if !["dashboard", "notebook", "analysis", "ml", "application"].contains(&kind.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    "exposure",
                    format!("exposure '{}' has type '{kind}'", e.name),
                )
                .at(ctx.at(&entry.child(Step::key("type")).path, Part::Value))
                .with_help("type must be one of dashboard, notebook, analysis, ml, application"),
            );
            return;
        }
        let mut refs = vec![];
        let mut sources = vec![];
        for (j, dep) in e.depends_on.iter().enumerate() {
            match parse_ref_or_source(dep) {
                Some(RefOrSource::Ref(r)) => refs.push(r),
                Some(RefOrSource::Source(s, t)) => sources.push((s, t)),
                None => self.diags.push(
                    Diagnostic::error(
                        "exposure",
                        format!(
                            "exposure '{}' depends on '{dep}', which is not a ref() or source()",
                            e.name
                        ),
                    )
                    .at(ctx.at(
                        &entry.join([Step::key("depends_on"), Step::Index(j)]).path,
                        Part::Value,
                    ))
                    .with_help(
                        "write depends_on entries as ref('model') or source('src', 'table')",
                    ),
                ),
            }
        }
        let mut fqn = vec![self.name.clone()];
        fqn.extend(ctx.f.folders());
        fqn.push(e.name.clone());
        let mut config = Config::new();
        config.insert("enabled".into(), Value::Bool(true));
        merge_into(&mut config, &project_config_for(&self.cfg.exposures, &fqn));
        merge_into(&mut config, &e.config);
        let mut unrendered = config::unrendered_project_config_for(&self.cfg.exposures, &fqn);
        for (k, v) in &e.config {
            unrendered.insert(config::normalize_key(k), v.clone());
        }
        self.exposures.insert(
            uid.clone(),
            ExposureNode {
                unique_id: uid,
                name: e.name.clone(),
                label: e.label.clone(),
                kind,
                maturity: e.maturity.clone(),
                url: e.url.clone(),
                description: e.description.clone().unwrap_or_default(),
                owner: e.owner.clone(),
                refs,
                sources,
                meta: e.meta.clone(),
                tags: e.tags.to_vec(),
                config,
                unrendered_config: unrendered,
                package_name: self.name.clone(),
                path: ctx.f.path.clone(),
                original_file_path: ctx.f.original_file_path.clone(),
                fqn,
            },
        );
    }
}
