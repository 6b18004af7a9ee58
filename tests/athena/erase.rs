//! `kiln erase` on Athena against moto. moto runs no SQL, so the test plays the engine twice
//! over: the proxy's `Rule::Engine` does what a CTAS or a view does to Glue and S3, and this
//! file's [`Engine`] holds the rows (each table's key values by the S3 location Glue gives it,
//! so a version built aside is a version of its own and readers see what Glue points at),
//! reads the subjects' file kiln uploads, and answers the counts, applies the `delete`s and the
//! rewrites built aside. What is asserted is what kiln asked for (the statements, the API
//! calls, where it deleted) and what the warehouse holds after it: the rows, Glue, S3, the
//! audit rows.

use super::proxy::Answerer;
use super::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const KEY: &str = "athena-erase-test-key";
/// The contacts flagged for erasure (distinct enough to be found in any text).
const FLAGGED: &[&str] = &["c-1002", "c-1005"];

const PROJECT: &str = "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\n\
vars:\n  kiln:\n    erase:\n      key: [\"source('crm', 'raw_contacts').id\", \"ref('seed_contacts').id\"]\n      \
subjects:\n        relation: \"source('crm', 'raw_contacts')\"\n        column: id\n        where: \"flagged = 'yes'\"\n";

const FILES: &[(&str, &str)] = &[
    (
        "models/sources.yml",
        "version: 2\nsources:\n  - name: crm\n    tables:\n      - name: raw_contacts\n        columns:\n          - name: id\n            data_type: varchar\n          - name: flagged\n            data_type: varchar\n",
    ),
    (
        "models/contacts.sql",
        "{{ config(materialized='table') }}\nselect id from {{ source('crm', 'raw_contacts') }}",
    ),
    (
        "models/orders.sql",
        "{{ config(materialized='table', partitioned_by=['dt']) }}\nselect id, '2024-01-01' as dt from {{ ref('contacts') }}",
    ),
    (
        "models/events.sql",
        "{{ config(materialized='incremental', table_type='iceberg', incremental_strategy='merge', unique_key='id') }}\nselect id from {{ ref('contacts') }}",
    ),
    (
        "models/v_contacts.sql",
        "{{ config(materialized='view') }}\nselect id from {{ ref('contacts') }}",
    ),
    (
        "models/contact_count.sql",
        "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('contacts') }}",
    ),
];

/// Objects that are no table's of this erasure and must survive it.
const SIBLINGS: &[&str] = &[
    "data/analytics/orders_v2/part-0.parquet",
    "data/analytics/kiln_erase_subjects_v2/part-0.parquet",
    "other-team/export.csv",
];

/// The engine's rows and what it saw.
#[derive(Default)]
struct Held {
    by_location: BTreeMap<String, Vec<String>>,
    /// Sources: not in Glue, rows by table name.
    sources: BTreeMap<String, Vec<String>>,
    /// The subjects' file as the engine read it: value -> label.
    subjects: BTreeMap<String, String>,
    /// Every statement that wrote audit rows.
    audit: Vec<String>,
}

#[derive(Clone)]
struct Engine {
    account: String,
    held: Arc<Mutex<Held>>,
}

/// The relation named right after `keyword` in `sql`: (schema, table), unquoted.
fn relation_after(sql: &str, keyword: &str) -> Option<(String, String)> {
    let at = sql.find(keyword)? + keyword.len();
    let token = sql[at..].split_whitespace().next()?;
    let parts: Vec<String> = token
        .split('.')
        .map(|p| p.trim_matches(|c| c == '"' || c == '`').to_lowercase())
        .collect();
    let n = parts.len();
    (n >= 2).then(|| (parts[n - 2].clone(), parts[n - 1].clone()))
}

/// A quoted value following `prefix` in `sql`.
fn quoted_after<'a>(sql: &'a str, prefix: &str) -> Option<&'a str> {
    let at = sql.find(prefix)? + prefix.len();
    let len = sql[at..].find('\'')?;
    Some(&sql[at..at + len])
}

