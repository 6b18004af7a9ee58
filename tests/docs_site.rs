//! The docs site (`kiln docs generate`, `kiln docs serve`, src/docs/): its files, and the site
//! itself in a real headless Chromium.
//!
//! The browser tests copy the site's `index.html` to a test page that loads
//! `tests/docs_site/scenario.js` first: it drives the site as a reader would (search, a model
//! page, the lineage graph, a column's lineage) and writes what it saw into the page, which the
//! test reads from `chromium --headless --dump-dom` (no driver, no crate). Chromium is found as
//! `$KILN_CHROMIUM`, or `chromium`/`chromium-browser`/`google-chrome` on the PATH (Debian's
//! `chromium` package; `.ci/run` installs it). Without one the browser tests are skipped with a
//! loud message, unless `KILN_REQUIRE_BROWSER` is set (as `.ci/run` does): then they fail.

#[path = "cli/support.rs"]
mod support;

#[path = "docs_site/cache.rs"]
mod cache;

#[path = "docs_site/oracle.rs"]
mod oracle;

#[path = "docs_site/site_bytes.rs"]
mod site_bytes;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::TestProject;

const SCENARIO: &str = include_str!("docs_site/scenario.js");

fn demo() -> TestProject {
    TestProject::demo()
}

fn kiln_ok(p: &TestProject, args: &[&str]) -> String {
    let run = p.kiln(args).run();
    run.assert_success();
    run.stdout
}

/// The browser, or `None` (with a loud message) when there is none and none is required.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KILN_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    if std::env::var_os("KILN_REQUIRE_BROWSER").is_some() {
        panic!(
            "KILN_REQUIRE_BROWSER is set but no Chromium was found (KILN_CHROMIUM, or chromium on \
             the PATH): install it with `apt-get install chromium`"
        );
    }
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED: the docs site's browser test needs Chromium, and none was found.\n\
         !!! Install it (`apt-get install chromium`) or set KILN_CHROMIUM; set\n\
         !!! KILN_REQUIRE_BROWSER=1 to make this a failure (.ci/run does).\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    None
}

/// Writes the test page beside `page` (the site's index.html or static_index.html): the same
/// page with the scenario loaded before anything else.
fn test_page(page: &Path, params: &Value) -> PathBuf {
    let html = std::fs::read_to_string(page).expect("read the site's page");
    let dir = page.parent().expect("page folder");
    std::fs::write(
        dir.join("kiln-test.js"),
        format!("window.KILN_TEST = {params};\n{SCENARIO}"),
    )
    .expect("write the scenario");
    let with = html.replacen(
        "<head>",
        "<head>\n<script src=\"kiln-test.js\"></script>",
        1,
    );
    assert_ne!(with, html, "the page has no <head>");
    let out = dir.join(format!(
        "kiln-test-{}",
        page.file_name()
            .and_then(|n| n.to_str())
            .expect("page name")
    ));
    std::fs::write(&out, with).expect("write the test page");
    out
}

