//! What the AWS client needs to know: region, endpoint, credentials, work group, staging
//! location, and how patiently to poll and retry: [`AwsSettings::from_target`] reads them from an
//! Athena target of profiles.yml (dbt-athena's field names, already rendered, so
//! `{{ env_var('AWS_SECRET_ACCESS_KEY') }}` is the secret itself by now).

use crate::adapter::AthenaTarget;
use crate::error::Diagnostic;
use crate::project::profiles::FieldError;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// A credential (an access key id, a secret access key, a session token). It never prints:
/// `Debug` shows `Secret(*****)`, and there is no `Display`; [`Secret::expose`] is the one way
/// to read it. The access key id is not a secret to AWS, but it names the account's user and
/// kiln treats the three alike: none of them appears in any output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret's text, for handing to the SDK (and to the redactor).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(*****)")
    }
}

/// Where the credentials come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CredentialSource {
    /// The standard AWS chain: environment (`AWS_ACCESS_KEY_ID`...), the shared config and
    /// credentials files (`aws_profile_name`, else `AWS_PROFILE`, else `default`; SSO and
    /// `credential_process` profiles included), web identity, ECS and EC2 instance roles.
    #[default]
    Chain,
    /// Keys written in the profile (dbt-athena's `aws_access_key_id`, `aws_secret_access_key`,
    /// `aws_session_token`, usually through `env_var`).
    Static {
        access_key_id: Secret,
        secret_access_key: Secret,
        session_token: Option<Secret>,
    },
}

/// A role to assume (STS `AssumeRole`) with the credentials found above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub role_arn: String,
    pub external_id: Option<String>,
    /// dbt-athena's default is `dbt-athena`; kiln's is `kiln`.
    pub session_name: Option<String>,
    pub duration: Option<Duration>,
}

/// Jittered exponential backoff between retries: attempt `n` (from 1) waits a random time in
/// `[0, min(max, base * 2^(n-1))]` ("full jitter"), so that many threads throttled together do
/// not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// dbt-athena's tenacity policy waits up to 100 s; kiln caps a single wait at 30 s and lets
    /// `num_retries` bound the total.
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// The AWS side of an Athena target.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsSettings {
    /// `region_name`: required (the client never guesses it from EC2 metadata).
    pub region: String,
    /// `endpoint_url`: one endpoint for Athena, Glue and S3 (and STS, for `assume_role_arn`),
    /// which is what a local emulator serves; S3 is then addressed path-style
    /// (`http://host/bucket/key`). dbt-athena applies it to Athena only.
    pub endpoint_url: Option<String>,
    pub credentials: CredentialSource,
    /// `aws_profile_name`: the profile of `~/.aws/config` the chain reads.
    pub aws_profile_name: Option<String>,
    /// `assume_role_arn` (with dbt-athena's `assume_role_external_id`,
    /// `assume_role_session_name`, `assume_role_duration_seconds`).
    pub assume_role: Option<AssumeRole>,
    /// `work_group`: Athena's `primary` when unset.
    pub work_group: Option<String>,
    /// `s3_staging_dir`: where Athena writes query results, unless the work group enforces its
    /// own output location.
    pub s3_staging_dir: Option<String>,
    /// `database` (alias `catalog`): the data catalog queries run in.
    pub catalog: String,
    /// `poll_interval`: how often a running query is asked for its state (dbt-athena: 1 s).
    pub poll_interval: Duration,
    /// `num_retries`: how many times a throttled or failed-in-transit call is retried
    /// (dbt-athena: 5), so at most `num_retries + 1` attempts.
    pub num_retries: u32,
    /// `num_iceberg_retries`: how many times a statement that failed with
    /// `ICEBERG_COMMIT_ERROR` (a concurrent commit won) is run again (dbt-athena: 3).
    pub num_iceberg_retries: u32,
    pub backoff: Backoff,
}

impl AwsSettings {
    /// Settings with dbt-athena's defaults for everything but the region.
    pub fn new(region: impl Into<String>) -> Self {
        AwsSettings {
            region: region.into(),
            endpoint_url: None,
            credentials: CredentialSource::Chain,
            aws_profile_name: None,
            assume_role: None,
            work_group: None,
            s3_staging_dir: None,
            catalog: "awsdatacatalog".into(),
            poll_interval: Duration::from_secs(1),
            num_retries: 5,
            num_iceberg_retries: 3,
            backoff: Backoff::default(),
        }
    }

