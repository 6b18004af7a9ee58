//! OpenLineage events of `kiln build` (`target/openlineage.jsonl`, and an HTTP endpoint on
//! 127.0.0.1): every event validated against OpenLineage's published JSON schemas (the event
//! and each facet; vendored in `tests/schemas/openlineage/`, see its README), one run per node
//! under the invocation's parent run, datasets named as OpenLineage names DuckDB's, the schema
//! and column lineage facets, failures, retries, and an endpoint that is down.

use crate::openlineage_schema::{Validators, assert_valid};
use crate::support::TestProject;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

fn events(p: &TestProject) -> Vec<Value> {
    p.read("target/openlineage.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON event"))
        .collect()
}

/// A seed, an ephemeral model over it, a table and a view reading it, a model failing at run
/// time and one downstream of it (skipped), a test, and a source read from a CSV file.
fn project() -> TestProject {
    TestProject::minimal()
        .file(
            "seeds/raw_orders.csv",
            "id,customer,status,amount\n1,ada,paid,5\n2,grace,refunded,7\n3,ada,paid,2\n",
        )
        .file("data/customers.csv", "name,country\nada,uk\ngrace,us\n")
        .file(
            "models/sources.yml",
            "sources:\n  - name: crm\n    tables:\n      - name: customers\n        meta:\n          external_location: data/customers.csv\n",
        )
        .file(
            "models/paid.sql",
            "{{ config(materialized='ephemeral') }}\nselect id, customer, amount from {{ ref('raw_orders') }} where status = 'paid'",
        )
        .file(
            "models/revenue.sql",
            "{{ config(materialized='table') }}\nselect p.customer, c.country, sum(p.amount) as total\nfrom {{ ref('paid') }} as p\njoin {{ source('crm', 'customers') }} as c on c.name = p.customer\ngroup by p.customer, c.country",
        )
        .file(
            "models/orders.sql",
            "select id, amount * 2 as doubled from {{ ref('raw_orders') }} where status = 'paid'",
        )
        .file("models/broken.sql", "select * from {{ ref('raw_orders') }} join no_such_table using (id)")
        .file("models/after_broken.sql", "select * from {{ ref('broken') }}")
        .file(
            "models/schema.yml",
            "models:\n  - name: revenue\n    columns:\n      - name: total\n        description: Paid amount per customer.\n        data_tests: [not_null]\n",
        )
}

/// The events of one job, in order.
fn of_job<'e>(events: &'e [Value], name: &str) -> Vec<&'e Value> {
    events.iter().filter(|e| e["job"]["name"] == name).collect()
}

fn run_results(p: &TestProject) -> Value {
    serde_json::from_str(&p.read("target/run_results.json")).expect("run_results.json")
}