fn result_set(columns: &[(&str, &str)], rows: &[Vec<String>]) -> Value {
    let cell = |v: &str| json!({"VarCharValue": v});
    let mut out = vec![json!({"Data": columns.iter().map(|(n, _)| cell(n)).collect::<Vec<_>>()})];
    for r in rows {
        out.push(json!({"Data": r.iter().map(|v| cell(v)).collect::<Vec<_>>()}));
    }
    let info: Vec<Value> = columns
        .iter()
        .map(|(n, t)| {
            json!({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n,
                   "Label": n, "Type": t, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN",
                   "CaseSensitive": false})
        })
        .collect();
    json!({"Rows": out, "ResultSetMetadata": {"ColumnInfo": info}})
}

/// A CSV field as OpenCSVSerde reads it (quoted, `\` escapes).
fn unquote(field: &str) -> String {
    let inner = field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// The engine's own calls to moto (not recorded).
impl Account for Engine {
    fn account(&self) -> &str {
        &self.account
    }

    fn principal(&self) -> &str {
        "ENGINE"
    }
}

impl Engine {
    fn glue_table(&self, schema: &str, name: &str) -> Option<Value> {
        let body = json!({"DatabaseName": schema, "Name": name});
        let r = self.glue("GetTable", body);
        (r.status() == 200).then(|| r.json()["Table"].clone())
    }

    /// The Glue partitions of `schema.name`: (value, location).
    fn partitions(&self, schema: &str, name: &str) -> Vec<(String, String)> {
        harness::partitions_in(self, schema, name)
    }

    /// The rows a reader of `analytics.name` sees now.
    fn rows_of(&self, name: &str) -> Vec<String> {
        let held = self.held.lock().expect("engine");
        let mut rows = self.rows(&held, "analytics", name);
        rows.sort();
        rows
    }

    /// The rows a reader of `schema.name` sees: a view's upstream's, a partitioned table's at
    /// its partitions' locations, a table's at the location Glue gives it, a source's by name.
    fn rows(&self, held: &Held, schema: &str, name: &str) -> Vec<String> {
        match self.glue_table(schema, name) {
            Some(t) if t["TableType"] == "VIRTUAL_VIEW" => {
                let text = t["ViewOriginalText"].as_str().unwrap_or_default();
                let (s, n) = relation_after(text, "from ").expect("a view's upstream");
                self.rows(held, &s, &n)
            }
            Some(t) if t["PartitionKeys"].as_array().is_some_and(|k| !k.is_empty()) => self
                .partitions(schema, name)
                .iter()
                .flat_map(|(_, loc)| held.by_location.get(loc).cloned().unwrap_or_default())
                .collect(),
            Some(t) => {
                let loc = t["StorageDescriptor"]["Location"].as_str().unwrap_or("");
                held.by_location.get(loc).cloned().unwrap_or_default()
            }
            None => held.sources.get(name).cloned().unwrap_or_default(),
        }
    }

    fn answer(&self, sql: &str) -> Option<Value> {
        let mut held = self.held.lock().expect("engine");
        let subject = |held: &Held, v: &String| held.subjects.contains_key(v);
        if sql.starts_with("create external table") && sql.contains("kiln_erase_subjects") {
            let location = quoted_after(sql, "\nlocation '")?;
            let (bucket, prefix) = location.strip_prefix("s3://")?.split_once('/')?;
            let r = self.raw(
                "s3",
                "GET",
                &format!("/{bucket}/{prefix}subjects.csv"),
                &[],
                b"",
            );
            assert_eq!(r.status(), 200, "the subjects' file: {}", r.text());
            held.subjects = r
                .text()
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(','))
                .map(|(v, h)| (unquote(v), unquote(h)))
                .collect();
            return None;
        }
        if sql.starts_with("select distinct cast(\"dt\" as varchar)") {
            // the partitions holding subjects
            let (s, n) = relation_after(sql, " from ")?;
            let rows: Vec<Vec<String>> = self
                .partitions(&s, &n)
                .into_iter()
                .filter(|(_, loc)| {
                    held.by_location
                        .get(loc)
                        .is_some_and(|r| r.iter().any(|v| subject(&held, v)))
                })
                .map(|(v, _)| vec![v])
                .collect();
            return Some(result_set(&[("dt", "varchar")], &rows));
        }
        if sql.starts_with("select distinct") {
            // the flagged contacts of the subjects' relation
            let (_, name) = relation_after(sql, " from ")?;
            assert_eq!(name, "raw_contacts", "{sql}");
            let rows: Vec<Vec<String>> = FLAGGED.iter().map(|v| vec![v.to_string()]).collect();
            return Some(result_set(&[("subject", "varchar")], &rows));
        }
        if sql.starts_with("select count(*) from") {
            let (s, n) = relation_after(sql, "from ")?;
            let count = self
                .rows(&held, &s, &n)
                .iter()
                .filter(|v| subject(&held, v))
                .count();
            return Some(result_set(
                &[("_col0", "bigint")],
                &[vec![count.to_string()]],
            ));
        }
        if sql.starts_with("select s.label, count(*)") {
            let (s, n) = relation_after(sql, " from ")?;
            let mut each: BTreeMap<String, usize> = BTreeMap::new();
            for v in self.rows(&held, &s, &n) {
                if let Some(h) = held.subjects.get(&v) {
                    *each.entry(h.clone()).or_default() += 1;
                }
            }
            let rows: Vec<Vec<String>> = each
                .into_iter()
                .map(|(h, c)| vec![h, c.to_string()])
                .collect();
            return Some(result_set(
                &[("label", "varchar"), ("_col1", "bigint")],
                &rows,
            ));
        }
        if sql.starts_with("delete from") {
            let (s, n) = relation_after(sql, "delete from ")?;
            let t = self.glue_table(&s, &n).expect("a deleted-from table");
            let loc = t["StorageDescriptor"]["Location"].as_str().unwrap_or("");
            let subjects = held.subjects.clone();
            if let Some(rows) = held.by_location.get_mut(loc) {
                rows.retain(|v| !subjects.contains_key(v));
            }
            return None;
        }
        if sql.starts_with("create table") && sql.contains("not coalesce(") {
            // an erasure's rewrite: the rows without the subjects, at the new location (a
            // partitioned one's per partition its filter names)
            let location = quoted_after(sql, "external_location='")?.to_string();
            let (s, n) = relation_after(sql, "\nfrom ")?;
            if sql.contains("partitioned_by=ARRAY['dt']") {
                for (v, loc) in self.partitions(&s, &n) {
                    if !sql.contains(&format!("cast(\"dt\" as varchar) = '{v}'")) {
                        continue;
                    }
                    let kept: Vec<String> = held
                        .by_location
                        .get(&loc)
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|r| !subject(&held, r))
                        .collect();
                    held.by_location.insert(format!("{location}dt={v}/"), kept);
                }
            } else {
                let kept: Vec<String> = self
                    .rows(&held, &s, &n)
                    .into_iter()
                    .filter(|v| !subject(&held, v))
                    .collect();
                held.by_location.insert(location, kept);
            }
            return None;
        }
        if sql.starts_with("insert into") && sql.contains("kiln_erase_audit") {
            held.audit.push(sql.to_string());
        }
        None
    }
}

