//! `kiln erase` (GDPR/CCPA) on real DuckDB files: on a copy of the demo warehouse (two contacts
//! flagged in the CRM export after they reached the staging table and a contact snapshot), and
//! on a small project with every kind of relation kiln manages (a seed, a table, an incremental
//! model, a snapshot, a view, a table built from their rows).
//!
//! The audit's keyed hashes are checked against Python's `hmac` module:
//! `hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()`.

#[path = "cli/support.rs"]
mod support;

use std::path::Path;
use support::{Run, TestProject};

const KEY: &str = "erase-test-key-5b1";
const KEY_ENV: &str = "DBT_ENV_SECRET_KILN_PII_KEY";

/// Runs `sql` on the project's database file; each row as text cells (NULL as "NULL").
fn query(p: &TestProject, db: &str, sql: &str) -> Vec<Vec<String>> {
    let conn = duckdb::Connection::open(p.dir().join(db)).expect("open the database");
    let text_sql = format!("select cast(columns(*) as varchar) from ({sql}) as q");
    let mut stmt = conn
        .prepare(&text_sql)
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"));
    let mut rows = stmt.query([]).expect("query");
    let mut out = vec![];
    while let Some(row) = rows.next().expect("next row") {
        let n = row.as_ref().column_count();
        out.push(
            (0..n)
                .map(|i| {
                    row.get::<_, Option<String>>(i)
                        .expect("a varchar cell")
                        .unwrap_or_else(|| "NULL".into())
                })
                .collect(),
        );
    }
    out
}

fn scalar(p: &TestProject, db: &str, sql: &str) -> String {
    let rows = query(p, db, sql);
    assert_eq!(rows.len(), 1, "`{sql}` returned {rows:?}");
    rows[0][0].clone()
}

fn execute(p: &TestProject, db: &str, sql: &str) {
    let conn = duckdb::Connection::open(p.dir().join(db)).expect("open the database");
    conn.execute_batch(sql)
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"));
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read file");
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

/// The raw subject values appear in neither what the run printed nor the files kiln wrote.
fn assert_no_raw_value(p: &TestProject, run: &Run, values: &[&str]) {
    for v in values {
        assert!(
            !run.stdout.contains(v) && !run.stderr.contains(v),
            "`{v}` printed:\n{}",
            run.snapshot()
        );
        for dir in ["target", "logs"] {
            assert_eq!(
                files_containing(&p.dir().join(dir), v),
                Vec::<String>::new(),
                "`{v}` written under {dir}/"
            );
        }
    }
}

/// The `status` and `rows` of each relation in target/erase_results.json, by name.
fn results(p: &TestProject, target: &str) -> Vec<(String, String, i64)> {
    let json: serde_json::Value =
        serde_json::from_str(&p.read(&format!("{target}/erase_results.json"))).expect("json");
    json["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("name").to_string(),
                t["status"].as_str().expect("status").to_string(),
                t["rows"].as_i64().expect("rows"),
            )
        })
        .collect()
}

// ---- the demo ----

fn demo() -> TestProject {
    TestProject::demo()
}

/// The demo's CRM export with the deletion flag (8th column) of every contact set to `flag` for
/// the ids in `flagged` and cleared for the others.
fn set_flags(p: &TestProject, flagged: &[&str], flag: &str) {
    let text = p.read("data/crm/contacts.csv");
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(line);
        } else {
            let mut fields: Vec<&str> = line.split(',').collect();
            let id = fields[0].trim();
            fields[7] = if flagged.contains(&id) { flag } else { "" };
            out.push_str(&fields.join(","));
        }
        out.push('\n');
    }
    p.write("data/crm/contacts.csv", &out);
}

fn kiln(p: &TestProject, args: &[&str]) -> Run {
    p.kiln(args).env(KEY_ENV, KEY).run()
}

