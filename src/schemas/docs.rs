//! Docs blocks (`{% docs name %}`) as dbt's manifest writes them.

use crate::project::DocBlock;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The docs site's default front page, `doc.dbt.__overview__`: dbt ships one in its own package
/// and every manifest lists it (a project's own `__overview__` block takes precedence on the
/// site). The text is kiln's.
const DEFAULT_OVERVIEW: &str = "### Welcome!

This is the documentation of this dbt project, generated from its manifest and catalog.

### Finding your way

The **Project** tab lists models, seeds, snapshots, tests and sources in the folders of the
project. The **Database** tab lists the same relations by database and schema, as the warehouse
holds them; ephemeral models are not there, as they are never built.

### Lineage

The graph button opens the lineage of the page you are on: what it is built from and what is
built from it. `--select` and `--exclude` narrow the graph with the same selection syntax as the
command line.

### Writing this page

Write a `{% docs __overview__ %}` block in a `.md` file of the project to replace this page.";

/// The `docs` section: every docs block by unique_id, with dbt's default front page unless the
/// project writes its own.
pub fn docs_json(docs: &BTreeMap<String, DocBlock>) -> Value {
    let entry = |d: &DocBlock| {
        json!({
            "name": d.name,
            "resource_type": "doc",
            "package_name": d.package_name,
            "path": d.path,
            "original_file_path": d.original_file_path,
            "unique_id": d.unique_id,
            "block_contents": d.block_contents,
        })
    };
    let mut out: Map<String, Value> = docs.iter().map(|(id, d)| (id.clone(), entry(d))).collect();
    let overview = DocBlock {
        unique_id: "doc.dbt.__overview__".into(),
        name: "__overview__".into(),
        package_name: "dbt".into(),
        path: "overview.md".into(),
        original_file_path: "docs/overview.md".into(),
        block_contents: DEFAULT_OVERVIEW.into(),
    };
    out.entry(overview.unique_id.clone())
        .or_insert_with(|| entry(&overview));
    Value::Object(out)
}
