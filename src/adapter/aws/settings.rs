//! What the AWS client needs to know: region, endpoint, credentials, work group, staging
//! location, and how patiently to poll and retry. The Athena adapter fills it from the profile's
//! fields (dbt-athena's names); nothing here reads profiles.yml.

use std::fmt;
use std::time::Duration;

/// A secret (an AWS secret access key, a session token). It never prints: `Debug` shows
/// `Secret(*****)`, and there is no `Display`; [`Secret::expose`] is the one way to read it.
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
        access_key_id: String,
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

    /// The work group queries run in.
    pub fn work_group_name(&self) -> &str {
        self.work_group.as_deref().unwrap_or("primary")
    }

    /// The secrets these settings hold, for redaction.
    pub(super) fn secrets(&self) -> Vec<String> {
        match &self.credentials {
            CredentialSource::Chain => Vec::new(),
            CredentialSource::Static {
                secret_access_key,
                session_token,
                ..
            } => std::iter::once(secret_access_key)
                .chain(session_token)
                .map(|s| s.expose().to_string())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let mut s = AwsSettings::new("eu-west-1");
        s.credentials = CredentialSource::Static {
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("FwoGZXIvYXdzEXAMPLETOKEN")),
        };
        let debug = format!("{s:?} {s:#?}");
        assert!(!debug.contains("wJalrXUtnFEMI"), "{debug}");
        assert!(!debug.contains("FwoGZXIvYXdz"), "{debug}");
        assert!(debug.contains("AKIAEXAMPLE"), "the key id is not secret: {debug}");
        assert!(debug.contains("Secret(*****)"), "{debug}");
    }
}