/// The demo's "done when": two contacts flagged after they reached the warehouse are shown in
/// the raw export, the snapshot (two versions of one) and the staging table; --apply removes
/// them and rebuilds what counts them; a rebuild shows them nowhere; a second erase deletes 0;
/// the audit holds their keyed hashes, never the ids.
#[test]
fn two_flagged_contacts_are_erased_from_the_demo_and_a_second_erase_deletes_nothing() {
    let p = demo();
    // A team keeping the contacts' history: a snapshot of the staging table.
    p.write(
        "snapshots/snap_contacts.sql",
        "{% snapshot snap_contacts %}\n{{ config(unique_key='contact_id', strategy='timestamp', updated_at='updated_at') }}\nselect contact_id, account_id, email_hash, title, updated_at from {{ ref('stg_crm__contacts') }}\n{% endsnapshot %}\n",
    );
    let subjects = ["CON-00001", "CON-00002"];
    set_flags(&p, &[], "");
    kiln(&p, &["build"]).assert_success();
    // CON-00001 changes title: the snapshot keeps both versions.
    let csv = p.read("data/crm/contacts.csv").replacen(
        "Procurement Lead,,2024-02-07 15:21:10,2024-03-18 20:21:10",
        "Head of Procurement,,2024-02-07 15:21:10,2024-07-01 08:00:00",
        1,
    );
    p.write("data/crm/contacts.csv", &csv);
    kiln(&p, &["build"]).assert_success();
    let in_snapshot =
        "select count(*) from main.snap_contacts where contact_id in ('CON-00001', 'CON-00002')";
    let in_staging = "select count(*) from main.stg_crm__contacts where contact_id in ('CON-00001', 'CON-00002')";
    assert_eq!(scalar(&p, "demo.duckdb", in_snapshot), "3");
    assert_eq!(scalar(&p, "demo.duckdb", in_staging), "2");
    let counted = "select contacts from main.int_accounts_validated where account_id = 'ACC-0001'";
    let before = scalar(&p, "demo.duckdb", counted);

    // The CRM flags them.
    set_flags(&p, &subjects, "yes");
    let dry = kiln(&p, &["erase"]);
    dry.assert_success();
    assert!(
        dry.stdout.contains(
            "kiln erase: dry run, would erase 2 subject(s) from source('crm', 'contacts')"
        ),
        "{}",
        dry.snapshot()
    );
    assert_eq!(
        results(&p, "target/kiln"),
        [
            ("crm.contacts".into(), "outside_kiln".into(), 2),
            ("stg_crm__contacts".into(), "would_delete".into(), 2),
            ("snap_contacts".into(), "would_delete".into(), 3),
        ]
    );
    assert!(
        dry.stdout
            .contains("2 row(s): outside kiln: erase upstream")
            && dry
                .stdout
                .contains("snapshot (whole history)  would delete 3 row(s)")
            && dry
                .stdout
                .contains("--apply then rebuilds: int_accounts_validated"),
        "{}",
        dry.snapshot()
    );
    // A dry run changes nothing.
    assert_eq!(scalar(&p, "demo.duckdb", in_snapshot), "3");
    assert_no_raw_value(&p, &dry, &subjects);

    let apply = kiln(&p, &["erase", "--apply"]);
    apply.assert_success();
    assert_eq!(
        results(&p, "target/kiln"),
        [
            ("crm.contacts".into(), "outside_kiln".into(), 2),
            ("stg_crm__contacts".into(), "deleted".into(), 2),
            ("snap_contacts".into(), "deleted".into(), 3),
        ]
    );
    assert_eq!(scalar(&p, "demo.duckdb", in_snapshot), "0");
    assert_eq!(scalar(&p, "demo.duckdb", in_staging), "0");
    // int_accounts_validated counted them: rebuilt by the erase.
    let after: i64 = scalar(&p, "demo.duckdb", counted).parse().expect("a count");
    assert_eq!(after, before.parse::<i64>().expect("a count") - 2);
    assert!(apply.stdout.contains("rebuilding: int_accounts_validated"));
    assert_no_raw_value(&p, &apply, &subjects);

    // The audit: one row per subject and table, by keyed hash.
    let audit = query(
        &p,
        "demo.duckdb",
        "select subject_hash, node_id, rows_deleted from main.kiln_erase_audit order by 2, 1",
    );
    let h1 = "8df4a33582eb10bdf75fe19d846fa740cd863d0398d49fff06de50985b294f79";
    let h2 = "475a7f9fea7f77d5e2d5ed06701f9063d8820c63e781ac1a2cee80ccd2ea7f7e";
    assert_eq!(
        audit,
        [
            [h2, "model.kiln_demo.stg_crm__contacts", "1"],
            [h1, "model.kiln_demo.stg_crm__contacts", "1"],
            [h2, "snapshot.kiln_demo.snap_contacts", "1"],
            [h1, "snapshot.kiln_demo.snap_contacts", "2"],
        ]
    );
    let raw_in_audit = "select count(*) from main.kiln_erase_audit \
         where concat_ws('|', columns(*)) like '%CON-0000%'";
    assert_eq!(scalar(&p, "demo.duckdb", raw_in_audit), "0");

    // A rebuild shows them nowhere: the export is still flagged, the model filters them.
    kiln(&p, &["build"]).assert_success();
    assert_eq!(scalar(&p, "demo.duckdb", in_snapshot), "0");
    assert_eq!(scalar(&p, "demo.duckdb", in_staging), "0");

    // A second erase deletes nothing (the export, outside kiln, still holds them).
    let again = kiln(&p, &["erase", "--apply", "--no-rebuild"]);
    again.assert_success();
    assert_eq!(
        results(&p, "target/kiln"),
        [
            ("crm.contacts".into(), "outside_kiln".into(), 2),
            ("stg_crm__contacts".into(), "deleted".into(), 0),
            ("snap_contacts".into(), "deleted".into(), 0),
        ]
    );
    assert!(
        again
            .stdout
            .contains("deleted 0 row(s) in 0 table(s) kiln manages")
            && again.stdout.contains(
                "must be rebuilt (--no-rebuild): kiln run --select int_accounts_validated"
            ),
        "{}",
        again.snapshot()
    );
    assert_no_raw_value(&p, &again, &subjects);
}