#[test]
fn build_emits_one_validated_run_per_node_under_the_invocation() {
    let p = project();
    let run = p.kiln(&["build"]).run();
    run.assert_code(1);
    let events = events(&p);
    assert_valid(&events);
    let rr = run_results(&p);
    let invocation = rr["metadata"]["invocation_id"].as_str().expect("id");

    // The invocation's run: first and last, FAIL since a model failed.
    let (first, last) = (&events[0], &events[events.len() - 1]);
    for (e, kind) in [(first, "START"), (last, "FAIL")] {
        assert_eq!(e["eventType"], kind);
        assert_eq!(e["run"]["runId"], invocation);
        assert_eq!(
            e["job"],
            json!({"namespace": "default", "name": "kiln-build-shop", "facets": {"jobType": {
            "_producer": e["producer"], "_schemaURL": "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
            "processingType": "BATCH", "integration": "DBT", "jobType": "JOB"}}})
        );
    }

    // Each node that ran: START then COMPLETE (or FAIL), one runId, the invocation as parent.
    for r in rr["results"].as_array().expect("results") {
        let id = r["unique_id"].as_str().expect("unique_id");
        let mine = of_job(&events, id);
        if r["status"] == "skipped" {
            assert!(mine.is_empty(), "{id} was skipped: no run");
            continue;
        }
        let kinds: Vec<&str> = mine
            .iter()
            .map(|e| e["eventType"].as_str().unwrap())
            .collect();
        let end = if r["status"] == "error" {
            "FAIL"
        } else {
            "COMPLETE"
        };
        assert_eq!(kinds, ["START", end], "{id}");
        assert_eq!(mine[0]["run"]["runId"], mine[1]["run"]["runId"], "{id}");
        assert_ne!(mine[0]["run"]["runId"], invocation);
        for e in &mine {
            assert_eq!(e["run"]["facets"]["parent"]["run"]["runId"], invocation);
            assert_eq!(
                e["run"]["facets"]["parent"]["job"]["name"],
                "kiln-build-shop"
            );
        }
    }
    assert!(of_job(&events, "model.shop.after_broken").is_empty());
    assert!(
        of_job(&events, "model.shop.paid").is_empty(),
        "ephemeral models do not run"
    );

    // Datasets named as openlineage-dbt names DuckDB's: the database file, then
    // database.schema.table; the ephemeral model is read through to the seed; a source read
    // from a file is that file.
    let ns = format!("duckdb://{}", p.dir().join("dev.duckdb").display());
    let revenue = of_job(&events, "model.shop.revenue");
    let done = revenue[1];
    let names = |list: &Value| -> Vec<(String, String)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["namespace"].as_str().unwrap().to_string(),
                    d["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        names(&done["inputs"]),
        vec![
            (ns.clone(), "dev.main.raw_orders".to_string()),
            (
                "file".to_string(),
                p.dir().join("data/customers.csv").display().to_string()
            ),
        ]
    );
    assert_eq!(
        names(&done["outputs"]),
        vec![(ns.clone(), "dev.main.revenue".to_string())]
    );
    assert_eq!(done["job"]["facets"]["jobType"]["jobType"], "MODEL");
    assert_eq!(done["job"]["facets"]["sql"]["dialect"], "duckdb");
    assert!(
        done["job"]["facets"]["sql"]["query"]
            .as_str()
            .unwrap()
            .contains("\"dev\".\"main\".\"raw_orders\""),
        "{done:#}"
    );
    // The schema facet: the columns as built, YAML's description.
    assert_eq!(
        done["outputs"][0]["facets"]["schema"]["fields"],
        json!([
            {"name": "customer", "type": "VARCHAR", "ordinal_position": 1},
            {"name": "country", "type": "VARCHAR", "ordinal_position": 2},
            {"name": "total", "type": "HUGEINT", "description": "Paid amount per customer.", "ordinal_position": 3},
        ])
    );

    // A seed has no inputs; a test reads the model and writes nothing.
    let seed = of_job(&events, "seed.shop.raw_orders");
    assert_eq!(seed[1]["inputs"], json!([]));
    assert_eq!(seed[1]["job"]["facets"]["jobType"]["jobType"], "SEED");
    let test: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["job"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("test.shop.not_null_revenue_total."))
        })
        .collect();
    assert_eq!(
        test.len(),
        2,
        "{:#?}",
        events.iter().map(|e| &e["job"]["name"]).collect::<Vec<_>>()
    );
    assert_eq!(test[1]["job"]["facets"]["jobType"]["jobType"], "TEST");
    assert_eq!(
        names(&test[1]["inputs"]),
        vec![(ns.clone(), "dev.main.revenue".to_string())]
    );
    assert_eq!(test[1]["outputs"], json!([]));

    // A failure: FAIL with the database's message, the output without facets.
    let broken = of_job(&events, "model.shop.broken");
    let message = broken[1]["run"]["facets"]["errorMessage"]["message"]
        .as_str()
        .expect("message");
    assert!(message.contains("no_such_table"), "{message}");
    assert_eq!(
        broken[1]["run"]["facets"]["errorMessage"]["programmingLanguage"],
        "SQL"
    );
    assert_eq!(broken[1]["outputs"][0]["facets"], json!({}));
}

/// The `columnLineage` facet comes from the project's column lineage, which `run` computes
/// before anything runs (`target/lineage.json`): each output column's inputs with their
/// transformations, and what affects every row under `dataset`, named as datasets are; the
/// ephemeral model is read through to the seed, the file source is a `file` dataset.
#[test]
fn the_column_lineage_facet_names_input_fields_and_their_transformations() {
    let p = project();
    p.kiln(&["seed"]).run().assert_success();
    p.kiln(&["run", "-s", "orders", "revenue"])
        .run()
        .assert_success();
    let lineage: Value =
        serde_json::from_str(&p.read("target/lineage.json")).expect("lineage.json");
    assert!(
        lineage["nodes"]["model.shop.orders"]["complete"] == true,
        "{lineage:#}"
    );
    let events = events(&p);
    assert_valid(&events);
    let ns = format!("duckdb://{}", p.dir().join("dev.duckdb").display());
    let seed = |field: &str, kind: &str, subtype: &str| {
        json!({"namespace": ns, "name": "dev.main.raw_orders", "field": field,
            "transformations": [{"type": kind, "subtype": subtype, "masking": false}]})
    };
    let facet =
        |job: &str| of_job(&events, job)[1]["outputs"][0]["facets"]["columnLineage"].clone();
    let orders = facet("model.shop.orders");
    assert_eq!(
        orders["_schemaURL"],
        "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
    );
    assert_eq!(
        orders["fields"],
        json!({
            "id": {"inputFields": [seed("id", "DIRECT", "IDENTITY")]},
            "doubled": {"inputFields": [seed("amount", "DIRECT", "TRANSFORMATION")]},
        })
    );
    assert_eq!(
        orders["dataset"],
        json!([seed("status", "INDIRECT", "FILTER")])
    );
    let revenue = facet("model.shop.revenue");
    let file = p.dir().join("data/customers.csv").display().to_string();
    assert_eq!(
        revenue["fields"]["total"],
        json!({"inputFields": [seed("amount", "DIRECT", "AGGREGATION")]}),
        "{revenue:#}"
    );
    assert_eq!(
        revenue["fields"]["country"]["inputFields"][0]["namespace"], "file",
        "{revenue:#}"
    );
    assert_eq!(
        revenue["fields"]["country"]["inputFields"][0]["name"], file,
        "{revenue:#}"
    );
}