/// The test's warehouse: built (seed, run), the engine holding the rows.
fn built() -> (Warehouse, Engine) {
    let mut files = FILES.to_vec();
    files.push(("dbt_project.yml", PROJECT));
    let w = Warehouse::new(&files);
    w.project.write(
        "seeds/seed_contacts.csv",
        "id,name\nc-1001,Ann\nc-1002,Bo\nc-1003,Cy\n",
    );
    for key in SIBLINGS {
        w.put(key);
    }
    let engine = Engine {
        account: w.account.clone(),
        held: Arc::default(),
    };
    let e = engine.clone();
    w.proxy
        .rule(Rule::Answers(Answerer(Arc::new(move |sql| e.answer(sql)))));
    w.kiln(&["seed"]).assert_success();
    w.kiln(&["run"]).assert_success();
    let ids = |n: usize| -> Vec<String> { (1..=n).map(|i| format!("c-{}", 1000 + i)).collect() };
    {
        let mut held = engine.held.lock().expect("engine");
        held.sources.insert("raw_contacts".into(), ids(6));
        held.by_location.insert(w.location("seed_contacts"), ids(3));
        held.by_location.insert(w.location("contacts"), ids(6));
        // `orders` has two partitions: one holding subjects, one not
        let mut orders = ids(6);
        orders.push("c-1002".into());
        let loc = w.location("orders");
        held.by_location
            .insert(format!("{loc}dt=2024-01-01/"), orders);
        held.by_location.insert(
            format!("{loc}dt=2024-01-02/"),
            vec!["c-1001".into(), "c-1003".into()],
        );
        let folder = loc.trim_start_matches(&format!("s3://{}/", w.bucket));
        w.put(&format!("{folder}dt=2024-01-02/part-00000.parquet"));
        let r = w.glue(
            "CreatePartition",
            json!({"DatabaseName": "analytics", "TableName": "orders", "PartitionInput": {
                "Values": ["2024-01-02"],
                "StorageDescriptor": {"Location": format!("{loc}dt=2024-01-02/")},
            }}),
        );
        assert_eq!(r.status(), 200, "{}", r.text());
        held.by_location.insert(w.location("events"), ids(6));
    }
    w.proxy.clear();
    (w, engine)
}