/// Opens `url` in headless Chromium, lets the scenario run, and returns what it reported.
fn run_in_browser(chrome: &Path, url: &str, profile: &Path) -> Value {
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=30000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("chromium stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("chromium did not finish {url} within 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = reader.join().expect("read chromium's output");
    let start = dom
        .find("<pre id=\"kiln-test-results\">")
        .unwrap_or_else(|| panic!("the scenario reported nothing for {url}; the page:\n{dom}"));
    let rest = &dom[start + "<pre id=\"kiln-test-results\">".len()..];
    let text = &rest[..rest.find("</pre>").expect("end of the results")];
    let json = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    let v: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(
        v.get("fatal").is_none(),
        "the scenario failed on {url}: {v:#}"
    );
    assert_eq!(
        v["errors"],
        serde_json::json!([]),
        "JavaScript errors on {url}"
    );
    v
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// What the demo's manifest says of exec_weekly: its parents' names, its documented columns and
/// each column's generic tests.
struct Expected {
    parents: Vec<String>,
    parent_ids: Vec<String>,
    columns: Vec<String>,
    tests: Vec<(String, String)>,
}

fn expected(manifest: &Value, id: &str) -> Expected {
    let node = &manifest["nodes"][id];
    let parent_ids = strs(&node["depends_on"]["nodes"]);
    let parents = parent_ids
        .iter()
        .map(|p| {
            manifest["nodes"][p]["name"]
                .as_str()
                .unwrap_or_else(|| panic!("no parent {p}"))
                .to_string()
        })
        .collect();
    let columns = node["columns"]
        .as_object()
        .expect("columns")
        .keys()
        .cloned()
        .collect();
    let tests = manifest["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .filter(|t| t["attached_node"] == id && t["column_name"].is_string())
        .filter_map(|t| {
            Some((
                t["column_name"].as_str()?.to_string(),
                t["test_metadata"]["name"].as_str()?.to_string(),
            ))
        })
        .collect();
    Expected {
        parents,
        parent_ids,
        columns,
        tests,
    }
}

/// Every column upstream of `node.column` in lineage.json, as `unique_id.column`.
fn upstream_columns(
    lineage: &Value,
    node: &str,
    column: &str,
) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![(node.to_string(), column.to_lowercase())];
    while let Some((n, c)) = todo.pop() {
        let cols = lineage["nodes"][n.as_str()]["columns"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for col in cols.iter().filter(|x| {
            x["name"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(&c))
        }) {
            for input in col["inputs"].as_array().into_iter().flatten() {
                let (un, uc) = (
                    input["node"].as_str().unwrap_or(""),
                    input["column"].as_str().unwrap_or(""),
                );
                if seen.insert(format!("{un}.{uc}")) {
                    todo.push((un.to_string(), uc.to_lowercase()));
                }
            }
        }
    }
    seen
}

/// What every mode of the demo's site must show for exec_weekly, and the column lineage of
/// `upstream`'s column.
fn check_demo_page(
    v: &Value,
    e: &Expected,
    upstream: &std::collections::BTreeSet<String>,
    url: &str,
) {
    let shown: std::collections::BTreeSet<String> = v["upstream"]
        .as_array()
        .expect("upstream cards")
        .iter()
        .filter_map(|c| c["column"].as_str().map(str::to_string))
        .collect();
    assert_eq!(&shown, upstream, "the column lineage view on {url}");
    assert!(
        v["upstream"].to_string().contains("AGGREGATION")
            || v["upstream"].to_string().contains("TRANSFORMATION"),
        "transformation types on {url}: {}",
        v["upstream"]
    );
    let found = v["search"].as_array().expect("search results");
    assert_eq!(
        found.first().and_then(|r| r["id"].as_str()),
        Some("model.kiln_demo.exec_weekly"),
        "search for exec_weekly on {url}: {found:?}"
    );
    let by_column = v["column_search"].as_array().expect("column search");
    assert!(
        by_column
            .iter()
            .any(|r| r["id"] == "model.kiln_demo.exec_weekly"
                && r["why"] == "column: weekly_active_users"),
        "a column search finds exec_weekly by its column on {url}: {by_column:?}"
    );
    assert!(v["title"].as_str().unwrap_or("").starts_with("exec_weekly"));
    let shown: Vec<&str> = v["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for c in &e.columns {
        assert!(
            shown.contains(&c.as_str()),
            "column {c} on {url}: {shown:?}"
        );
    }
    assert!(!e.tests.is_empty());
    for (col, test) in &e.tests {
        let row = v["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .find(|c| c["name"] == col.as_str())
            .unwrap_or_else(|| panic!("no row for {col}"));
        assert!(
            row["tests"].as_str().unwrap_or("").contains(test.as_str()),
            "test {test} on {col} on {url}: {row}"
        );
    }
    let mut depends = strs(&v["depends_on"]);
    depends.sort();
    let mut want = e.parent_ids.clone();
    want.sort();
    assert_eq!(depends, want, "depends on, on {url}");
    assert!(
        strs(&v["referenced_by"]).contains(&"exposure.kiln_demo.executive_dashboard".to_string()),
        "referenced by on {url}: {}",
        v["referenced_by"]
    );
    assert!(
        v["about"]
            .as_str()
            .unwrap_or("")
            .contains("Mondays by 07:00 UTC"),
        "SLA on {url}"
    );
    assert!(
        v["about"].as_str().unwrap_or("").contains("data-platform"),
        "owner on {url}"
    );
    assert!(
        v["about"].as_str().unwrap_or("").contains("Last run"),
        "last run on {url}"
    );
    assert!(
        v["code"]
            .as_str()
            .unwrap_or("")
            .contains("ref('engagement')"),
        "raw SQL on {url}"
    );
    assert_eq!(v["focus"], "exec_weekly");
    let lineage = strs(&v["lineage"]);
    for p in &e.parents {
        assert!(
            lineage.contains(p),
            "parent {p} in the lineage view on {url}: {lineage:?}"
        );
    }
    assert!(
        v["expanded"].as_u64().unwrap_or(0) > lineage.len() as u64,
        "a handle adds nodes on {url}: {} after {}",
        v["expanded"],
        lineage.len()
    );
    assert!(
        strs(&v["groups"]).contains(&"models/aggregate".to_string()),
        "group by folder on {url}: {}",
        v["groups"]
    );
}

/// The slim graph, read back from graph.js.
fn graph_js(site: &Path) -> Value {
    let text = std::fs::read_to_string(site.join("kiln-docs/graph.js")).expect("graph.js");
    let json = text
        .trim()
        .strip_prefix("kilnDocs.graph(")
        .and_then(|t| t.strip_suffix(");"))
        .expect("graph.js calls kilnDocs.graph");
    serde_json::from_str(json).expect("graph.js holds JSON")
}

/// The site's data as written: the slim graph (without `generated_at`, the instant it was
/// made), the search index and every detail shard, in order.
fn site_json(site: &Path) -> Value {
    let read = |rel: &str, prefix: &str| -> Value {
        let text = std::fs::read_to_string(site.join(rel)).expect("a site file");
        let json = text
            .trim()
            .strip_prefix(prefix)
            .and_then(|t| t.strip_suffix(");"))
            .unwrap_or_else(|| panic!("{rel} calls {prefix}"));
        serde_json::from_str(json).expect("JSON")
    };
    let mut graph = graph_js(site);
    graph.as_object_mut().map(|g| g.remove("generated_at"));
    let count = std::fs::read_dir(site.join("kiln-docs/d"))
        .expect("shards")
        .count();
    let shards: Vec<Value> = (0..count)
        .map(|i| {
            read(
                &format!("kiln-docs/d/{i}.js"),
                &format!("kilnDocs.shard({i},"),
            )
        })
        .collect();
    serde_json::json!({
        "graph": graph,
        "search": read("kiln-docs/search.js", "kilnDocs.search("),
        "shards": shards,
    })
}

/// The same data built from the manifest.json and the other artifacts in `site` (how the site
/// was made before it was built from the loaded project).
fn site_from_manifest(site: &Path) -> Value {
    let artifacts = oracle::Artifacts::read(site);
    let data = oracle::build(&artifacts);
    let mut graph = data.graph;
    graph.as_object_mut().map(|g| g.remove("generated_at"));
    serde_json::json!({"graph": graph, "search": data.search, "shards": data.shards})
}

/// The first place two JSON values differ, as a path and both sides.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let (l, r) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                first_difference(l, r, &format!("{at}.{k}"))
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (l, r))| first_difference(l, r, &format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} != {b}")),
    }
}

#[test]
fn demo_docs_site_files() {
    let p = demo();
    kiln_ok(&p, &["build"]);
    let out = kiln_ok(&p, &["docs", "generate"]);
    assert!(out.contains("Wrote the docs site ("), "{out}");
    let site = p.dir().join("target/kiln");
    // Built from the loaded project in memory, the site says what the manifest it wrote says.
    let written = site_json(&site);
    assert_eq!(
        first_difference(&written, &site_from_manifest(&site), ""),
        None
    );
    assert!(
        written["shards"]
            .to_string()
            .contains("\"compiled_code\":\""),
        "the pages carry compiled SQL"
    );
    let g = graph_js(&site);
    let ids = strs(&g["id"]);
    let n = ids.len();
    let manifest: Value =
        serde_json::from_str(&p.read("target/kiln/manifest.json")).expect("manifest");
    // Every model, seed, snapshot, source and exposure; no tests.
    let in_manifest = manifest["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .filter(|x| {
            ["model", "seed", "snapshot", "analysis"]
                .contains(&x["resource_type"].as_str().unwrap_or(""))
        })
        .count()
        + manifest["sources"].as_object().expect("sources").len()
        + manifest["exposures"].as_object().expect("exposures").len();
    assert_eq!(n, in_manifest);
    assert!(!ids.iter().any(|i| i.starts_with("test.")));
    // Edges go down the precomputed layers; the slim graph carries no code.
    let layer: Vec<u64> = g["layer"]
        .as_array()
        .expect("layer")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    for (child, parents) in g["parents"].as_array().expect("parents").iter().enumerate() {
        for parent in parents.as_array().expect("list") {
            let parent = parent.as_u64().expect("index") as usize;
            assert!(
                layer[parent] < layer[child],
                "{} above {}",
                ids[parent],
                ids[child]
            );
        }
    }
    let graph_text = std::fs::read_to_string(site.join("kiln-docs/graph.js")).expect("graph.js");
    assert!(!graph_text.contains("raw_code") && !graph_text.contains("select "));
    // exec_weekly's parents in the slim graph are its depends_on.
    let i = ids
        .iter()
        .position(|x| x == "model.kiln_demo.exec_weekly")
        .expect("exec_weekly");
    let mut parents: Vec<String> = g["parents"][i]
        .as_array()
        .expect("parents")
        .iter()
        .map(|x| ids[x.as_u64().expect("index") as usize].clone())
        .collect();
    parents.sort();
    assert_eq!(
        parents,
        expected(&manifest, "model.kiln_demo.exec_weekly").parent_ids
    );
    // Its details are in shard i / 64, with the last run's status.
    let shard =
        std::fs::read_to_string(site.join(format!("kiln-docs/d/{}.js", i / 64))).expect("shard");
    assert!(
        shard.contains("\"model.kiln_demo.exec_weekly\":{"),
        "exec_weekly in its shard"
    );
    assert_eq!(g["status"][i], "success");
    // --static writes one page that needs nothing beside it.
    kiln_ok(&p, &["docs", "generate", "--static", "--no-compile"]);
    // --no-compile shows the SQL the last compile left in target/compiled: the manifest's.
    assert_eq!(
        first_difference(&site_json(&site), &site_from_manifest(&site), ""),
        None
    );
    let page = p.read("target/kiln/static_index.html");
    assert!(!page.contains("src=\"kiln-docs/") && !page.contains("href=\"kiln-docs/"));
    assert!(page.contains("kilnDocs.graph("));
}

