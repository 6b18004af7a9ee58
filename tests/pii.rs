//! PII tracked through column lineage (issue 16): classification in YAML and dbt_project.yml,
//! propagation over the lineage into `target/pii.json`, masking by a declared macro (or a
//! function, built-in hashes only when configured), the policy of where PII may not go (exit 2
//! with the lineage path, in `compile`, `run` and `build`), the `pii:` selector, and the demo.
//!
//! The fixture is `tests/fixtures/pii` (its README says what it holds); each test adds the
//! model that breaks (or keeps) the policy.

#[path = "cli/support.rs"]
mod support;

use serde_json::Value;
use support::TestProject;

/// `target/pii.json`'s nodes (the metadata changes with every run).
fn pii_nodes(p: &TestProject) -> Value {
    pii_nodes_in(p, "target")
}

fn pii_nodes_in(p: &TestProject, target: &str) -> Value {
    let v: Value =
        serde_json::from_str(&p.read(&format!("{target}/pii.json"))).expect("pii.json is JSON");
    for key in ["kiln_version", "generated_at", "invocation_id"] {
        assert!(v["metadata"][key].is_string(), "metadata.{key}: {v}");
    }
    v["nodes"].clone()
}

/// The fixture's dbt_project.yml with `extra` added under `vars: kiln: pii:`.
fn with_pii_settings(p: &TestProject, extra: &str) {
    let text = p.read("dbt_project.yml");
    let anchor = "      masking_macros: [mask]\n";
    assert!(text.contains(anchor));
    p.write(
        "dbt_project.yml",
        &text.replace(anchor, &format!("{anchor}{extra}")),
    );
}

/// Every column derived from a classified one is classified with its path: through renames and
/// functions (`lower(email)`), a CASE condition (`phone_state`), a snapshot, a source's column
/// declared in YAML, a seed column declared by a tag or by the seeds' inherited `+meta`; the
/// keyed `mask()` pseudonymises, a plain `sha256()` does not, `pii: false` stops it, and a count
/// per country carries nothing.
#[test]
fn compile_propagates_the_classification_into_pii_json() {
    let p = TestProject::fixture("pii");
    p.kiln(&["compile"]).run().assert_success();
    insta::assert_json_snapshot!(pii_nodes(&p));
}

/// The first "done when" on a fixture: a mart that selects a contact's e-mail fails the
/// compile with exit 2, the column, the whole lineage path and the fix.
#[test]
fn a_mart_selecting_a_raw_email_fails_compile_with_the_lineage_path() {
    let p = TestProject::fixture("pii").file(
        "models/marts/rpt_contacts.sql",
        "select contact_id, email as contact_email\nfrom {{ ref('stg_contacts') }}\n",
    );
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "error[pii]: model rpt_contacts outputs PII in column contact_email (email): seed raw_contacts.email → stg_contacts.email → rpt_contacts.contact_email. PII may not go there: it is under models/marts (vars.kiln.pii.forbid.paths)\n"
        ),
        "{}",
        run.snapshot()
    );
    insta::assert_snapshot!(run.snapshot());
}

/// A selection compiles only the mart: the staging model's classification comes from the last
/// compile that compiled it (target/pii.json), so the raw e-mail is still caught. (Its columns
/// come from the warehouse; without them the mart's lineage would be incomplete, an error too.)
#[test]
fn a_selection_keeps_the_classification_of_what_it_did_not_compile() {
    let p = TestProject::fixture("pii");
    p.kiln(&["seed"]).run().assert_success();
    p.kiln(&["run", "-s", "stg_contacts"])
        .run()
        .assert_success();
    p.write(
        "models/marts/rpt_contacts.sql",
        "select contact_id, email as contact_email\nfrom {{ ref('stg_contacts') }}\n",
    );
    let run = p.kiln(&["compile", "-s", "rpt_contacts"]).run();
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("seed raw_contacts.email → stg_contacts.email → rpt_contacts.contact_email"),
        "{}",
        run.snapshot()
    );
}

/// The same mart with the masked column compiles, and its column is pseudonymised.
#[test]
fn the_same_mart_selecting_the_hash_passes() {
    let p = TestProject::fixture("pii").file(
        "models/marts/rpt_contacts.sql",
        "select contact_id, email_hash as contact_email_hash\nfrom {{ ref('stg_contacts') }}\n",
    );
    p.kiln(&["compile"]).run().assert_success();
    let col = &pii_nodes(&p)["model.crm.rpt_contacts"]["columns"]["contact_email_hash"];
    assert_eq!(col["status"], "pseudonymised");
    assert_eq!(col["kinds"], serde_json::json!(["email"]));
}

