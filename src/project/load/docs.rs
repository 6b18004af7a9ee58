//! `{% docs %}` blocks in .md files, and `{{ doc('name') }}` rendered in every description.

use super::Loader;
use crate::error::{Diagnostic, Location};
use crate::project::node::DocBlock;
use crate::project::render::render_descriptions;
use regex::Regex;
use std::collections::BTreeMap;
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
                            &f.shown,
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
        let all_docs = std::mem::take(&mut self.all_docs);
        let (root, own) = (self.root_name().to_string(), self.name.clone());
        let lookup = DocLookup::new(&all_docs, &root, &own);
        let docs = lookup.contents();
        let dir = self.dir.clone();
        let mut errors = vec![];
        // Renders `doc()` calls in place and returns the docs blocks they named, as dbt's
        // `doc_blocks`.
        let mut fix = |text: &mut String, file: &str| -> Vec<String> {
            if !text.contains("{{") {
                return vec![];
            }
            let used = doc_block_ids(text, &lookup);
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
        let prefix = self.shown_prefix.clone();
        let shown = |file: &str| {
            if prefix.is_empty() {
                file.to_string()
            } else {
                format!("{prefix}/{file}")
            }
        };
        for n in self.nodes.values_mut() {
            let file = shown(
                n.patch_path
                    .as_deref()
                    .and_then(|p| p.split("://").nth(1))
                    .unwrap_or(&n.original_file_path),
            );
            n.doc_blocks = fix(&mut n.description, &file);
            for c in n.columns.values_mut() {
                c.doc_blocks = fix(&mut c.description, &file);
            }
        }
        for s in self.sources.values_mut() {
            let file = shown(&s.original_file_path);
            s.doc_blocks = fix(&mut s.description, &file);
            fix(&mut s.source_description, &file);
            for c in s.columns.values_mut() {
                c.doc_blocks = fix(&mut c.description, &file);
            }
        }
        for e in self.exposures.values_mut() {
            let file = shown(&e.original_file_path);
            fix(&mut e.description, &file);
        }
        self.diags.extend(errors);
        self.all_docs = all_docs;
    }
}

/// The docs blocks a `doc()` call can name, found as dbt finds them: `doc('name')` in the root
/// project, then in the describing node's own package, then in any package; `doc('package',
/// 'name')` in that package.
struct DocLookup<'a> {
    docs: &'a BTreeMap<String, DocBlock>,
    root: &'a str,
    own: &'a str,
}

impl<'a> DocLookup<'a> {
    fn new(docs: &'a BTreeMap<String, DocBlock>, root: &'a str, own: &'a str) -> Self {
        DocLookup { docs, root, own }
    }

    /// The block `doc(package?, name)` names.
    fn find(&self, package: Option<&str>, name: &str) -> Option<&'a DocBlock> {
        if let Some(p) = package {
            return self.docs.get(&format!("doc.{p}.{name}"));
        }
        [self.root, self.own]
            .iter()
            .find_map(|p| self.docs.get(&format!("doc.{p}.{name}")))
            .or_else(|| self.docs.values().find(|d| d.name == name))
    }

    /// What the description renderer's `doc()` reads: each block by `name` (the one a one-argument
    /// call finds) and by `package.name`.
    fn contents(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for d in self.docs.values() {
            out.insert(
                format!("{}.{}", d.package_name, d.name),
                d.block_contents.clone(),
            );
            if let Some(found) = self.find(None, &d.name) {
                out.insert(d.name.clone(), found.block_contents.clone());
            }
        }
        out
    }
}

static DOC_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bdoc\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)"#)
        .expect("static regex")
});

/// The docs blocks `text` names through `doc('name')` or `doc('package', 'name')`, as unique_ids,
/// in order of use; names that resolve to no block are left out, as dbt does.
fn doc_block_ids(text: &str, lookup: &DocLookup<'_>) -> Vec<String> {
    let mut out = vec![];
    for c in DOC_CALL.captures_iter(text) {
        let found = match (c.get(1), c.get(2)) {
            (Some(p), Some(n)) => lookup.find(Some(p.as_str()), n.as_str()),
            (Some(n), None) => lookup.find(None, n.as_str()),
            _ => continue,
        };
        if let Some(d) = found {
            out.push(d.unique_id.clone());
        }
    }
    out
}