impl Warehouse {
    fn erase(&self, args: &[&str]) -> support::Run {
        self.erase_with(args, &[])
    }

    fn erase_with(&self, args: &[&str], env: &[(&str, &str)]) -> support::Run {
        let mut all = vec!["erase"];
        all.extend_from_slice(args);
        let mut env = env.to_vec();
        env.push(("DBT_ENV_SECRET_KILN_PII_KEY", KEY));
        self.kiln_with(&all, &env)
    }

    /// (name, status, rows) of each relation in target/erase_results.json.
    fn erase_results(&self) -> Vec<(String, String, i64)> {
        let json: Value =
            serde_json::from_str(&self.project.read("target/erase_results.json")).expect("json");
        json["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap_or("").to_string(),
                    t["status"].as_str().unwrap_or("").to_string(),
                    t["rows"].as_i64().unwrap_or(-1),
                )
            })
            .collect()
    }

    /// Every statement kiln started since the last `clear`.
    fn statements(&self) -> Vec<String> {
        harness::queries(self)
    }
}

/// c-1001..c-100n and `extra`, without the flagged ones, sorted.
fn expected(n: usize, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = (1..=n)
        .map(|i| format!("c-{}", 1000 + i))
        .chain(extra.iter().map(|s| s.to_string()))
        .filter(|v| !FLAGGED.contains(&v.as_str()))
        .collect();
    v.sort();
    v
}

/// The files under `table`'s location that none of its partitions reads.
fn unread_files(w: &Warehouse, engine: &Engine, table: &str) -> Vec<String> {
    let loc = w.location(table);
    let folder = loc
        .trim_start_matches(&format!("s3://{}/", w.bucket))
        .to_string();
    let read: Vec<String> = engine
        .partitions("analytics", table)
        .into_iter()
        .map(|(_, l)| {
            l.trim_start_matches(&format!("s3://{}/", w.bucket))
                .to_string()
        })
        .collect();
    w.keys()
        .into_iter()
        .filter(|k| k.starts_with(&folder) && !read.iter().any(|r| k.starts_with(r)))
        .collect()
}

fn row(name: &str, status: &str, rows: i64) -> (String, String, i64) {
    (name.to_string(), status.to_string(), rows)
}

/// The results of the project's six relations, as [`Warehouse::erase_results`] lists them: the
/// seed and the three models kiln builds with `status`, the source outside kiln, the view that
/// shows the subjects; `counts` in that order (seed_contacts, crm.raw_contacts, contacts,
/// events, orders, v_contacts).
fn results(status: &str, counts: [i64; 6]) -> Vec<(String, String, i64)> {
    let [seed, source, contacts, events, orders, view] = counts;
    vec![
        row("seed_contacts", status, seed),
        row("crm.raw_contacts", "outside_kiln", source),
        row("contacts", status, contacts),
        row("events", status, events),
        row("orders", status, orders),
        row("v_contacts", "shows", view),
    ]
}