/// `run` and `build` stop on the policy before anything is built (exit 2): no table, no seed.
#[test]
fn run_and_build_stop_before_building_anything() {
    let p = TestProject::fixture("pii").file(
        "models/marts/rpt_contacts.sql",
        "select contact_id, email as contact_email\nfrom {{ ref('stg_contacts') }}\n",
    );
    for command in ["run", "build"] {
        let run = p.kiln(&[command]).run();
        run.assert_code(2);
        assert!(
            run.stderr.contains(
                "seed raw_contacts.email → stg_contacts.email → rpt_contacts.contact_email"
            ),
            "{command}: {}",
            run.snapshot()
        );
        assert!(
            !run.stdout.contains("OK "),
            "{command} built something: {}",
            run.snapshot()
        );
    }
}

/// Each zone says why PII may not go there: a public model, a model in a forbidden group, a
/// model an exposure reads (here through an unkeyed hash, which is not masking).
#[test]
fn every_zone_names_why_pii_may_not_go_there() {
    let p = TestProject::fixture("pii")
        .file(
            "models/public_names.sql",
            "select contact_id, full_name from {{ ref('stg_contacts') }}\n",
        )
        .file(
            "models/finance_phones.sql",
            "{{ config(group='finance') }}\nselect contact_id, phone_state from {{ ref('stg_contacts') }}\n",
        )
        .file(
            "models/_groups.yml",
            "version: 2\ngroups:\n  - name: finance\n    owner: {name: Finance}\nmodels:\n  - name: public_names\n    access: public\n",
        )
        .file(
            "models/marts/contact_keys.sql",
            "select contact_id, email_hash, email_sha\nfrom {{ ref('stg_contacts') }}\n",
        );
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    insta::assert_snapshot!(run.snapshot());
}

/// Built-in hashes mask only when `masking_functions` lists them.
#[test]
fn a_built_in_hash_masks_only_when_configured() {
    let p = TestProject::fixture("pii").file(
        "models/marts/rpt_contacts.sql",
        "select contact_id, email_sha from {{ ref('stg_contacts') }}\n",
    );
    p.kiln(&["compile"]).run().assert_code(2);
    with_pii_settings(&p, "      masking_functions: [sha256]\n");
    p.kiln(&["compile"]).run().assert_success();
    assert_eq!(
        pii_nodes(&p)["model.crm.rpt_contacts"]["columns"]["email_sha"]["status"],
        "pseudonymised"
    );
}

/// A model in a zone whose lineage kiln cannot read while it reads PII fails: it is never passed
/// silently. Declaring each of its columns `pii: false` vouches for it.
#[test]
fn incomplete_lineage_in_a_zone_fails_unless_its_columns_are_vouched_for() {
    let p = TestProject::fixture("pii").file(
        "models/marts/sampled.sql",
        "select contact_id, country\nfrom {{ ref('stg_contacts') }} using sample 50%\n",
    );
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    insta::assert_snapshot!(run.snapshot());
    p.write(
        "models/marts/_marts.yml",
        "version: 2\nmodels:\n  - name: sampled\n    columns:\n      - name: contact_id\n        meta: {pii: false}\n      - name: country\n        meta: {pii: false}\n",
    );
    p.kiln(&["compile"]).run().assert_success();
}

/// `pii:` selects by kind (a glob), `pii:*` / `pii:any` any kind, `pii:pseudonymised` the nodes
/// holding masked PII. Before a compile it knows what is declared; after one, what the lineage
/// found too (target/pii.json).
#[test]
fn the_pii_selector_selects_by_kind() {
    let p = TestProject::fixture("pii");
    let ls = |select: &str| {
        let run = p
            .kiln(&[
                "ls",
                "--select",
                select,
                "--resource-type",
                "model",
                "--resource-type",
                "seed",
                "--resource-type",
                "snapshot",
                "--resource-type",
                "source",
                "--output",
                "name",
                "-q",
            ])
            .run();
        run.assert_success();
        let mut names: Vec<&str> = run.stdout.lines().collect();
        names.sort_unstable();
        names.join(" ")
    };
    assert_eq!(ls("pii:email"), "raw_contacts");
    assert_eq!(ls("pii:ip"), "app.logins");
    p.kiln(&["compile"]).run().assert_success();
    assert_eq!(
        ls("pii:email"),
        "contacts_history raw_contacts stg_contacts"
    );
    assert_eq!(ls("pii:*"), ls("pii:any"));
    assert_eq!(
        ls("pii:any"),
        "app.logins contacts_history raw_contacts stg_contacts stg_logins"
    );
    assert_eq!(ls("pii:p*"), "raw_contacts stg_contacts");
    assert_eq!(ls("pii:pseudonymised"), "contact_keys stg_contacts");
}