#[test]
fn demo_docs_site_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let p = demo();
    kiln_ok(&p, &["build"]);
    kiln_ok(&p, &["docs", "generate", "--static"]);
    let site = p.dir().join("target/kiln");
    let manifest: Value =
        serde_json::from_str(&p.read("target/kiln/manifest.json")).expect("manifest");
    let e = expected(&manifest, "model.kiln_demo.exec_weekly");
    // A column whose lineage reaches a seed: experiment_summary.absolute_lift reads the
    // experiments seed's control_variant through int_experiment_units.
    let lineage: Value =
        serde_json::from_str(&p.read("target/kiln/lineage.json")).expect("lineage.json");
    let (lineage_node, lineage_column) = ("model.kiln_demo.experiment_summary", "absolute_lift");
    let upstream = upstream_columns(&lineage, lineage_node, lineage_column);
    assert!(
        upstream.contains("seed.kiln_demo.experiments.control_variant"),
        "lineage.json traces {lineage_node}.{lineage_column} to the seed: {upstream:?}"
    );
    let params = serde_json::json!({
        "node": "model.kiln_demo.exec_weekly",
        "query": "exec_weekly",
        "column_query": "weekly_active_users",
        "column_node": lineage_node,
        "column": lineage_column,
    });
    let profile = p.root().join("chromium");

    // From file://.
    let page = test_page(&site.join("index.html"), &params);
    let url = format!("file://{}", page.display());
    let v = run_in_browser(&chrome, &url, &profile);
    assert_eq!(v["protocol"], "file:");
    check_demo_page(&v, &e, &upstream, &url);

    // Served by `kiln docs serve` on a free port.
    let mut server = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["docs", "serve", "--port", "0", "--project-dir"])
        .arg(p.dir())
        .arg("--profiles-dir")
        .arg(p.dir())
        .env("HOME", p.root().join("home"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kiln docs serve");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("kiln docs serve said where it listens")
            .expect("read a line");
        if let Some(rest) = line.split("Serving docs at ").nth(1) {
            break rest.trim().to_string();
        }
    };
    let url = format!("{address}kiln-test-index.html");
    let served = std::panic::catch_unwind(|| run_in_browser(&chrome, &url, &profile));
    let _ = server.kill();
    let _ = server.wait();
    let v = served.unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert_eq!(v["protocol"], "http:");
    check_demo_page(&v, &e, &upstream, &url);

    // The static page, alone in a folder of its own.
    let alone = p.root().join("static");
    std::fs::create_dir_all(&alone).expect("create dir");
    std::fs::copy(
        site.join("static_index.html"),
        alone.join("static_index.html"),
    )
    .expect("copy");
    let page = test_page(&alone.join("static_index.html"), &params);
    let url = format!("file://{}", page.display());
    let v = run_in_browser(&chrome, &url, &profile);
    check_demo_page(&v, &e, &upstream, &url);
}