/// The keyed hash the audit must hold: HMAC-SHA-256 (RFC 2104), in hex.
fn hmac_hex(key: &str, message: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut k0 = [0u8; 64];
    k0[..key.len()].copy_from_slice(key.as_bytes());
    let pad = |b: u8| -> Vec<u8> { k0.iter().map(|k| k ^ b).collect() };
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    inner.update(message.as_bytes());
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Nothing but the relation's own folder (and the subjects' file's) lost an object.
fn assert_deletes_inside_prefixes(w: &Warehouse) {
    for c in w.calls() {
        if let Some(keys) = c.strip_prefix("DeleteObjects ") {
            for k in keys.split(' ') {
                let owner = k
                    .strip_prefix("data/analytics/")
                    .and_then(|r| r.split_once('/'))
                    .map(|(t, _)| t);
                assert!(
                    matches!(
                        owner,
                        Some(
                            "orders"
                                | "contacts"
                                | "seed_contacts"
                                | "kiln_erase_subjects"
                                | "contact_count"
                        )
                    ),
                    "deleted {k}, outside the folders of the erased relations"
                );
            }
        }
    }
    let keys = w.keys();
    for s in SIBLINGS {
        assert!(keys.contains(&s.to_string()), "{s} is gone: {keys:#?}");
    }
}

/// Raw subject values in none of kiln's output, files, or statements (Athena's query
/// history).
fn assert_no_raw_value(w: &Warehouse, run: &support::Run) {
    let statements = w.statements();
    for v in FLAGGED {
        assert!(
            !run.stdout.contains(v) && !run.stderr.contains(v),
            "{v} printed:\n{}",
            run.snapshot()
        );
        for s in &statements {
            assert!(!s.contains(v), "{v} in a statement:\n{s}");
        }
        for dir in ["target", "logs"] {
            let mut stack = vec![w.project.dir().join(dir)];
            while let Some(d) = stack.pop() {
                for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = entry.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default())
                            .into_owned();
                        assert!(!text.contains(v), "{v} written in {}", p.display());
                    }
                }
            }
        }
    }
}

/// No subjects' file and no `kiln_erase_subjects` table left behind.
fn assert_subjects_removed(w: &Warehouse) {
    assert!(
        !w.tables().iter().any(|t| t == "kiln_erase_subjects"),
        "{:?}",
        w.tables()
    );
    let left = harness::keys_under(w, "data/analytics/kiln_erase_subjects/");
    assert!(left.is_empty(), "{left:?}");
}

