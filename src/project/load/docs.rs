//! `{% docs %}` blocks in .md files, and `{{ doc('name') }}` rendered in every description.

use super::Loader;
use crate::error::{Diagnostic, Location};
use crate::project::node::DocBlock;
use crate::project::render::render_descriptions;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

static DOCS_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)\{%-?\s*docs\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}")
        .expect("static regex")
});

impl Loader {
    pub(super) fn load_docs(&mut self) {
        for f in self.find(&self.cfg.docs_paths(), &["md"]) {
            let Some(text) = self.read_found(&f) else {
                continue;
            };
            for cap in DOCS_BLOCK.captures_iter(&text) {
                let (Some(name), Some(body)) = (cap.get(1), cap.get(2)) else {
                    continue;
                };
                let uid = format!("doc.{}.{}", self.name, name.as_str());
                if let Some(prev) = self.docs.get(&uid) {
                    self.diags.push(
                        Diagnostic::error(
                            "duplicate",
                            format!(
                                "docs block '{}' is defined twice: {} and {}",
                                name.as_str(),
                                prev.original_file_path,
                                f.original_file_path
                            ),
                        )
                        .at(Location::from_offset(
                            &f.original_file_path,
                            &text,
                            name.start(),
                        ))
                        .with_help("docs block names are global to the project: rename or remove one of them"),
                    );
                    continue;
                }
                self.docs.insert(
                    uid.clone(),
                    DocBlock {
                        unique_id: uid,
                        name: name.as_str().to_string(),
                        package_name: self.name.clone(),
                        path: f.path.clone(),
                        original_file_path: f.original_file_path.clone(),
                        block_contents: body.as_str().trim().to_string(),
                    },
                );
            }
        }
    }

    /// Replaces `{{ doc('name') }}` in descriptions with the docs block's text.
    pub(super) fn render_descriptions(&mut self) {
        let docs: BTreeMap<String, String> = self
            .docs
            .values()
            .map(|d| (d.name.clone(), d.block_contents.clone()))
            .collect();
        let doc_ids: BTreeSet<String> = self.docs.keys().cloned().collect();
        let project = self.name.clone();
        let dir = self.dir.clone();
        let mut errors = vec![];
        // Renders `doc()` calls in place and returns the docs blocks they named, as dbt's
        // `doc_blocks`.
        let mut fix = |text: &mut String, file: &str| -> Vec<String> {
            if !text.contains("{{") {
                return vec![];
            }
            let used = doc_block_ids(text, &project, &doc_ids);
            match render_descriptions(text, &docs) {
                Ok(t) => *text = t,
                Err(f) => {
                    let d = Diagnostic::error("doc", f.message.clone()).with_help(
                        f.hint.clone().unwrap_or_else(|| {
                            "define it with {% docs name %}...{% enddocs %} in a .md file".into()
                        }),
                    );
                    // Point at the doc() call naming the missing block, else the description.
                    let missing = f.message.split('\'').nth(1).unwrap_or_default();
                    let at = std::fs::read_to_string(dir.join(file))
                        .ok()
                        .and_then(|src| {
                            let offset = [format!("'{missing}'"), format!("\"{missing}\"")]
                                .iter()
                                .filter_map(|q| src.find(&format!("doc({q}")))
                                .min()
                                .or_else(|| src.find(text.lines().next().unwrap_or_default()))?;
                            Some(Location::from_offset(file, &src, offset))
                        });
                    errors.push(match at {
                        Some(loc) => d.at(loc),
                        None => d.in_file(file),
                    });
                }
            }
            used
        };
        for n in self.nodes.values_mut() {
            let file = n
                .patch_path
                .as_deref()
                .and_then(|p| p.split("://").nth(1))
                .unwrap_or(&n.original_file_path)
                .to_string();
            n.doc_blocks = fix(&mut n.description, &file);
            for c in n.columns.values_mut() {
                c.doc_blocks = fix(&mut c.description, &file);
            }
        }
        for s in self.sources.values_mut() {
            let file = s.original_file_path.clone();
            s.doc_blocks = fix(&mut s.description, &file);
            fix(&mut s.source_description, &file);
            for c in s.columns.values_mut() {
                c.doc_blocks = fix(&mut c.description, &file);
            }
        }
        for e in self.exposures.values_mut() {
            let file = e.original_file_path.clone();
            fix(&mut e.description, &file);
        }
        self.diags.extend(errors);
    }
}

static DOC_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bdoc\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)"#)
        .expect("static regex")
});

/// The docs blocks `text` names through `doc('name')` or `doc('package', 'name')`, as unique_ids,
/// in order of use; names that resolve to no block are left out, as dbt does.
fn doc_block_ids(text: &str, project: &str, known: &BTreeSet<String>) -> Vec<String> {
    let mut out = vec![];
    for c in DOC_CALL.captures_iter(text) {
        let (package, name) = match (c.get(1), c.get(2)) {
            (Some(p), Some(n)) => (p.as_str(), n.as_str()),
            (Some(n), None) => (project, n.as_str()),
            _ => continue,
        };
        let uid = format!("doc.{package}.{name}");
        if known.contains(&uid) {
            out.push(uid);
        }
    }
    out
}