/// catalog.json carries each built table's PII columns as a stat (catalog v1 has no column
/// meta); a table with only pseudonymised columns gets none.
#[test]
fn catalog_json_lists_pii_columns_as_a_stat() {
    let p = TestProject::fixture("pii");
    p.kiln(&[
        "build",
        "-s",
        "raw_contacts",
        "stg_contacts",
        "contact_keys",
    ])
    .run()
    .assert_success();
    p.kiln(&["docs", "generate"]).run().assert_success();
    let catalog: Value =
        serde_json::from_str(&p.read("target/catalog.json")).expect("catalog.json is JSON");
    let stats = &catalog["nodes"]["model.crm.stg_contacts"]["stats"];
    assert_eq!(
        stats["pii"],
        serde_json::json!({
            "id": "pii",
            "label": "PII",
            "value": "email (email), email_sha (email), full_name (name), phone_state (phone)",
            "include": true,
            "description": "Columns holding personal data, from kiln's PII classification (target/pii.json)",
        })
    );
    assert_eq!(stats["has_stats"]["value"], true);
    assert_eq!(
        catalog["nodes"]["seed.crm.raw_contacts"]["stats"]["pii"]["value"],
        "email (email), full_name (name), phone (phone)"
    );
    let keys = &catalog["nodes"]["model.crm.contact_keys"]["stats"];
    assert!(keys.get("pii").is_none(), "{keys}");
    assert_eq!(keys["has_stats"]["value"], false);
}

/// A mistake in `vars: kiln: pii:` stops the compile (exit 2) naming the key.
#[test]
fn a_bad_setting_is_exit_2_naming_the_key() {
    let p = TestProject::fixture("pii");
    with_pii_settings(&p, "      masking_functions: 3\n");
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "error[pii-config]: `vars.kiln.pii.masking_functions` must be a list of names, not 3"
        ),
        "{}",
        run.snapshot()
    );
}

/// The demo's project files, as tests/demo.rs copies them.
fn demo() -> TestProject {
    TestProject::demo()
}

/// The "done when" on the demo: its contact and user PII is classified and compiles; a
/// reporting model selecting a contact's raw e-mail fails with the lineage path (exit 2);
/// selecting `email_hash` passes.
#[test]
fn the_demo_keeps_raw_contact_emails_out_of_reporting() {
    let p = demo();
    p.kiln(&["compile"]).run().assert_success();
    let nodes = pii_nodes_in(&p, "target/kiln");
    for (node, column) in [
        ("source.kiln_demo.crm.contacts", "email"),
        ("source.kiln_demo.product.users", "full_name"),
        ("source.kiln_demo.marketing.leads", "email"),
    ] {
        assert_eq!(nodes[node]["columns"][column]["status"], "pii", "{node}");
    }
    for node in [
        "model.kiln_demo.stg_crm__contacts",
        "model.kiln_demo.stg_product__users",
        "model.kiln_demo.stg_marketing__leads",
    ] {
        assert_eq!(
            nodes[node]["columns"]["email_hash"]["status"], "pseudonymised",
            "{node}"
        );
    }

    p.write(
        "models/reporting/rpt_contact_emails.sql",
        "select contacts.contact_id, lower(contacts.email) as contact_email\nfrom {{ source('crm', 'contacts') }} as contacts\n",
    );
    let run = p.kiln(&["compile"]).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "error[pii]: model rpt_contact_emails outputs PII in column contact_email (email): source crm.contacts.email → rpt_contact_emails.contact_email. PII may not go there: it is under models/reporting (vars.kiln.pii.forbid.paths)\n"
        ),
        "{}",
        run.snapshot()
    );
    assert!(
        run.stderr
            .contains("help: mask it with hash_pii() or drop the column"),
        "{}",
        run.snapshot()
    );

    p.write(
        "models/reporting/rpt_contact_emails.sql",
        "select contact_id, email_hash\nfrom {{ ref('stg_crm__contacts') }}\n",
    );
    p.kiln(&["compile"]).run().assert_success();
}