/// A dry run counts per table and changes nothing; `--apply` deletes them (Iceberg `delete`,
/// Hive tables rebuilt aside and published, the partitioned one with its partitions), audits
/// by keyed hash, rebuilds the aggregate downstream; a second run deletes 0.
#[test]
fn a_dry_run_counts_apply_erases_and_a_second_run_deletes_nothing() {
    let (w, engine) = built();
    let before: Vec<(String, String)> = ["seed_contacts", "contacts", "orders", "events"]
        .iter()
        .map(|t| (t.to_string(), w.location(t)))
        .collect();

    let dry = w.erase(&[]);
    dry.assert_success();
    assert_eq!(
        w.erase_results(),
        results("would_delete", [1, 2, 2, 2, 3, 2])
    );
    assert!(
        dry.stdout.contains("outside kiln: erase upstream")
            && dry.stdout.contains("--apply then rebuilds: contact_count"),
        "{}",
        dry.snapshot()
    );
    assert_no_raw_value(&w, &dry);
    // a dry run changes no table and leaves no subjects' file
    for (t, loc) in &before {
        assert_eq!(&w.location(t), loc, "{t}");
    }
    assert!(engine.held.lock().expect("engine").audit.is_empty());
    assert_subjects_removed(&w);

    w.proxy.clear();
    let apply = w.erase(&["--apply"]);
    apply.assert_success();
    assert_eq!(w.erase_results(), results("deleted", [1, 2, 2, 2, 3, 0]));
    let ids = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("regex");
    let stable = |s: &str| {
        ids.replace_all(&s.replace(&w.bucket, "BUCKET"), "[ID]")
            .into_owned()
    };
    insta::assert_snapshot!("erase_apply_calls", stable(&w.calls().join("\n")));
    insta::assert_snapshot!(
        "erase_apply_statements",
        stable(&w.statements().join(";\n\n"))
    );
    assert_no_raw_value(&w, &apply);
    assert_deletes_inside_prefixes(&w);
    assert_subjects_removed(&w);

    // The unpartitioned Hive tables were rebuilt aside and published (a new location); the
    // Iceberg table kept its location; the partitioned one too, and only its partition
    // holding subjects was rewritten (into a folder inside the table's location), the other
    // left as it was. Every row that is no subject's is kept, once.
    for (t, loc) in &before {
        let now = w.location(t);
        if matches!(t.as_str(), "events" | "orders") {
            assert_eq!(&now, loc, "{t}");
        } else {
            assert_ne!(&now, loc, "{t} was not rebuilt");
        }
        let want = match t.as_str() {
            "seed_contacts" => expected(3, &[]),
            "orders" => expected(6, &["c-1002", "c-1001", "c-1003"]),
            _ => expected(6, &[]),
        };
        assert_eq!(engine.rows_of(t), want, "{t}");
    }
    let orders = w.location("orders");
    let parts = engine.partitions("analytics", "orders");
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert!(
        parts[0].1.starts_with(&format!("{orders}kiln-erase-"))
            && parts[0].1.ends_with("/dt=2024-01-01/"),
        "{parts:?}"
    );
    assert_eq!(parts[1].1, format!("{orders}dt=2024-01-02/"));
    assert_eq!(
        unread_files(&w, &engine, "orders"),
        Vec::<String>::new(),
        "the rewritten partition's previous files"
    );
    let held = engine.held.lock().expect("engine");
    // The counts named a subject by a label under a key of the run's own, not by the audit's
    // keyed hash (query results stay in S3).
    assert_eq!(held.subjects.len(), FLAGGED.len());
    for v in FLAGGED {
        assert_ne!(held.subjects.get(*v), Some(&hmac_hex(KEY, v)));
    }
    // The audit: one row per subject and erased table, by keyed hash, never the value.
    let audit = held.audit.join("\n");
    for v in FLAGGED {
        assert!(!audit.contains(v), "{v} in the audit: {audit}");
        let h = hmac_hex(KEY, v);
        assert_eq!(audit.matches(&h).count(), 4, "{h}: {audit}");
    }
    assert_eq!(held.audit.len(), 4, "one insert per erased table");
    drop(held);
    assert!(
        w.tables().contains(&"kiln_erase_audit".to_string()),
        "{:?}",
        w.tables()
    );
    // no staged tables left
    assert!(
        w.tables().iter().all(|t| !t.contains("__")),
        "{:?}",
        w.tables()
    );

    // a second run deletes nothing
    w.proxy.clear();
    let again = w.erase(&["--apply", "--no-rebuild"]);
    again.assert_success();
    assert_eq!(w.erase_results(), results("deleted", [0, 2, 0, 0, 0, 0]));
    let statements = w.statements();
    assert!(
        !statements
            .iter()
            .any(|s| s.starts_with("delete from") || s.contains("__ha")),
        "a second run deleted or rebuilt: {statements:#?}"
    );
}

