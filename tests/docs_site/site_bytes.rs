//! The site's data files byte for byte: the demo's graph.js, search.js and every detail shard
//! after `kiln build` and `kiln docs generate`, locked by insta snapshots, so any change in what
//! the site shows (or how its JSON is spelt) shows in review.
//!
//! Each file is checked to be `kilnDocs.<call>(...)` around compact JSON exactly as serde_json
//! writes it (re-serializing the parsed value gives the same bytes, key order kept), and the
//! snapshot is that value pretty-printed: the two together pin every byte. What a run makes
//! different each time (timings, instants) is redacted.

use super::support::TestProject;
use serde_json::Value;
use std::path::Path;

/// The value of one data file `kilnDocs.<prefix>...);\n`, checked to be compact JSON as
/// serde_json writes it.
fn data_file(path: &Path, prefix: &str) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json = text
        .strip_prefix(prefix)
        .and_then(|t| t.strip_suffix(");\n"))
        .unwrap_or_else(|| panic!("{} is not {prefix}...);", path.display()));
    let value: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("{} holds no JSON: {e}", path.display()));
    assert!(
        serde_json::to_string(&value).expect("serializes") == json,
        "{} is not compact JSON in serde_json's spelling",
        path.display()
    );
    value
}

/// Replaces what differs between runs (the instant the site or a run was made, how long a
/// node took) with a marker.
fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let varies = matches!(
                    k.as_str(),
                    "generated_at" | "execution_time" | "completed_at" | "snapshotted_at" | "age_s"
                );
                if varies && !x.is_null() {
                    *x = Value::from("[redacted]");
                } else {
                    redact(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The site's data files under `target/kiln` (graph.js, search.js, d/0.js...), redacted.
fn site_files(target: &Path) -> Vec<(String, Value)> {
    let assets = target.join("kiln-docs");
    let mut files = vec![
        (
            "graph.js".to_string(),
            data_file(&assets.join("graph.js"), "kilnDocs.graph("),
        ),
        (
            "search.js".to_string(),
            data_file(&assets.join("search.js"), "kilnDocs.search("),
        ),
    ];
    let count = std::fs::read_dir(assets.join("d"))
        .expect("the shards' folder")
        .count();
    for i in 0..count {
        files.push((
            format!("d/{i}.js"),
            data_file(
                &assets.join(format!("d/{i}.js")),
                &format!("kilnDocs.shard({i},"),
            ),
        ));
    }
    for (_, v) in &mut files {
        redact(v);
    }
    files
}

fn kiln_ok(p: &TestProject, args: &[&str]) {
    p.kiln(args).run().assert_success();
}

#[test]
fn demo_site_data_files() {
    let p = TestProject::demo();
    kiln_ok(&p, &["build"]);
    kiln_ok(&p, &["docs", "generate"]);
    let target = p.dir().join("target/kiln");
    let files = site_files(&target);
    assert!(files.len() > 2, "the demo has detail shards");
    for (name, value) in &files {
        let pretty = serde_json::to_string_pretty(value).expect("serializes");
        insta::assert_snapshot!(format!("demo_{}", name.replace(['/', '.'], "_")), pretty);
    }
    // --no-compile reads the SQL and lineage the compile left in target/: the same files.
    let bytes = |rel: &str| std::fs::read(target.join(rel)).expect("a site file");
    let before: Vec<Vec<u8>> = files[1..]
        .iter()
        .map(|(name, _)| bytes(&format!("kiln-docs/{name}")))
        .collect();
    kiln_ok(&p, &["docs", "generate", "--no-compile"]);
    assert_eq!(site_files(&target), files);
    for ((name, _), before) in files[1..].iter().zip(before) {
        assert!(
            bytes(&format!("kiln-docs/{name}")) == before,
            "{name} differs with --no-compile"
        );
    }
}