/// The key in its hashed form: subjects given as keyed hashes of their e-mail find the tables
/// holding the hash, and the raw column it hashes is named.
#[test]
fn subjects_given_as_hashed_emails_are_found_by_the_hashed_column() {
    let p = demo();
    kiln(&p, &["run", "--select", "stg_crm__contacts"]).assert_success();
    let hash = scalar(
        &p,
        "demo.duckdb",
        "select email_hash from main.stg_crm__contacts where contact_id = 'CON-00002'",
    );
    p.write("hashes.csv", &format!("email_hash\n{hash}\n"));
    let run = kiln(
        &p,
        &[
            "erase",
            "--key",
            "stg_crm__contacts.email_hash",
            "--subjects",
            "hashes.csv",
        ],
    );
    run.assert_success();
    assert_eq!(
        results(&p, "target/kiln"),
        [("stg_crm__contacts".into(), "would_delete".into(), 1)]
    );
    assert!(
        run.stdout.contains(
            "crm.contacts.email holds the raw value the key is a keyed hash of: erase there by the raw key"
        ),
        "{}",
        run.snapshot()
    );
    assert_no_raw_value(&p, &run, &[&hash]);
}

// ---- every kind of relation ----

/// A project whose contacts are a seed, with a table, an incremental model, a snapshot and a
/// view holding their id, and a table counting them.
fn shop() -> TestProject {
    TestProject::minimal()
        .file(
            "dbt_project.yml",
            "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\n\
             vars:\n  kiln:\n    erase:\n      key: \"ref('crm_contacts').id\"\n      subjects:\n        relation: \"ref('erasure_requests')\"\n        column: contact_id\n",
        )
        .file(
            "seeds/crm_contacts.csv",
            "id,name\nC-1,ann\nC-2,bob\nC-3,cyd\nC-4,dee\nC-5,eve\n",
        )
        .file("seeds/erasure_requests.csv", "contact_id\nC-2\n C-4 \n")
        .file(
            "models/contacts.sql",
            "{{ config(materialized='table') }}\nselect trim(id) as contact_id, upper(name) as name from {{ ref('crm_contacts') }}\n",
        )
        .file(
            "models/contact_events.sql",
            "{{ config(materialized='incremental', unique_key='event_id') }}\nselect contact_id || '-signup' as event_id, contact_id, 'signup' as event from {{ ref('contacts') }}\n",
        )
        .file(
            "models/contacts_view.sql",
            "{{ config(materialized='view') }}\nselect contact_id, name from {{ ref('contacts') }}\n",
        )
        .file(
            "models/contact_count.sql",
            "{{ config(materialized='table') }}\nselect count(*) as contacts from {{ ref('contacts') }}\n",
        )
        .file(
            "snapshots/snap_contacts.sql",
            "{% snapshot snap_contacts %}\n{{ config(unique_key='contact_id', strategy='check', check_cols='all') }}\nselect contact_id, name from {{ ref('contacts') }}\n{% endsnapshot %}\n",
        )
}

