//! Failure notices: a failed `kiln build` (a model error, an error-severity test) and a stale
//! source in `kiln source freshness` send one e-mail and one webhook post, received here by an
//! SMTP server and an HTTP server on 127.0.0.1 written in the test: the recipients, the failed
//! nodes with their files, owners and on-call contacts from `meta`, and never the password.
//! STARTTLS is tested with a CA and a server certificate made by the openssl CLI (skipped, and
//! said so, when it is missing). A server that cannot be reached is a warning, and the exit code
//! stays the run's.

use crate::notice_servers::{http_server, smtp_server};
use crate::support::TestProject;
use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

const PASSWORD: &str = "hunter2-smtp-secret";

/// A seed, a model that fails at run time, a model whose error-severity test fails and one
/// whose test only warns; owners in `meta` from dbt_project.yml and a properties file; notices
/// configured in dbt_project.yml's vars and the target (which holds the password, read from a
/// DBT_ENV_SECRET_ variable).
fn project(email: &str, webhook: &str) -> TestProject {
    TestProject::empty()
        .file(
            "dbt_project.yml",
            &format!(
                "name: shop\nversion: '1.0.0'\nconfig-version: 2\nprofile: shop\n\
models:\n  shop:\n    finance:\n      +meta:\n        owner_team: finance-analytics\n        on_call: '#oncall-finance'\n\
vars:\n  kiln:\n    notices:\n      link: https://ci.example.com/runs/42/run_results.json\n{email}{webhook}"
            ),
        )
        .file(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n      notices:\n        email:\n          username: kiln-mailer\n          password: \"{{ env_var('DBT_ENV_SECRET_SMTP_PASSWORD', '') }}\"\n",
        )
        .file("seeds/orders.csv", "id,amount\n1,5\n2,-7\n")
        .file("models/finance/revenue.sql", "select id, amount from {{ ref('orders') }}")
        .file(
            "models/finance/broken.sql",
            "select * from {{ ref('orders') }} join no_such_table using (id)",
        )
        .file("models/growth/signups.sql", "select 1 as id")
        .file(
            "models/schema.yml",
            "models:\n  - name: revenue\n    columns:\n      - name: amount\n        data_tests:\n          - accepted_values:\n              arguments: {values: [5]}\n              config: {severity: error}\n  - name: signups\n    config:\n      meta: {owner: growth-analytics, oncall: growth@example.com}\n    columns:\n      - name: id\n        data_tests:\n          - accepted_values:\n              arguments: {values: [2]}\n              config: {severity: warn}\n",
        )
}

/// `kiln build` with the SMTP password in the environment: the run fails (a model and a test
/// do), exit 1, whatever the notice did. Its stdout and stderr as one text.
fn failing_build(p: &TestProject) -> String {
    let run = p
        .kiln(&["build"])
        .env("DBT_ENV_SECRET_SMTP_PASSWORD", PASSWORD)
        .run();
    run.assert_code(1);
    format!("{}{}", run.stdout, run.stderr)
}

fn email_block(port: u16, security: &str) -> String {
    format!(
        "      email:\n        to: 'oncall@example.com, lead@example.com'\n        from: kiln@example.com\n        host: 127.0.0.1\n        port: {port}\n        security: {security}\n        timeout: 5\n"
    )
}

fn webhook_block(url: &str) -> String {
    format!("      webhook:\n        url: {url}\n        timeout: 5\n")
}