/// Killed at each step of an erasure that leaves something behind (the partition rewrite
/// staged, its partitions re-pointed; an unpartitioned table's rewrite published before its
/// staged entry and old files went), with the subjects' file still in S3: the rerun removes
/// that file and what no table reads, finishes the job, and every table ends with exactly its
/// rows that are no subject's (nothing deleted twice, nothing lost).
#[test]
fn a_crash_mid_erase_is_finished_by_the_rerun() {
    for step in ["erase-staged", "erase-repointed", "published"] {
        let (w, engine) = built();
        let crashed = w.erase_with(&["--apply"], &[("KILN_FAILPOINT", step)]);
        assert_eq!(
            crashed.code,
            None,
            "{step}: kiln should have aborted\n{}",
            crashed.snapshot()
        );
        // the subjects' file was left behind by the crash; every table is still readable
        assert!(
            w.keys()
                .iter()
                .any(|k| k.starts_with("data/analytics/kiln_erase_subjects/")),
            "{step}: {:?}",
            w.keys()
        );
        for t in ["seed_contacts", "contacts", "orders", "events"] {
            assert!(w.table(t).is_some(), "{step}: no table {t}");
        }
        assert!(!engine.held.lock().expect("engine").audit.is_empty());

        w.proxy.clear();
        let rerun = w.erase(&["--apply", "--no-rebuild"]);
        rerun.assert_success();
        assert!(
            w.erase_results().iter().all(|(_, status, _)| matches!(
                status.as_str(),
                "deleted" | "outside_kiln" | "shows"
            )),
            "{step}: {:?}",
            w.erase_results()
        );
        assert_no_raw_value(&w, &rerun);
        assert_deletes_inside_prefixes(&w);
        assert_subjects_removed(&w);
        assert!(
            w.tables().iter().all(|t| !t.contains("__")),
            "{step}: {:?}",
            w.tables()
        );
        assert_eq!(engine.rows_of("seed_contacts"), expected(3, &[]), "{step}");
        assert_eq!(engine.rows_of("contacts"), expected(6, &[]), "{step}");
        assert_eq!(engine.rows_of("events"), expected(6, &[]), "{step}");
        assert_eq!(
            engine.rows_of("orders"),
            expected(6, &["c-1002", "c-1001", "c-1003"]),
            "{step}"
        );
        assert_eq!(
            unread_files(&w, &engine, "orders"),
            Vec::<String>::new(),
            "{step}"
        );
        // The audit, written before each delete: every table's subject rows are audited
        // under one of the two runs' ids.
        let held = engine.held.lock().expect("engine");
        for (node, rows) in [
            ("seed.shop.seed_contacts", 1),
            ("model.shop.contacts", 2),
            ("model.shop.events", 2),
            ("model.shop.orders", 3),
        ] {
            let audited = held.audit.iter().any(|stmt| {
                let total: i64 = stmt
                    .split("), (")
                    .filter(|r| r.contains(&format!("'{node}'")))
                    .filter_map(|r| r.rsplit(", ").nth(1)?.parse::<i64>().ok())
                    .sum();
                total == rows
            });
            assert!(audited, "{step}: {node} not audited: {:#?}", held.audit);
        }
        drop(held);
        // and nothing is left to delete
        w.erase(&[]).assert_success();
        assert!(
            w.erase_results()
                .iter()
                .all(|(_, status, rows)| status != "would_delete" || *rows == 0),
            "{step}: {:?}",
            w.erase_results()
        );
    }
}

/// Every statement an erasure sends passes Athena's grammars (`grammar.rs`'s check).
#[test]
fn erase_statements_parse_with_athenas_grammars() {
    let (w, _engine) = built();
    w.erase(&[]).assert_success();
    w.erase(&["--apply", "--no-rebuild"]).assert_success();
    assert!(w.statements().iter().any(|s| s.starts_with("delete from")));
    super::whole::assert_statements_parse(&w, "kiln erase");
}

/// `--subjects file.csv`: the file's values reach Athena only as the uploaded object, and
/// `--no-rebuild` lists what must be rebuilt.
#[test]
fn a_subjects_file_is_uploaded_and_removed_and_no_rebuild_lists() {
    let (w, _engine) = built();
    w.project.write("erase_me.csv", "id\nc-1005\n");
    let run = w.erase(&["--apply", "--no-rebuild", "--subjects", "erase_me.csv"]);
    run.assert_success();
    assert_eq!(w.erase_results(), results("deleted", [0, 1, 1, 1, 1, 0]));
    assert!(
        run.stdout
            .contains("must be rebuilt (--no-rebuild): kiln run --select contact_count"),
        "{}",
        run.snapshot()
    );
    // no `select distinct` of the subjects: they came from the file
    assert!(
        !w.statements()
            .iter()
            .any(|s| s.starts_with("select distinct trim(")),
        "{:#?}",
        w.statements()
    );
    let uploads: Vec<String> = w
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("PutObject"))
        .collect();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_subjects_removed(&w);
    assert_no_raw_value(&w, &run);
}
