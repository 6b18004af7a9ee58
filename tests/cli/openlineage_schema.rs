//! OpenLineage's published JSON schemas (vendored in `tests/schemas/openlineage/`, see its
//! README) as validators: an event against `RunEvent`, and each of its facets against the
//! facet's own schema. Shared by the `run` and `demo` test crates.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// OpenLineage's schemas by their `$id`, served to the validator (no network).
struct Vendored(BTreeMap<String, Value>);

impl jsonschema::Retrieve for Vendored {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        self.0
            .get(uri.as_str())
            .cloned()
            .ok_or_else(|| format!("no vendored schema {}", uri.as_str()).into())
    }
}

fn vendored() -> BTreeMap<String, Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/openlineage");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("the vendored schemas") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read"))
                .expect("schema JSON");
            let id = v["$id"].as_str().expect("$id").to_string();
            out.insert(id, v);
        }
    }
    out
}

/// Validates events: each against `RunEvent`, and its facets against their own schemas.
pub struct Validators {
    event: jsonschema::Validator,
    /// (which facets map, validator) pairs: `run`, `job` or `dataset`.
    facets: Vec<(&'static str, jsonschema::Validator)>,
}

impl Validators {
    pub fn new() -> Validators {
        let schemas = vendored();
        let build = |schema: &Value| {
            jsonschema::options()
                .should_validate_formats(true)
                .with_retriever(Vendored(schemas.clone()))
                .build(schema)
                .expect("the schema compiles")
        };
        let event = build(&json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        }));
        let facet = |name: &str| {
            let id = format!("https://openlineage.io/spec/facets/{name}");
            build(schemas.get(&id).unwrap_or_else(|| panic!("no {id}")))
        };
        Validators {
            event,
            facets: vec![
                ("run", facet("1-2-0/ParentRunFacet.json")),
                ("run", facet("1-0-1/ErrorMessageRunFacet.json")),
                ("job", facet("2-0-4/JobTypeJobFacet.json")),
                ("job", facet("1-1-0/SQLJobFacet.json")),
                ("dataset", facet("1-2-0/SchemaDatasetFacet.json")),
                ("dataset", facet("1-2-0/ColumnLineageDatasetFacet.json")),
            ],
        }
    }

    pub fn problems(&self, event: &Value) -> Vec<String> {
        let mut out: Vec<String> = self
            .event
            .iter_errors(event)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        let datasets = event["inputs"]
            .as_array()
            .into_iter()
            .chain(event["outputs"].as_array())
            .flatten()
            .map(|d| &d["facets"]);
        let maps: Vec<(&str, &Value)> = [
            ("run", &event["run"]["facets"]),
            ("job", &event["job"]["facets"]),
        ]
        .into_iter()
        .chain(datasets.map(|f| ("dataset", f)))
        .collect();
        for (which, facets) in maps {
            for (kind, v) in &self.facets {
                if *kind == which {
                    out.extend(
                        v.iter_errors(facets)
                            .map(|e| format!("{which} facets{}: {e}", e.instance_path())),
                    );
                }
            }
        }
        out
    }
}

/// Panics with the problems of every event that does not validate.
pub fn assert_valid(events: &[Value]) {
    let v = Validators::new();
    for e in events {
        let problems = v.problems(e);
        assert!(problems.is_empty(), "{problems:#?}\n{e:#}");
    }
}