#[test]
fn a_failed_build_emails_and_posts_the_failed_nodes_with_their_owners() {
    let (port, mails) = smtp_server(None);
    let (url, posts) = http_server();
    let p = project(&email_block(port, "none"), &webhook_block(&url));
    // the run's own exit code: a model and a test failed
    let out = failing_build(&p);
    assert!(out.contains("Sent the failure notice"), "{out}");
    assert!(
        !out.contains(PASSWORD) && !out.contains("kilnsecrethook"),
        "{out}"
    );

    let mails = mails.lock().expect("lock").clone();
    assert_eq!(mails.len(), 1, "one notice per run: {mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.to, ["oncall@example.com", "lead@example.com"]);
    assert_eq!(mail.from, "kiln@example.com");
    // the credentials reached the server (plain AUTH is allowed to a loopback address) ...
    assert_eq!(
        mail.auth,
        Some(("kiln-mailer".to_string(), PASSWORD.to_string()))
    );
    // ... and nowhere else
    assert!(!mail.data.contains(PASSWORD), "{}", mail.data);
    let data = &mail.data;
    assert!(
        data.contains("Subject: [kiln] build failed in shop (target dev): 2 failures"),
        "{data}"
    );
    assert!(
        data.contains("To: oncall@example.com, lead@example.com"),
        "{data}"
    );
    for expected in [
        "1. model broken (error)",
        "   file: models/finance/broken.sql",
        "   owner: finance-analytics, on call: #oncall-finance",
        "no_such_table",
        // the test takes its owners from the model it tests
        "test accepted_values_revenue_amount__5 (fail)",
        "Results: https://ci.example.com/runs/42/run_results.json",
    ] {
        assert!(data.contains(expected), "missing {expected:?} in:\n{data}");
    }
    // a warning test is not a failure
    assert!(!data.contains("signups"), "{data}");

    let posts = posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let body: Value = serde_json::from_str(&posts[0]).expect("JSON body");
    let text = body["text"].as_str().expect("Slack's `text`");
    assert!(
        text.starts_with("[kiln] build failed in shop (target dev): 2 failures"),
        "{text}"
    );
    assert!(
        text.contains("• model broken (error), owner: finance-analytics, on call: #oncall-finance"),
        "{text}"
    );
    let blocks = body["blocks"].as_array().expect("Slack's `blocks`");
    assert_eq!(blocks[0]["type"], "header");
    let sections: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .collect();
    assert!(
        sections
            .iter()
            .any(|s| s.starts_with("*model broken* (error)")
                && s.contains("file: `models/finance/broken.sql`")
                && s.contains("owner: finance-analytics, on call: #oncall-finance")),
        "{sections:?}"
    );
    assert!(!posts[0].contains(PASSWORD), "{}", posts[0]);
}

#[test]
fn a_passing_run_sends_nothing() {
    let (port, mails) = smtp_server(None);
    let (url, posts) = http_server();
    let p = project(&email_block(port, "none"), &webhook_block(&url));
    let run = p.kiln(&["build", "--select", "signups"]).run();
    run.assert_code(0);
    assert!(!run.stdout.contains("failure notice"), "{}", run.stdout);
    assert!(mails.lock().expect("lock").is_empty());
    assert!(posts.lock().expect("lock").is_empty());
}

#[test]
fn unreachable_servers_are_a_warning_and_the_exit_code_is_the_runs() {
    let port = closed_port();
    let url = format!("http://127.0.0.1:{}/hook", closed_port());
    let p = project(&email_block(port, "none"), &webhook_block(&url));
    let out = failing_build(&p);
    assert!(
        out.contains(&format!(
            "the failure notice could not be e-mailed through 127.0.0.1:{port}: connecting to 127.0.0.1:{port} failed"
        )),
        "{out}"
    );
    assert!(
        out.contains("the failure notice could not be sent to the webhook"),
        "{out}"
    );
    assert!(!out.contains(PASSWORD), "{out}");
    // a build that passes never tries
    let run = p.kiln(&["build", "--select", "signups"]).run();
    run.assert_code(0);
    assert!(!run.stdout.contains("notice"), "{}", run.stdout);
}

#[test]
fn starttls_is_required_when_asked_for() {
    // the server offers no STARTTLS: nothing is sent, not even the sender
    let (port, mails) = smtp_server(None);
    let p = project(&email_block(port, "starttls"), "");
    let out = failing_build(&p);
    assert!(
        out.contains("does not offer STARTTLS: nothing was sent in clear"),
        "{out}"
    );
    let mails = mails.lock().expect("lock").clone();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].auth.is_none() && mails[0].from.is_empty(),
        "{mails:?}"
    );
}