    /// The settings of an Athena target (`name` in profiles.yml, its rendered `fields`): what
    /// the adapter's [`AthenaTarget`] reads, plus the credential, role and retry fields
    /// dbt-athena reads that it does not carry. A wrong value is an error naming the field and
    /// what to write instead.
    pub fn from_target(
        name: &str,
        fields: &serde_json::Map<String, Value>,
    ) -> Result<AwsSettings, Diagnostic> {
        AwsSettings::from_fields(fields).map_err(|e| {
            Diagnostic::error("profile", format!("target '{name}': {}", e.message))
                .with_help(e.required)
        })
    }

    /// [`AwsSettings::from_target`] with the error as the profile loader takes it (it adds
    /// the target and the place in profiles.yml).
    pub fn from_fields(fields: &serde_json::Map<String, Value>) -> Result<AwsSettings, FieldError> {
        let a = AthenaTarget::read(fields)?;
        let field = Fields { fields };
        let mut s = AwsSettings::new(a.region_name.clone());
        s.endpoint_url = a.endpoint_url.clone().filter(|u| !u.is_empty());
        s.aws_profile_name = a.aws_profile_name.clone().filter(|p| !p.is_empty());
        s.work_group = a.work_group.clone().filter(|w| !w.is_empty());
        s.s3_staging_dir = Some(a.s3_staging_dir.clone());
        s.catalog = a.database.clone();
        if let Some(n) = a.num_retries {
            s.num_retries = n;
        }
        if let Some(p) = a.poll_interval {
            if !(p.is_finite() && p > 0.0 && p <= 3600.0) {
                return Err(field.bad("poll_interval", "a number of seconds above 0, e.g. 1.0"));
            }
            s.poll_interval = Duration::from_secs_f64(p);
        }
        if let Some(n) = field.uint("num_iceberg_retries")? {
            s.num_iceberg_retries = n;
        }
        let key_id = field.text("aws_access_key_id")?;
        let secret = field.text("aws_secret_access_key")?;
        let token = field.text("aws_session_token")?;
        s.credentials = match (key_id, secret) {
            (Some(k), Some(sk)) => CredentialSource::Static {
                access_key_id: Secret::new(k),
                secret_access_key: Secret::new(sk),
                session_token: token.map(Secret::new),
            },
            (None, None) if token.is_none() => CredentialSource::Chain,
            _ => {
                return Err(field.bad(
                    "aws_access_key_id",
                    "aws_access_key_id and aws_secret_access_key together (aws_session_token \
                     only with them), or none of them to use the standard AWS credential chain",
                ));
            }
        };
        if let Some(arn) = field.text("assume_role_arn")? {
            s.assume_role = Some(AssumeRole {
                role_arn: arn,
                external_id: field.text("assume_role_external_id")?,
                session_name: field.text("assume_role_session_name")?,
                duration: field
                    .uint("assume_role_duration_seconds")?
                    .map(|n| Duration::from_secs(u64::from(n))),
            });
        }
        Ok(s)
    }

    /// The work group queries run in.
    pub fn work_group_name(&self) -> &str {
        self.work_group.as_deref().unwrap_or("primary")
    }

    /// The secrets these settings hold, for redaction.
    pub(super) fn secrets(&self) -> Vec<String> {
        match &self.credentials {
            CredentialSource::Chain => Vec::new(),
            CredentialSource::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => [access_key_id, secret_access_key]
                .into_iter()
                .chain(session_token)
                .map(|s| s.expose().to_string())
                .collect(),
        }
    }
}

/// The rendered fields of a target, read with errors that name the field.
struct Fields<'a> {
    fields: &'a serde_json::Map<String, Value>,
}

