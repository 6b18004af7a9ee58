//! dbt_project.yml's `semantic-models:`, `metrics:` and `saved-queries:` configs (`+enabled`,
//! `+group`, `+meta`, `+tags`) on the semantic layer's resources, against what dbt-core 1.11
//! writes for the same project (`tests/fixtures/semantic/dbt_expected/project_configs.json`,
//! recorded as the fixture's README says).

use super::*;

/// What the recording adds to the fixture's dbt_project.yml.
const PROJECT_CONFIGS: &str = "
semantic-models:
  semantic:
    +group: finance
    +meta:
      owner: finance-team
    +tags: [sl]
    +enabled: true
metrics:
  semantic:
    +group: finance
    +meta:
      tier: gold
    +tags: ['kpi']
    visit_to_buy:
      +enabled: false
saved-queries:
  semantic:
    +meta:
      refreshed: daily
    +tags: [sq]
    +group: finance
";

const GROUPS: &str = "groups:
  - name: finance
    owner:
      name: Finance
      email: finance@example.com
";

/// The fixture with the recording's project configs and its two own `config:` blocks (a
/// semantic model's meta and group, a metric's tags and meta).
fn configured_project() -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = semantic_project(|t| {
        let t = t.replacen(
            "    description: One row per order.\n",
            "    description: One row per order.\n    config:\n      meta:\n        domain: sales\n      group: finance\n",
            1,
        );
        t.replacen(
            "  - name: revenue\n    label: Revenue\n",
            "  - name: revenue\n    label: Revenue\n    config:\n      tags: [own]\n      meta:\n        extra: 1\n",
            1,
        )
    });
    let project = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project).expect("dbt_project.yml");
    std::fs::write(&project, text + PROJECT_CONFIGS).expect("write dbt_project.yml");
    std::fs::write(dir.join("models/groups.yml"), GROUPS).expect("write groups.yml");
    (tmp, dir)
}

fn picked(v: &Value) -> Value {
    let fields = ["config", "unrendered_config", "group", "tags", "meta"];
    Value::Object(
        fields
            .iter()
            .filter_map(|f| v.get(*f).map(|x| (f.to_string(), x.clone())))
            .collect(),
    )
}

/// Project-level configs reach every semantic model, metric and saved query as dbt's: `meta`
/// merged with the resource's own, `tags` and `group` replaced, a metric turned off lands in
/// `disabled` (and out of semantic_manifest.json); the manifest stays valid against v12.
#[test]
fn project_level_semantic_configs_match_dbt() {
    let (_tmp, dir) = configured_project();
    let manifest = json_of(&kiln(&dir, "parse"));
    assert_valid(&manifest, "kiln parse (semantic-layer project configs)");
    let want = expected("project_configs.json");
    let want_manifest = want["manifest"].as_object().expect("recorded manifest");
    for (id, fields) in want_manifest {
        let kind = id.split('.').next().expect("a unique_id");
        let section = match kind {
            "semantic_model" => "semantic_models",
            "metric" => "metrics",
            _ => "saved_queries",
        };
        let got = match manifest[section].get(id) {
            Some(v) => v.clone(),
            None => manifest["disabled"][id][0].clone(),
        };
        assert_eq!(&picked(&got), fields, "{id}");
    }
    assert!(
        manifest["metrics"]
            .get("metric.semantic.visit_to_buy")
            .is_none()
    );
    assert_eq!(
        manifest["disabled"]["metric.semantic.visit_to_buy"][0]["config"]["enabled"],
        json!(false)
    );
    let semantic: Value = serde_json::from_slice(
        &std::fs::read(dir.join("target/semantic_manifest.json")).expect("semantic_manifest.json"),
    )
    .expect("JSON");
    let sm = &want["semantic_manifest"];
    for x in semantic["semantic_models"].as_array().expect("list") {
        let name = x["name"].as_str().expect("name");
        assert_eq!(
            x["config"], sm["semantic_models"][name],
            "semantic model {name}"
        );
    }
    let metrics = semantic["metrics"].as_array().expect("list");
    assert_eq!(
        metrics.len(),
        sm["metrics"].as_object().expect("map").len(),
        "the disabled metric is left out"
    );
    for x in metrics {
        let name = x["name"].as_str().expect("name");
        assert_eq!(x["config"], sm["metrics"][name], "metric {name}");
    }
    for x in semantic["saved_queries"].as_array().expect("list") {
        let name = x["name"].as_str().expect("name");
        assert_eq!(
            x["tags"], sm["saved_queries"][name]["tags"],
            "saved query {name}"
        );
    }
}