#[test]
fn seeds_tables_incremental_models_snapshots_and_views_are_found_and_a_crash_is_finished_by_a_rerun()
 {
    let p = shop();
    kiln(&p, &["build"]).assert_success();
    let dry = kiln(&p, &["erase"]);
    dry.assert_success();
    assert_eq!(
        results(&p, "target"),
        [
            ("crm_contacts".into(), "would_delete".into(), 2),
            ("contacts".into(), "would_delete".into(), 2),
            ("contact_events".into(), "would_delete".into(), 2),
            ("contacts_view".into(), "shows".into(), 2),
            ("snap_contacts".into(), "would_delete".into(), 2),
        ]
    );
    // The seed's CSV lines (its header is line 1), never the values.
    assert!(
        dry.stdout.contains(
            "seed file seeds/crm_contacts.csv: line(s) 3, 5 hold subjects: remove them from the file"
        ),
        "{}",
        dry.snapshot()
    );
    assert!(dry.stdout.contains("--apply then rebuilds: contact_count"));

    // A crash half-way: the incremental model's delete fails (here: it is a view over a copy)
    // after the seed and the table are done.
    execute(
        &p,
        "dev.duckdb",
        "create table main.events_saved as select * from main.contact_events; \
         drop table main.contact_events; \
         create view main.contact_events as select * from main.events_saved;",
    );
    let crashed = kiln(&p, &["erase", "--apply"]);
    crashed.assert_code(1);
    let r = results(&p, "target");
    assert_eq!(r[0], ("crm_contacts".into(), "deleted".into(), 2));
    assert_eq!(r[1], ("contacts".into(), "deleted".into(), 2));
    assert_eq!(r[2].1, "failed");
    // The other tables go on, each in its own transaction.
    assert_eq!(r[4], ("snap_contacts".into(), "deleted".into(), 2));
    assert!(crashed.stdout.contains("contact_events"));
    assert!(crashed.stdout.contains("FAILED, nothing deleted"));
    // Nothing rebuilt after a failure: the erase is not finished.
    assert!(!crashed.stdout.contains("rebuilding:"));
    assert_eq!(
        scalar(&p, "dev.duckdb", "select count(*) from main.events_saved"),
        "5"
    );

    // The table is back; a rerun finishes the job and deletes nothing twice.
    execute(
        &p,
        "dev.duckdb",
        "drop view main.contact_events; alter table main.events_saved rename to contact_events;",
    );
    let rerun = kiln(&p, &["erase", "--apply"]);
    rerun.assert_success();
    assert_eq!(
        results(&p, "target"),
        [
            ("crm_contacts".into(), "deleted".into(), 0),
            ("contacts".into(), "deleted".into(), 0),
            ("contact_events".into(), "deleted".into(), 2),
            ("contacts_view".into(), "shows".into(), 0),
            ("snap_contacts".into(), "deleted".into(), 0),
        ]
    );
    assert_eq!(
        scalar(&p, "dev.duckdb", "select contacts from main.contact_count"),
        "3"
    );
    // Each table's rows were deleted once over both runs, audited by keyed hash.
    assert_eq!(
        query(
            &p,
            "dev.duckdb",
            "select node_id, sum(rows_deleted) from main.kiln_erase_audit group by 1 order by 1"
        ),
        [
            ["model.shop.contact_events", "2"],
            ["model.shop.contacts", "2"],
            ["seed.shop.crm_contacts", "2"],
            ["snapshot.shop.snap_contacts", "2"],
        ]
    );
    assert_eq!(
        query(
            &p,
            "dev.duckdb",
            "select distinct subject_hash from main.kiln_erase_audit order by 1"
        ),
        [
            ["8a4a895dece0b6746344e951f61436e7a30887f997be9394adae144c3d1bff25"],
            ["c480586c42da40b2960b93110e65803979e689a0981f0c0181fc16d0ca9f93fc"],
        ]
    );
    // The seed's file is the user's to edit: unchanged, and the seed table keeps the others.
    assert_eq!(
        p.read("seeds/crm_contacts.csv"),
        "id,name\nC-1,ann\nC-2,bob\nC-3,cyd\nC-4,dee\nC-5,eve\n"
    );
    assert_eq!(
        scalar(
            &p,
            "dev.duckdb",
            "select string_agg(id, ',' order by id) from main.crm_contacts"
        ),
        "C-1,C-3,C-5"
    );
    for run in [&dry, &crashed, &rerun] {
        assert_no_raw_value(&p, run, &["C-2", "C-4"]);
    }
}