/// One HTTP request as the test server read it.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    authorization: Option<String>,
    body: String,
}

/// An OpenLineage endpoint on 127.0.0.1: answers the first `fail_first` requests with 503, the
/// rest with 200, and keeps every request.
fn endpoint(fail_first: usize) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(vec![]));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let path = first
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let (mut length, mut authorization) = (0usize, None);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                let (k, v) = line.split_once(':').unwrap_or_default();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    "authorization" => authorization = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let n = {
                let mut s = kept.lock().expect("lock");
                s.push(Request {
                    path,
                    authorization,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                s.len()
            };
            let status = if n <= fail_first {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

#[test]
fn events_are_posted_to_the_endpoint_with_retries() {
    let (url, seen) = endpoint(1);
    let p = project()
        .without("models/broken.sql")
        .without("models/after_broken.sql")
        .file(
            "dbt_project.yml",
            &format!(
                "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nflags:\n  openlineage:\n    url: {url}\n    namespace: analytics\n    api_key: k3y\n"
            ),
        );
    let run = p.kiln(&["build"]).run();
    run.assert_success();
    let events = events(&p);
    assert_valid(&events);
    assert!(events.iter().all(|e| e["job"]["namespace"] == "analytics"));
    let requests = seen.lock().expect("lock").clone();
    // The first request got a 503 and was sent again: every event arrived, in order.
    assert_eq!(requests.len(), events.len() + 1);
    assert_eq!(requests[0].body, requests[1].body);
    let posted: Vec<Value> = requests[1..]
        .iter()
        .map(|r| serde_json::from_str(&r.body).expect("a JSON event"))
        .collect();
    assert_eq!(posted, events);
    for r in &requests {
        assert_eq!(r.path, "/api/v1/lineage");
        assert_eq!(r.authorization.as_deref(), Some("Bearer k3y"));
    }
    assert!(!run.stderr.contains("OpenLineage"), "{}", run.snapshot());
}

#[test]
fn an_endpoint_that_is_down_is_a_warning_and_the_build_still_passes() {
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let p = project()
        .without("models/broken.sql")
        .without("models/after_broken.sql");
    let run = p
        .kiln(&["build"])
        .env("OPENLINEAGE_URL", format!("http://127.0.0.1:{port}"))
        .env("OPENLINEAGE_RETRIES", "1")
        .run();
    run.assert_success();
    let n = events(&p).len();
    assert!(
        run.stderr.contains(&format!(
            "OpenLineage: {n} of {n} events could not be sent to http://127.0.0.1:{port}/api/v1/lineage"
        )),
        "{}",
        run.snapshot()
    );
    assert!(
        run.stderr.contains("(every event is in "),
        "{}",
        run.snapshot()
    );
}

#[test]
fn a_bad_openlineage_setting_stops_before_anything_runs() {
    let p = project().file(
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nvars:\n  openlineage:\n    url: ftp://example.com\n",
    );
    let run = p.kiln(&["build"]).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("OpenLineage setting vars.openlineage.url: 'ftp://example.com' is not an http:// or https:// URL"),
        "{}",
        run.snapshot()
    );
    assert!(!p.exists("target/run_results.json"));
    // Disabled: no events at all.
    let p = project();
    p.kiln(&["seed"])
        .env("OPENLINEAGE_DISABLED", "true")
        .run()
        .assert_success();
    assert!(!p.exists("target/openlineage.jsonl"));
}

/// The schema checks have teeth: a missing field, a runId that is not a UUID, and an input field
/// without its column each fail them.
#[test]
fn the_openlineage_schema_checks_reject_malformed_events() {
    let p = project();
    p.kiln(&["seed"]).run().assert_success();
    let events = events(&p);
    let done = events
        .iter()
        .find(|e| e["eventType"] == "COMPLETE" && e["job"]["name"] == "seed.shop.raw_orders")
        .expect("the seed's COMPLETE")
        .clone();
    let v = Validators::new();
    assert!(v.problems(&done).is_empty(), "{:#?}", v.problems(&done));
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut e = done.clone();
        change(&mut e);
        v.problems(&e)
    };
    let p1 = broken(&|e| {
        e.as_object_mut().unwrap().remove("producer");
    });
    assert!(p1.iter().any(|m| m.contains("producer")), "{p1:#?}");
    let p2 = broken(&|e| e["run"]["facets"]["parent"]["run"]["runId"] = json!("not-a-uuid"));
    assert!(p2.iter().any(|m| m.contains("uuid")), "{p2:#?}");
    let p3 = broken(&|e| {
        e["outputs"][0]["facets"]["columnLineage"] = json!({
            "_producer": "urn:x", "_schemaURL": "https://x/y",
            "fields": {"a": {"inputFields": [{"namespace": "n", "name": "t"}]}},
        })
    });
    assert!(p3.iter().any(|m| m.contains("field")), "{p3:#?}");
}
