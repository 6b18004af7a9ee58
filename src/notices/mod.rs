//! Failure notices: when a run fails (a node errors, an error-severity test fails, a source is
//! stale past `error_after`, or the run cannot finish), one notice per run goes to the
//! configured channels ([`config`]): an e-mail over SMTP ([`smtp`], STARTTLS or TLS through
//! rustls) and a webhook with a Slack-compatible JSON body ([`webhook`]).
//!
//! A notice lists the failed nodes with their message, file, owner team and on-call contact
//! (read from `meta`: `owner_team`/`owner`/`team` and `on_call`/`oncall`/`contact`; a test takes
//! them from the node it tests when it has none), when the run started and how long it took,
//! and where run_results.json is (a link when configured). A notice that cannot be sent is a
//! warning: it never changes the run's exit code. Everything sent is scrubbed of secrets
//! ([`crate::events::secrets`]).
//!
//! It sits beside the artifacts: it reads the runner's results and the loaded project, and the
//! commands call it once their run is over.

pub mod config;
pub mod message;
pub mod smtp;
pub mod webhook;

pub use config::{ConfigError, NoticeConfig};

use crate::graph::Graph;
use crate::project::Project;
use crate::runner::{RunSummary, Status};
use serde_json::{Map, Value};

/// One failed node (or a failure of the run itself: no `unique_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub unique_id: Option<String>,
    pub name: String,
    /// `model`, `test`, `seed`, `snapshot`, `source`, `unit_test`, `run` (outside any node).
    pub resource_type: String,
    /// `error`, `fail`, `partial success`, `stale`.
    pub status: String,
    pub message: String,
    /// The node's file, as the project names it (`models/x.sql`).
    pub file: Option<String>,
    pub owner: Option<String>,
    pub contact: Option<String>,
}

/// What one notice says.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub project: String,
    /// The command that ran (`build`, `source freshness`).
    pub command: String,
    pub target: String,
    pub invocation_id: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Seconds the run took, when it ran.
    pub elapsed: Option<f64>,
    pub failures: Vec<Failure>,
    /// Nodes skipped because something upstream failed.
    pub skipped: usize,
    /// Where the results are: the configured link, or the path of the results file.
    pub results: String,
}

/// Where a notice went (one line per channel) and what could not be sent.
#[derive(Debug, Default)]
pub struct Delivery {
    pub sent: Vec<String>,
    pub warnings: Vec<String>,
}

/// The keys of `meta` read as the owner, then as the on-call contact, first found first.
const OWNER_KEYS: &[&str] = &["owner_team", "owner", "team"];
const CONTACT_KEYS: &[&str] = &["on_call", "oncall", "contact"];

fn meta_text(meta: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match meta.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Null => None,
        Value::Object(o) => {
            // dbt's exposure-style owner: {name:, email:}
            let parts: Vec<String> = ["name", "email"]
                .iter()
                .filter_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        other => Some(other.to_string()),
    })
}

/// The owner and on-call contact of `unique_id`: its own meta, or (a test) its tested node's,
/// or (a singular test) the first of its parents that has them.
fn owners(project: &Project, graph: &Graph, unique_id: &str) -> (Option<String>, Option<String>) {
    let from =
        |meta: &Map<String, Value>| (meta_text(meta, OWNER_KEYS), meta_text(meta, CONTACT_KEYS));
    let of_any = |id: &str| -> Option<Map<String, Value>> {
        if let Some(n) = project.nodes.get(id) {
            return Some(n.meta());
        }
        if let Some(s) = project.sources.get(id) {
            let mut meta = s.source_meta.clone();
            meta.extend(s.meta.clone());
            return Some(meta);
        }
        project.exposures.get(id).map(|e| {
            let mut meta = e.meta.clone();
            if !e.owner.is_empty() {
                meta.entry("owner")
                    .or_insert(Value::Object(e.owner.clone()));
            }
            meta
        })
    };
    let own = of_any(unique_id).map(|m| from(&m)).unwrap_or_default();
    if own.0.is_some() || own.1.is_some() {
        return own;
    }
    // a test: the node it is attached to, or the first it depends on
    let tested = project
        .nodes
        .get(unique_id)
        .and_then(|n| n.test.as_ref())
        .and_then(|t| t.attached_node.clone())
        .or_else(|| {
            project
                .unit_tests
                .get(unique_id)
                .map(|u| u.model_id.clone())
        });
    let is_test = project
        .nodes
        .get(unique_id)
        .is_some_and(|n| n.resource_type == crate::project::ResourceType::Test)
        || project.unit_tests.contains_key(unique_id);
    if !is_test {
        return own;
    }
    tested
        .into_iter()
        .chain(graph.depends_on(unique_id).iter().cloned())
        .filter_map(|id| of_any(&id).map(|m| from(&m)))
        .find(|(o, c)| o.is_some() || c.is_some())
        .unwrap_or_default()
}