#[test]
fn a_subjects_file_replaces_the_configured_relation() {
    let p = shop();
    kiln(&p, &["build"]).assert_success();
    p.write("forget.csv", "id,reason\nC-5,request\n");
    let run = kiln(&p, &["erase", "--subjects", "forget.csv", "--apply"]);
    run.assert_success();
    assert!(run.stdout.contains("erasing 1 subject(s) from"));
    assert_eq!(
        scalar(
            &p,
            "dev.duckdb",
            "select count(*) from main.contacts where contact_id = 'C-5'"
        ),
        "0"
    );
    assert_eq!(
        scalar(&p, "dev.duckdb", "select count(*) from main.contacts"),
        "4"
    );
}

#[test]
fn bad_config_and_flags_exit_2_with_what_to_do() {
    let p = shop();
    // No key in the environment for the audit's hash.
    let run = p.kiln(&["erase", "--apply"]).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("needs the key of the audit's keyed hash in the environment variable DBT_ENV_SECRET_KILN_PII_KEY"),
        "{}",
        run.snapshot()
    );
    // A misspelled setting and a misspelled relation.
    p.write(
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nvars:\n  kiln:\n    erase:\n      key: \"ref('crm_contact').id\"\n      subject: {}\n",
    );
    let run = kiln(&p, &["erase"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("`vars.kiln.erase.subject` is not a setting (did you mean `subjects`?)"),
        "{}",
        run.snapshot()
    );
    p.write(
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\nvars:\n  kiln:\n    erase:\n      key: \"ref('crm_contact').id\"\n",
    );
    let run = kiln(&p, &["erase", "--subjects", "nope.csv"]);
    run.assert_code(2);
    let run = kiln(&p, &["erase"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("`crm_contact` (vars.kiln.erase or --key) is no model, seed or snapshot")
            && run.stderr.contains("did you mean `crm_contacts`?"),
        "{}",
        run.snapshot()
    );
    // No config at all.
    p.write(
        "dbt_project.yml",
        "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\n",
    );
    let run = kiln(&p, &["erase"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("kiln erase needs `vars: {kiln: {erase: ...}}`")
    );
    // --subject-column needs --subjects.
    kiln(&p, &["erase", "--subject-column", "id"]).assert_code(2);
}

/// A model downstream of a holder whose SQL the lineage cannot read is named, never skipped.
#[test]
fn a_model_whose_lineage_is_incomplete_is_listed_for_a_check_by_hand() {
    let p = shop().file(
        "models/contacts_pivot.sql",
        "{{ config(materialized='table') }}\nselect * from (pivot {{ ref('contacts') }} on name using count(*))\n",
    );
    kiln(&p, &["build"]).assert_success();
    let run = kiln(&p, &["erase"]);
    run.assert_success();
    assert!(
        run.stdout.contains(
            "contacts_pivot: its column lineage is incomplete, kiln cannot tell whether it holds subjects"
        ),
        "{}",
        run.snapshot()
    );
    let json: serde_json::Value =
        serde_json::from_str(&p.read("target/erase_results.json")).expect("json");
    assert_eq!(json["unknown"][0]["unique_id"], "model.shop.contacts_pivot");
}

/// A foreign key between two holders: the child's rows are deleted before the rows they
/// reference, so DuckDB's enforced constraint never stops the erasure.
#[test]
fn a_foreign_keys_child_rows_are_deleted_before_the_rows_they_reference() {
    let p = shop()
        .file(
            "models/contact_notes.sql",
            "{{ config(materialized='table') }}\nselect contact_id, 'note' as note from {{ ref('contacts') }}\n",
        )
        .file(
            "models/_models.yml",
            "version: 2\nmodels:\n  - name: contacts\n    config:\n      contract: {enforced: true}\n    columns:\n      - name: contact_id\n        data_type: varchar\n        constraints: [{type: primary_key}]\n      - name: name\n        data_type: varchar\n  - name: contact_notes\n    config:\n      contract: {enforced: true}\n    columns:\n      - name: contact_id\n        data_type: varchar\n        constraints:\n          - type: foreign_key\n            to: ref('contacts')\n            to_columns: [contact_id]\n      - name: note\n        data_type: varchar\n",
        );
    kiln(&p, &["build"]).assert_success();
    let run = kiln(&p, &["erase", "--apply", "--no-rebuild"]);
    run.assert_success();
    let r = results(&p, "target");
    assert!(
        r.contains(&("contact_notes".into(), "deleted".into(), 2))
            && r.contains(&("contacts".into(), "deleted".into(), 2)),
        "{r:?}\n{}",
        run.snapshot()
    );
}

/// A source another tool loads is listed as outside kiln, with its rows when it can be read and
/// with why not when it cannot; neither is a failed delete.
#[test]
fn sources_kiln_does_not_manage_are_listed_as_outside_kiln() {
    let p = shop()
        .file(
            "dbt_project.yml",
            "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\n\
             vars:\n  kiln:\n    erase:\n      key: [\"ref('crm_contacts').id\", \"crm.loaded.id\", \"crm.not_loaded.id\"]\n      subjects:\n        relation: \"ref('erasure_requests')\"\n        column: contact_id\n",
        )
        .file(
            "models/_sources.yml",
            "version: 2\nsources:\n  - name: crm\n    schema: crm_raw\n    tables:\n      - name: loaded\n      - name: not_loaded\n",
        );
    kiln(&p, &["build"]).assert_success();
    execute(
        &p,
        "dev.duckdb",
        "create schema crm_raw; create table crm_raw.loaded as select * from (values ('C-2'), ('C-3'), ('C-4'), ('C-4')) as t(id);",
    );
    let run = kiln(&p, &["erase", "--apply", "--no-rebuild"]);
    run.assert_success();
    let r = results(&p, "target");
    assert!(
        r.contains(&("crm.loaded".into(), "outside_kiln".into(), 3))
            && r.contains(&("crm.not_loaded".into(), "unreadable".into(), 0))
            && r.contains(&("crm_contacts".into(), "deleted".into(), 2)),
        "{r:?}"
    );
    assert!(
        run.stdout
            .contains("3 row(s): outside kiln: erase upstream")
            && run
                .stdout
                .contains("outside kiln: erase upstream (cannot be read here:"),
        "{}",
        run.snapshot()
    );
    // kiln never deletes from a source.
    assert_eq!(
        scalar(&p, "dev.duckdb", "select count(*) from crm_raw.loaded"),
        "4"
    );
}

#[path = "erase/nothing_to_delete.rs"]
mod nothing_to_delete;