/// A CA and a certificate for 127.0.0.1 signed by it, made with the openssl CLI; none when
/// openssl is not installed.
fn certificates(dir: &Path) -> Option<()> {
    let openssl = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map(|o| {
                assert!(
                    o.status.success(),
                    "openssl {args:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            })
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=kiln test CA",
    ]);
    if openssl(&ca).is_err() {
        return None;
    }
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(&csr).ok()?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .ok()?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])
    .ok()
}

#[test]
fn starttls_with_a_private_ca_then_auth_then_the_mail() {
    let certs = tempfile::tempdir().expect("tempdir");
    if certificates(certs.path()).is_none() {
        eprintln!("openssl is not installed: STARTTLS is not tested here (plain SMTP is)");
        return;
    }
    let (port, mails) = smtp_server(Some((
        &certs.path().join("server.pem"),
        &certs.path().join("server.key"),
    )));
    let ca = certs.path().join("ca.pem");
    let email = format!(
        "{}        ca_file: {}\n",
        email_block(port, "starttls"),
        ca.display()
    );
    let p = project(&email, "");
    let out = failing_build(&p);
    assert!(
        out.contains("Sent the failure notice: e-mail to oncall@example.com, lead@example.com"),
        "{out}"
    );
    let mails = mails.lock().expect("lock").clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.tls_at_mail, "{mail:?}");
    // EHLO, STARTTLS, EHLO again (inside TLS), then AUTH
    assert!(
        mail.commands[0].starts_with("EHLO [127.0.0.1]"),
        "{:?}",
        mail.commands
    );
    assert_eq!(mail.commands[1], "STARTTLS");
    assert!(mail.commands[2].starts_with("EHLO"), "{:?}", mail.commands);
    assert!(
        mail.commands[3].starts_with("AUTH PLAIN"),
        "{:?}",
        mail.commands
    );
    assert_eq!(mail.auth, Some(("kiln-mailer".into(), PASSWORD.into())));
    assert!(
        mail.data
            .contains("owner: finance-analytics, on call: #oncall-finance"),
        "{}",
        mail.data
    );

    // without the CA, the certificate is not trusted: a warning, nothing sent after STARTTLS
    let (port, mails) = smtp_server(Some((
        &certs.path().join("server.pem"),
        &certs.path().join("server.key"),
    )));
    let p = project(&email_block(port, "starttls"), "");
    let out = failing_build(&p);
    assert!(out.contains("the TLS handshake failed"), "{out}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mails = mails.lock().expect("lock").clone();
    assert!(
        mails.iter().all(|m| m.auth.is_none() && m.data.is_empty()),
        "{mails:?}"
    );
}

#[test]
fn a_stale_source_sends_a_notice_from_source_freshness() {
    let (url, posts) = http_server();
    let p = project("", &webhook_block(&url))
        .file("data/events.csv", "id,loaded_at\n1,2020-01-01 00:00:00\n")
        .file(
            "models/sources.yml",
            "sources:\n  - name: tracker\n    meta: {owner_team: product-analytics, on_call: '#oncall-product'}\n    freshness:\n      error_after: {count: 1, period: day}\n    loaded_at_field: loaded_at\n    tables:\n      - name: events\n        meta:\n          external_location: data/events.csv\n",
        );
    let run = p.kiln(&["source", "freshness"]).run();
    run.assert_code(1);
    let posts = posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 1, "{}{}", run.stdout, run.stderr);
    let body: Value = serde_json::from_str(&posts[0]).expect("JSON");
    let text = body["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("[kiln] source freshness failed in shop (target dev): 1 failure")
            && text.contains("• source tracker.events (stale), owner: product-analytics, on call: #oncall-product"),
        "{text}"
    );
    let all = posts[0].clone();
    assert!(all.contains("error_after is 1 day"), "{all}");
}

#[test]
fn a_bad_setting_stops_before_anything_runs() {
    let p = project("      email:\n        prot: 25\n", "");
    let run = p.kiln(&["build"]).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("failure notice setting vars.kiln.notices.email.prot: kiln does not know the setting 'prot'"),
        "{}",
        run.stderr
    );
    assert!(!p.exists("dev.duckdb") || !run.stdout.contains("OK created"));
}
