//! `kiln debug`'s connection test for an Athena target: does the work group exist, where will
//! query results go, does the Glue catalog answer, and can the result location's bucket be
//! read. Each check says what it found or what failed; one failure does not hide the others.

use super::error::{AwsError, AwsErrorKind, Op, Service};
use super::s3::S3Location;
use super::{AwsClient, AwsSettings, Idempotent};
use std::fmt;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// What was checked: `credentials`, `work group`, `output location`, `glue catalog`,
    /// `staging bucket`.
    pub name: &'static str,
    pub ok: bool,
    /// Not tried, because an earlier check failed in a way that fails this one too.
    pub skipped: bool,
    /// What was found, or what failed and what to do.
    pub detail: String,
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match (self.ok, self.skipped) {
            (true, _) => "OK",
            (false, true) => "SKIPPED",
            (false, false) => "ERROR",
        };
        write!(f, "{}: {status} {}", self.name, self.detail)
    }
}

fn pass(name: &'static str, detail: impl Into<String>) -> CheckResult {
    CheckResult {
        name,
        ok: true,
        skipped: false,
        detail: detail.into(),
    }
}

fn skipped(name: &'static str) -> CheckResult {
    CheckResult {
        name,
        ok: false,
        skipped: true,
        detail: "not tried".into(),
    }
}

fn fail(name: &'static str, detail: impl Into<String>) -> CheckResult {
    CheckResult {
        name,
        ok: false,
        skipped: false,
        detail: detail.into(),
    }
}

/// Connects with `settings` and runs every check.
pub fn check_connection(settings: &AwsSettings) -> Vec<CheckResult> {
    match AwsClient::connect(settings) {
        Ok(client) => client.check(),
        Err(e) => vec![fail("credentials", e.to_string())],
    }
}

impl AwsClient {
    /// Runs every check with this client.
    pub fn check(&self) -> Vec<CheckResult> {
        let settings = self.settings();
        let wg_name = settings.work_group_name();
        let mut out = Vec::new();
        let athena = &self.inner.athena;
        let wg = self.block_on(self.call(
            Op {
                service: Service::Athena,
                name: "GetWorkGroup",
            },
            Idempotent::Yes,
            None,
            || athena.get_work_group().work_group(wg_name).send(),
        ));
        // The work group's own result location, and whether it overrides the profile's.
        let mut wg_location: Option<(String, bool)> = None;
        match wg {
            Ok(o) => match o.work_group() {
                Some(g) => {
                    let state = g.state().map_or("unknown state", |s| s.as_str());
                    let conf = g.configuration();
                    wg_location = conf
                        .and_then(|c| c.result_configuration())
                        .and_then(|r| r.output_location())
                        .map(|loc| {
                            let enforced = conf
                                .and_then(|c| c.enforce_work_group_configuration())
                                .unwrap_or(false);
                            (loc.to_string(), enforced)
                        });
                    if state == "DISABLED" {
                        out.push(fail(
                            "work group",
                            format!("'{wg_name}' is disabled; enable it or set work_group"),
                        ));
                    } else {
                        out.push(pass("work group", format!("'{wg_name}' ({state})")));
                    }
                }
                None => out.push(fail(
                    "work group",
                    format!("Athena returned no work group named '{wg_name}'"),
                )),
            },
            // An endpoint that cannot be reached, or credentials AWS refuses, fail every
            // check alike: said once, with the checks that were not tried.
            Err(e) if matches!(e.kind, AwsErrorKind::Transport | AwsErrorKind::Auth) => {
                out.push(fail("work group", e.to_string()));
                for name in ["output location", "glue catalog", "staging bucket"] {
                    out.push(skipped(name));
                }
                return out;
            }
            Err(e) => out.push(fail("work group", work_group_error(wg_name, &e))),
        }
        let location = match (&wg_location, &settings.s3_staging_dir) {
            (Some((loc, true)), _) => {
                out.push(pass(
                    "output location",
                    format!("{loc} (enforced by the work group)"),
                ));
                Some(loc.clone())
            }
            (_, Some(dir)) => {
                out.push(pass("output location", format!("{dir} (s3_staging_dir)")));
                Some(dir.clone())
            }
            (Some((loc, false)), None) => {
                out.push(pass("output location", format!("{loc} (the work group's)")));
                Some(loc.clone())
            }
            (None, None) => {
                out.push(fail(
                    "output location",
                    format!(
                        "work group '{wg_name}' has no query result location and the profile sets no s3_staging_dir; set s3_staging_dir: s3://bucket/path/"
                    ),
                ));
                None
            }
        };
        let glue = &self.inner.glue;
        let dbs = self.block_on(self.call(
            Op {
                service: Service::Glue,
                name: "GetDatabases",
            },
            Idempotent::Yes,
            None,
            || glue.get_databases().max_results(1).send(),
        ));
        out.push(match dbs {
            Ok(_) => pass("glue catalog", "reachable"),
            Err(e) => fail("glue catalog", e.to_string()),
        });
        out.push(match location.as_deref().map(S3Location::parse) {
            None => fail("staging bucket", "no result location to check"),
            Some(Err(e)) => fail("staging bucket", e.to_string()),
            Some(Ok(loc)) => {
                let s3 = &self.inner.s3;
                let listed = self.block_on(self.call(
                    Op {
                        service: Service::S3,
                        name: "ListObjectsV2",
                    },
                    Idempotent::Yes,
                    None,
                    || {
                        s3.list_objects_v2()
                            .bucket(&loc.bucket)
                            .prefix(&loc.prefix)
                            .max_keys(1)
                            .send()
                    },
                ));
                match listed {
                    Ok(_) => pass("staging bucket", format!("{loc} is readable")),
                    Err(e) if e.kind == AwsErrorKind::NotFound => fail(
                        "staging bucket",
                        format!(
                            "{loc}: {e}; create the bucket, or point s3_staging_dir at one that exists"
                        ),
                    ),
                    Err(e) => fail("staging bucket", format!("{loc}: {e}")),
                }
            }
        });
        out
    }
}

fn work_group_error(name: &str, e: &AwsError) -> String {
    // Athena says "WorkGroup <name> is not found." as an InvalidRequestException.
    if e.message.contains("not found") || e.message.contains("does not exist") {
        format!(
            "'{name}' does not exist in this account and region; create it or set work_group ({e})"
        )
    } else {
        e.to_string()
    }
}
