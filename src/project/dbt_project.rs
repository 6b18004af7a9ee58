//! `dbt_project.yml`, typed. Field names and defaults follow dbt's documentation; unknown keys are
//! accepted (dbt warns on them), wrong types are errors with file, line and column.

use serde::Deserialize;
use serde_json::{Map, Value};

/// A value that dbt accepts either as one item or as a list.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::None => vec![],
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// One entry of `dispatch:`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct DispatchConfig {
    pub macro_namespace: String,
    pub search_order: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DbtProject {
    pub name: String,
    #[serde(default)]
    pub version: Option<Value>,
    #[serde(default)]
    pub config_version: Option<i64>,
    #[serde(default)]
    pub profile: Option<String>,
    /// Accepted and recorded; not enforced against kiln's own version.
    #[serde(default)]
    pub require_dbt_version: OneOrMany,
    #[serde(default, alias = "source-paths")]
    pub model_paths: Option<Vec<String>>,
    #[serde(default, alias = "data-paths")]
    pub seed_paths: Option<Vec<String>>,
    #[serde(default)]
    pub test_paths: Option<Vec<String>>,
    #[serde(default)]
    pub macro_paths: Option<Vec<String>>,
    #[serde(default)]
    pub snapshot_paths: Option<Vec<String>>,
    #[serde(default)]
    pub analysis_paths: Option<Vec<String>>,
    #[serde(default)]
    pub docs_paths: Option<Vec<String>>,
    #[serde(default)]
    pub asset_paths: Option<Vec<String>>,
    #[serde(default)]
    pub target_path: Option<String>,
    #[serde(default)]
    pub log_path: Option<String>,
    #[serde(default)]
    pub packages_install_path: Option<String>,
    #[serde(default)]
    pub clean_targets: Option<Vec<String>>,
    #[serde(default)]
    pub vars: Map<String, Value>,
    #[serde(default)]
    pub quoting: Map<String, Value>,
    #[serde(default)]
    pub on_run_start: OneOrMany,
    #[serde(default)]
    pub on_run_end: OneOrMany,
    #[serde(default)]
    pub dispatch: Vec<DispatchConfig>,
    #[serde(default)]
    pub models: Map<String, Value>,
    #[serde(default)]
    pub seeds: Map<String, Value>,
    #[serde(default)]
    pub snapshots: Map<String, Value>,
    #[serde(default)]
    pub tests: Map<String, Value>,
    #[serde(default, alias = "data_tests")]
    pub data_tests: Map<String, Value>,
    #[serde(default)]
    pub sources: Map<String, Value>,
    #[serde(default)]
    pub analyses: Map<String, Value>,
    #[serde(default)]
    pub exposures: Map<String, Value>,
    /// `semantic-models:`, `metrics:` and `saved-queries:`: the semantic layer's configs
    /// (`+enabled`, `+group`, `+meta`, `+tags`), by the resources' fqn.
    #[serde(default, alias = "semantic_models")]
    pub semantic_models: Map<String, Value>,
    #[serde(default)]
    pub metrics: Map<String, Value>,
    #[serde(default, alias = "saved_queries")]
    pub saved_queries: Map<String, Value>,
    /// `unit_tests:` (dbt writes it with an underscore; `unit-tests` is read too).
    #[serde(default, rename = "unit_tests", alias = "unit-tests")]
    pub unit_tests: Map<String, Value>,
    #[serde(default)]
    pub flags: Map<String, Value>,
    #[serde(default)]
    pub query_comment: Option<Value>,
}

impl DbtProject {
    fn paths(v: &Option<Vec<String>>, default: &[&str]) -> Vec<String> {
        match v {
            Some(v) => v
                .iter()
                .map(|p| p.trim_end_matches('/').to_string())
                .collect(),
            None => default.iter().map(ToString::to_string).collect(),
        }
    }
    pub fn model_paths(&self) -> Vec<String> {
        Self::paths(&self.model_paths, &["models"])
    }
    pub fn seed_paths(&self) -> Vec<String> {
        Self::paths(&self.seed_paths, &["seeds"])
    }
    pub fn test_paths(&self) -> Vec<String> {
        Self::paths(&self.test_paths, &["tests"])
    }
    pub fn macro_paths(&self) -> Vec<String> {
        Self::paths(&self.macro_paths, &["macros"])
    }
    pub fn snapshot_paths(&self) -> Vec<String> {
        Self::paths(&self.snapshot_paths, &["snapshots"])
    }
    pub fn analysis_paths(&self) -> Vec<String> {
        Self::paths(&self.analysis_paths, &["analyses"])
    }
    /// dbt reads docs blocks from every resource path unless docs-paths is set.
    pub fn docs_paths(&self) -> Vec<String> {
        match &self.docs_paths {
            Some(_) => Self::paths(&self.docs_paths, &[]),
            None => {
                let mut all = self.model_paths();
                all.extend(self.seed_paths());
                all.extend(self.test_paths());
                all.extend(self.macro_paths());
                all.extend(self.snapshot_paths());
                all.extend(self.analysis_paths());
                all
            }
        }
    }
    pub fn target_path(&self) -> String {
        self.target_path.clone().unwrap_or_else(|| "target".into())
    }
    pub fn packages_install_path(&self) -> String {
        self.packages_install_path
            .clone()
            .unwrap_or_else(|| "dbt_packages".into())
    }
    pub fn clean_targets(&self) -> Vec<String> {
        match &self.clean_targets {
            Some(v) => v.clone(),
            None => vec![self.target_path(), self.packages_install_path()],
        }
    }
    /// `dispatch:` as search orders by macro namespace.
    pub fn dispatch_orders(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.dispatch
            .iter()
            .map(|d| (d.macro_namespace.clone(), d.search_order.clone()))
            .collect()
    }

    /// The config tree (`models:`, `seeds:`...) that configures resources of type `rt`.
    pub fn config_tree(
        &self,
        rt: super::node::ResourceType,
    ) -> std::borrow::Cow<'_, Map<String, Value>> {
        use super::node::ResourceType;
        use std::borrow::Cow;
        match rt {
            ResourceType::Seed => Cow::Borrowed(&self.seeds),
            ResourceType::Snapshot => Cow::Borrowed(&self.snapshots),
            // As in dbt, analyses take their configs from the `models:` tree.
            ResourceType::Model | ResourceType::Analysis => Cow::Borrowed(&self.models),
            ResourceType::Test => Cow::Owned(self.data_test_configs()),
            ResourceType::Source => Cow::Borrowed(&self.sources),
            ResourceType::Exposure => Cow::Borrowed(&self.exposures),
            ResourceType::UnitTest => Cow::Borrowed(&self.unit_tests),
            ResourceType::SemanticModel => Cow::Borrowed(&self.semantic_models),
            ResourceType::Metric => Cow::Borrowed(&self.metrics),
            ResourceType::SavedQuery => Cow::Borrowed(&self.saved_queries),
        }
    }

    /// The data-test config tree: `data_tests:` (new) merged over `tests:` (old).
    pub fn data_test_configs(&self) -> Map<String, Value> {
        let mut m = self.tests.clone();
        for (k, v) in &self.data_tests {
            m.insert(k.clone(), v.clone());
        }
        m
    }
}