/// `text` cut to `max` characters, with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

impl Failure {
    /// A failure of `unique_id` in `project`: its name, type and file, and its owners.
    pub fn of_node(
        project: &Project,
        graph: &Graph,
        unique_id: &str,
        status: &str,
        message: &str,
    ) -> Failure {
        let (name, resource_type, file) = if let Some(n) = project.nodes.get(unique_id) {
            (
                n.name.clone(),
                n.resource_type.to_string(),
                Some(n.original_file_path.clone()),
            )
        } else if let Some(s) = project.sources.get(unique_id) {
            (
                format!("{}.{}", s.source_name, s.name),
                "source".to_string(),
                Some(s.original_file_path.clone()),
            )
        } else if let Some(u) = project.unit_tests.get(unique_id) {
            (
                format!("{}.{}", u.model, u.name),
                "unit_test".to_string(),
                Some(u.original_file_path.clone()),
            )
        } else if let Some(e) = project.exposures.get(unique_id) {
            (
                e.name.clone(),
                "exposure".to_string(),
                Some(e.original_file_path.clone()),
            )
        } else {
            (
                unique_id
                    .rsplit('.')
                    .next()
                    .unwrap_or(unique_id)
                    .to_string(),
                unique_id.split('.').next().unwrap_or("node").to_string(),
                None,
            )
        };
        let (owner, contact) = owners(project, graph, unique_id);
        Failure {
            unique_id: Some(unique_id.to_string()),
            name,
            resource_type,
            status: status.to_string(),
            message: cut(message, 2000),
            file,
            owner,
            contact,
        }
    }

    /// A failure of the run itself (a hook, the connection, an error before anything ran).
    pub fn of_run(message: &str, file: Option<String>) -> Failure {
        Failure {
            unique_id: None,
            name: "the run".into(),
            resource_type: "run".into(),
            status: "error".into(),
            message: cut(message, 2000),
            file,
            owner: None,
            contact: None,
        }
    }
}

/// The failures of a run: its nodes that errored or failed, then its problems outside any node;
/// and how many nodes were skipped.
pub fn run_failures(
    project: &Project,
    graph: &Graph,
    summary: &RunSummary,
) -> (Vec<Failure>, usize) {
    let mut failures: Vec<Failure> = summary
        .results
        .iter()
        .filter(|r| r.blocks())
        .map(|r| {
            let message = r
                .message
                .clone()
                .filter(|m| !m.trim().is_empty())
                .or_else(|| r.detail.clone())
                .unwrap_or_default();
            Failure::of_node(project, graph, &r.unique_id, r.status.as_str(), &message)
        })
        .collect();
    failures.extend(
        summary
            .errors
            .iter()
            .map(|d| Failure::of_run(&d.message, diagnostic_file(d))),
    );
    let skipped = summary
        .results
        .iter()
        .filter(|r| r.status == Status::Skipped)
        .count();
    (failures, skipped)
}

/// Where a diagnostic points: `file:line` or the file.
pub fn diagnostic_file(d: &crate::error::Diagnostic) -> Option<String> {
    match (&d.location, &d.file) {
        (Some(l), _) => Some(format!("{}:{}", l.path.display(), l.line)),
        (None, Some(f)) => Some(f.display().to_string()),
        (None, None) => None,
    }
}

/// Sends `notice` on every configured channel; never fails.
pub fn send(config: &NoticeConfig, notice: &Notice) -> Delivery {
    let mut d = Delivery::default();
    d.warnings.extend(config.incomplete.iter().cloned());
    if let Some(email) = &config.email {
        let subject = message::subject(notice);
        let body = message::text(notice);
        let mail = message::email(email, &subject, &body, chrono::Utc::now());
        match smtp::send(email, &mail) {
            Ok(()) => d.sent.push(format!(
                "e-mail to {} through {}:{}",
                email.to.join(", "),
                email.host,
                email.port
            )),
            Err(e) => d.warnings.push(format!(
                "the failure notice could not be e-mailed through {}:{}: {e}",
                email.host, email.port
            )),
        }
    }
    if let Some(hook) = &config.webhook {
        let body = message::slack(notice);
        match webhook::post(hook, &body) {
            Ok(()) => d.sent.push("the webhook".into()),
            Err(e) => d.warnings.push(format!(
                "the failure notice could not be sent to the webhook: {e}"
            )),
        }
    }
    d.warnings = d
        .warnings
        .iter()
        .map(|w| crate::events::secrets::scrub(w))
        .collect();
    d
}
