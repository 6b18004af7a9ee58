//! Models, analyses, singular tests, seeds and snapshots as nodes: one per file (one per
//! `{% snapshot %}` block), with the config dbt_project.yml gives their folder.

use super::{Loader, file_checksum, read};
use crate::error::Diagnostic;
use crate::project::config::{Config, merge_into, project_config_for};
use crate::project::discover::FoundFile;
use crate::project::node::*;
use indexmap::IndexMap;
use rayon::prelude::*;
use regex::Regex;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::LazyLock;

static SNAPSHOT_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?s)\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}",
    )
    .expect("static regex")
});

impl Loader {
    pub(super) fn base_config(&self, rt: ResourceType, fqn: &[String]) -> Config {
        let mut c = Config::new();
        let default_mat = match rt {
            ResourceType::Model | ResourceType::Analysis => "view",
            ResourceType::Seed => "seed",
            ResourceType::Snapshot => "snapshot",
            ResourceType::Test => "test",
            _ => "",
        };
        c.insert("enabled".into(), Value::Bool(true));
        if !default_mat.is_empty() {
            c.insert("materialized".into(), Value::from(default_mat));
        }
        if rt == ResourceType::Test {
            c.insert("severity".into(), Value::from("ERROR"));
        }
        merge_into(&mut c, &project_config_for(self.project_tree(rt), fqn));
        c
    }

    pub(super) fn register(&mut self, node: Node) {
        if let Some(prev) = self.names_seen.get(&node.unique_id) {
            self.diags.push(
                Diagnostic::error(
                    "duplicate",
                    format!(
                        "two {}s are named '{}': {} and {}",
                        node.resource_type, node.name, prev, node.original_file_path
                    ),
                )
                .in_file(&node.file)
                .with_help("names must be unique within a project: rename one of the files"),
            );
            return;
        }
        self.names_seen
            .insert(node.unique_id.clone(), node.original_file_path.clone());
        self.nodes.insert(node.unique_id.clone(), Box::new(node));
    }

    pub(super) fn new_node(
        &self,
        rt: ResourceType,
        f: &FoundFile,
        name: String,
        fqn: Vec<String>,
        raw: String,
        checksum: String,
    ) -> Node {
        let config = self.base_config(rt, &fqn);
        Node {
            unique_id: format!("{}.{}.{}", rt.as_str(), self.name, name),
            resource_type: rt,
            name: name.clone(),
            package_name: self.name.clone(),
            path: f.path.clone(),
            original_file_path: f.original_file_path.clone(),
            file: PathBuf::from(&f.shown),
            line_offset: 0,
            fqn,
            raw_code: raw,
            checksum,
            config,
            unrendered_config: Config::new(),
            description: String::new(),
            columns: IndexMap::new(),
            patch_path: None,
            refs: vec![],
            sources: vec![],
            depends_on_macros: vec![],
            database: self.target_db.clone(),
            schema: self.target_schema.clone(),
            alias: name,
            relation_name: None,
            test: None,
            version: None,
            latest_version: None,
            deprecation_date: None,
            constraints: vec![],
            doc_blocks: vec![],
            settings: Default::default(),
            spans: Default::default(),
        }
    }

    pub(super) fn fqn_for(&self, f: &FoundFile, name: &str) -> Vec<String> {
        let mut fqn = vec![self.name.clone()];
        fqn.extend(f.folders());
        fqn.push(name.to_string());
        fqn
    }

    /// Reads SQL files on every core, then registers their nodes in path order.
    pub(super) fn add_sql_nodes(&mut self, rt: ResourceType, files: &[FoundFile]) {
        let read = self.read_sql_nodes(rt, files);
        self.register_all(read);
    }

    /// Reads SQL files into nodes, on every core.
    pub(super) fn read_sql_nodes(
        &self,
        rt: ResourceType,
        files: &[FoundFile],
    ) -> Vec<Result<Node, Diagnostic>> {
        files
            .par_iter()
            .map(|f| {
                let text = read(&f.abs)?;
                let name = f.stem();
                let checksum = file_checksum(text.as_bytes());
                if rt == ResourceType::Analysis {
                    // dbt files analyses under an `analysis` folder: in their path and fqn.
                    let mut fqn = vec![self.name.clone(), "analysis".to_string()];
                    fqn.extend(f.folders());
                    fqn.push(name.clone());
                    let mut node = self.new_node(rt, f, name, fqn, text, checksum);
                    node.path = format!("analysis/{}", f.path);
                    return Ok(node);
                }
                let fqn = self.fqn_for(f, &name);
                Ok(self.new_node(rt, f, name, fqn, text, checksum))
            })
            .collect()
    }

    pub(super) fn register_all(&mut self, read: Vec<Result<Node, Diagnostic>>) {
        for r in read {
            match r {
                Ok(node) => self.register(node),
                Err(d) => self.diags.push(d),
            }
        }
    }

    pub(super) fn add_seed(&mut self, f: &FoundFile) {
        let bytes = match std::fs::read(&f.abs) {
            Ok(b) => b,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error("io", format!("cannot read seed: {e}")).in_file(&f.shown),
                );
                return;
            }
        };
        let name = f.stem();
        let fqn = self.fqn_for(f, &name);
        let node = self.new_node(
            ResourceType::Seed,
            f,
            name,
            fqn,
            String::new(),
            file_checksum(&bytes),
        );
        self.register(node);
    }

    pub(super) fn add_snapshots(&mut self, f: &FoundFile) {
        let Some(text) = self.read_found(f) else {
            return;
        };
        let mut found = false;
        for cap in SNAPSHOT_BLOCK.captures_iter(&text) {
            found = true;
            let (Some(name_m), Some(body)) = (cap.get(1), cap.get(2)) else {
                continue;
            };
            let name = name_m.as_str().to_string();
            let mut fqn = self.fqn_for(f, &f.stem());
            fqn.push(name.clone());
            let checksum = file_checksum(text.as_bytes());
            let mut node = self.new_node(
                ResourceType::Snapshot,
                f,
                name,
                fqn,
                body.as_str().to_string(),
                checksum,
            );
            node.line_offset = text[..body.start()].matches('\n').count();
            self.register(node);
        }
        if !found && !text.trim().is_empty() {
            self.diags.push(
                Diagnostic::warning(
                    "snapshot",
                    "no {% snapshot name %} ... {% endsnapshot %} block in this file",
                )
                .in_file(&f.shown),
            );
        }
    }
}