/// A small project whose lineage.json is written by hand in the documented shape: the column
/// view follows a column back to the seed's columns, hop by hop, with the transformation types.
#[test]
fn column_lineage_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let p = TestProject::minimal()
        .file("seeds/raw_customers.csv", "id,first_name,email\n1,Ann,ann@example.com\n")
        .file(
            "models/stg_customers.sql",
            "select id as customer_id, first_name, md5(email) as email_hash from {{ ref('raw_customers') }}\n",
        )
        .file(
            "models/dim_customers.sql",
            "select customer_id, upper(first_name) as name, email_hash from {{ ref('stg_customers') }}\n",
        );
    kiln_ok(&p, &["build"]);
    kiln_ok(&p, &["docs", "generate"]);
    let direct = |subtype: &str, masking: bool| serde_json::json!([{"type": "DIRECT", "subtype": subtype, "masking": masking}]);
    let lineage = serde_json::json!({"nodes": {
        "model.shop.stg_customers": {"complete": true, "columns": [
            {"name": "customer_id", "type": "BIGINT", "inputs": [{"node": "seed.shop.raw_customers", "column": "id", "transformations": direct("IDENTITY", false)}]},
            {"name": "first_name", "type": "VARCHAR", "inputs": [{"node": "seed.shop.raw_customers", "column": "first_name", "transformations": direct("IDENTITY", false)}]},
            {"name": "email_hash", "type": "VARCHAR", "inputs": [{"node": "seed.shop.raw_customers", "column": "email", "transformations": direct("TRANSFORMATION", true)}]}
        ]},
        "model.shop.dim_customers": {"complete": true, "columns": [
            {"name": "customer_id", "type": "BIGINT", "inputs": [{"node": "model.shop.stg_customers", "column": "customer_id", "transformations": direct("IDENTITY", false)}]},
            {"name": "name", "type": "VARCHAR", "inputs": [{"node": "model.shop.stg_customers", "column": "first_name", "transformations": direct("TRANSFORMATION", false)}]},
            {"name": "email_hash", "type": "VARCHAR", "inputs": [{"node": "model.shop.stg_customers", "column": "email_hash", "transformations": direct("IDENTITY", false)}]}
        ]}
    }});
    p.write("target/lineage.json", &lineage.to_string());
    kiln_ok(&p, &["docs", "generate", "--no-compile"]);
    let page = test_page(
        &p.dir().join("target/index.html"),
        &serde_json::json!({"node": "model.shop.dim_customers", "query": "dim_customers", "column": "name"}),
    );
    let url = format!("file://{}", page.display());
    let v = run_in_browser(&chrome, &url, &p.root().join("chromium"));
    let up: Vec<String> = v["upstream"]
        .as_array()
        .expect("upstream")
        .iter()
        .map(|c| c["column"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        up,
        vec![
            "seed.shop.raw_customers.first_name",
            "model.shop.stg_customers.first_name"
        ],
        "{v:#}"
    );
    let edges = v["upstream"].to_string();
    assert!(
        edges.contains("feeds dim_customers.name TRANSFORMATION"),
        "{edges}"
    );
    assert!(
        edges.contains("feeds stg_customers.first_name IDENTITY"),
        "{edges}"
    );
    // Column types are shown (the catalog's; lineage.json's where the catalog has none).
    let name = v["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == "name")
        .expect("the name column");
    assert_eq!(name["type"], "VARCHAR");
}

/// PII on the docs site (tests/fixtures/pii): each column's badge names its kinds (PII or
/// pseudonymised, as target/pii.json has it), and the PII view lists every classified column.
#[test]
fn pii_badges_and_view_in_chromium() {
    let p = TestProject::fixture("pii");
    kiln_ok(&p, &["docs", "generate"]);
    // The slim graph carries the PII view's rows whether or not a browser is here.
    let g = graph_js(&p.dir().join("target"));
    assert_eq!(g["has_pii"], true);
    let Some(chrome) = chromium() else { return };
    let page = test_page(
        &p.dir().join("target/index.html"),
        &serde_json::json!({"node": "model.crm.stg_contacts", "query": "stg_contacts", "pii": true}),
    );
    let url = format!("file://{}", page.display());
    let v = run_in_browser(&chrome, &url, &p.root().join("chromium"));
    assert_eq!(v["errors"], serde_json::json!([]), "{v:#}");
    let badges = |column: &str| -> Vec<String> {
        v["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .find(|c| c["name"] == column)
            .map(|c| strs(&c["badges"]))
            .unwrap_or_default()
    };
    assert_eq!(badges("email"), ["PII: email"], "{v:#}");
    assert_eq!(badges("email_hash"), ["pseudonymised email"], "{v:#}");
    assert_eq!(badges("phone_state"), ["PII: phone"], "{v:#}");
    assert!(badges("email_domain").is_empty(), "{v:#}");
    assert!(badges("country").is_empty(), "{v:#}");
    assert_eq!(v["pii_link"], true, "{v:#}");
    let rows: Vec<Vec<String>> = v["pii"]
        .as_array()
        .expect("pii rows")
        .iter()
        .map(strs)
        .collect();
    for want in [
        ["seed.crm.raw_contacts", "email", "email", "pii"],
        ["source.crm.app.logins", "ip_address", "ip", "pii"],
        [
            "model.crm.contact_keys",
            "email_hash",
            "email",
            "pseudonymised",
        ],
        ["snapshot.crm.contacts_history", "email", "email", "pii"],
    ] {
        assert!(
            rows.contains(&want.map(String::from).to_vec()),
            "{want:?} in {rows:?}"
        );
    }
    assert_eq!(rows.len(), 12, "{rows:?}");
}

#[test]
fn docs_serve_without_a_site_says_to_generate_it() {
    let p = TestProject::minimal().file("models/a.sql", "select 1 as x\n");
    let run = p.kiln(&["docs", "serve", "--port", "0"]).run();
    run.assert_code(2);
    insta::assert_snapshot!(run.snapshot());
}

#[test]
fn docs_generate_no_compile_without_a_manifest_writes_no_site_and_says_why() {
    let p = TestProject::minimal()
        .file("models/a.sql", "select 1 as x\n")
        .file("models/b.sql", "select x from {{ ref('a') }}\n");
    let run = p
        .kiln(&["docs", "generate", "--no-compile", "--empty-catalog"])
        .run();
    run.assert_success();
    assert!(
        run.stderr.contains("no docs site written") && run.stderr.contains("without --no-compile"),
        "{}",
        run.snapshot()
    );
    assert!(!p.exists("target/index.html"));
    // `kiln parse` writes the manifest the site is built from.
    kiln_ok(&p, &["parse"]);
    let out = kiln_ok(&p, &["docs", "generate", "--no-compile", "--empty-catalog"]);
    assert!(out.contains("Wrote the docs site (2 nodes)"), "{out}");
    let g = graph_js(&p.dir().join("target"));
    assert_eq!(strs(&g["id"]), vec!["model.shop.a", "model.shop.b"]);
    assert_eq!(g["parents"], serde_json::json!([[], [0]]));
    assert_eq!(g["layer"], serde_json::json!([0, 1]));
}