impl Fields<'_> {
    fn bad(&self, name: &str, want: &str) -> FieldError {
        // The value itself is not repeated: it may be a credential.
        FieldError {
            message: format!("`{name}` has a value kiln cannot use: `{name}` takes {want}"),
            required: "see the Athena target's fields in README.md",
        }
    }

    /// A string field; empty is unset (`env_var('X', '')`).
    fn text(&self, name: &str) -> Result<Option<String>, FieldError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(name, "a string")),
        }
    }

    /// A whole number of 0 or more (YAML may give it as a number or, rendered, as text).
    fn uint(&self, name: &str) -> Result<Option<u32>, FieldError> {
        let bad = || self.bad(name, "a whole number of 0 or more");
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(fields: serde_json::Value) -> Result<AwsSettings, Diagnostic> {
        let fields = fields.as_object().cloned().unwrap_or_default();
        AwsSettings::from_target("prod", &fields)
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "type": "athena", "region_name": "eu-west-1", "schema": "analytics",
            "s3_staging_dir": "s3://results/athena/",
        })
    }

    fn with(extra: serde_json::Value) -> Result<AwsSettings, Diagnostic> {
        let mut v = base();
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        settings(v)
    }

    #[test]
    fn a_target_gives_dbt_athenas_defaults() {
        let s = settings(base()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.s3_staging_dir.as_deref(), Some("s3://results/athena/"));
        assert_eq!(s.catalog, "awsdatacatalog");
        assert_eq!(s.credentials, CredentialSource::Chain);
        assert_eq!(s.work_group_name(), "primary");
        assert_eq!(s.endpoint_url, None);
        assert_eq!(s.assume_role, None);
        assert_eq!(
            (s.poll_interval, s.num_retries, s.num_iceberg_retries),
            (Duration::from_secs(1), 5, 3)
        );
    }

    #[test]
    fn a_target_sets_every_field_kiln_reads() {
        let s = with(serde_json::json!({
            "database": "lake", "work_group": "etl", "endpoint_url": "http://127.0.0.1:5055",
            "aws_profile_name": "analytics", "poll_interval": 0.25, "num_retries": 2,
            "num_iceberg_retries": "7",
            "aws_access_key_id": "AKIAKEY", "aws_secret_access_key": "sekret",
            "aws_session_token": "tok",
            "assume_role_arn": "arn:aws:iam::123456789012:role/kiln",
            "assume_role_external_id": "ext", "assume_role_session_name": "ci",
            "assume_role_duration_seconds": 900,
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.catalog, "lake");
        assert_eq!(s.work_group.as_deref(), Some("etl"));
        assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:5055"));
        assert_eq!(s.aws_profile_name.as_deref(), Some("analytics"));
        assert_eq!(
            (s.poll_interval, s.num_retries, s.num_iceberg_retries),
            (Duration::from_millis(250), 2, 7)
        );
        assert_eq!(
            s.credentials,
            CredentialSource::Static {
                access_key_id: Secret::new("AKIAKEY"),
                secret_access_key: Secret::new("sekret"),
                session_token: Some(Secret::new("tok")),
            }
        );
        assert_eq!(
            s.assume_role,
            Some(AssumeRole {
                role_arn: "arn:aws:iam::123456789012:role/kiln".into(),
                external_id: Some("ext".into()),
                session_name: Some("ci".into()),
                duration: Some(Duration::from_secs(900)),
            })
        );
        assert_eq!(s.secrets(), ["AKIAKEY", "sekret", "tok"]);
    }

    #[test]
    fn empty_keys_mean_the_credential_chain() {
        // `env_var('AWS_ACCESS_KEY_ID', '')` renders to an empty string when unset
        let s = with(serde_json::json!({
            "aws_access_key_id": "", "aws_secret_access_key": "", "aws_session_token": "",
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.credentials, CredentialSource::Chain);
    }

    #[test]
    fn bad_fields_are_errors_that_do_not_repeat_the_value() {
        let cases = [
            (
                serde_json::json!({"aws_access_key_id": "AKIAKEY"}),
                "aws_access_key_id",
            ),
            (
                serde_json::json!({"aws_secret_access_key": "sekret-value"}),
                "aws_access_key_id",
            ),
            (serde_json::json!({"poll_interval": 0.0}), "poll_interval"),
            (
                serde_json::json!({"num_iceberg_retries": -1}),
                "num_iceberg_retries",
            ),
            (
                serde_json::json!({"aws_session_token": 5}),
                "aws_session_token",
            ),
        ];
        for (extra, field) in cases {
            let e = with(extra.clone())
                .err()
                .unwrap_or_else(|| panic!("{extra} is accepted"));
            let text = format!("{e:?}");
            assert!(text.contains(&format!("`{field}`")), "{extra}: {text}");
            assert!(
                !text.contains("sekret-value") && !text.contains("AKIAKEY"),
                "{text}"
            );
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut s = AwsSettings::new("eu-west-1");
        s.credentials = CredentialSource::Static {
            access_key_id: Secret::new("AKIAEXAMPLE"),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("FwoGZXIvYXdzEXAMPLETOKEN")),
        };
        let debug = format!("{s:?} {s:#?}");
        assert!(!debug.contains("wJalrXUtnFEMI"), "{debug}");
        assert!(!debug.contains("FwoGZXIvYXdz"), "{debug}");
        assert!(!debug.contains("AKIAEXAMPLE"), "{debug}");
        assert!(debug.contains("Secret(*****)"), "{debug}");
    }
}
