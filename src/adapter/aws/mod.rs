//! A blocking client for the three AWS services the Athena adapter uses: Athena (queries), Glue
//! (the catalog) and S3 (table data and query results), over the official AWS SDK for Rust.
//!
//! The adapter and the runner are synchronous (one thread per worker), and the SDK is async: an
//! [`AwsClient`] owns a current-thread tokio runtime and blocks on each call. Clones share the
//! runtime and the SDK clients; several worker threads may call one client at once (tokio lets
//! any number of threads `block_on` a current-thread runtime; one drives the I/O at a time).
//!
//! Decisions, and the dbt-athena failures they avoid (`shared/reference/athena.md`):
//! - **Retries are kiln's, not the SDK's** (the SDK's are turned off), so that every retried call
//!   is counted, logged at debug level and bounded by the profile's `num_retries`, with jittered
//!   exponential backoff. Throttling (`ThrottlingException`, `TooManyRequestsException`...) is
//!   retried for every call; 5xx answers and lost connections only for calls that are safe to
//!   send twice: reads, deletes of S3 objects, and `StartQueryExecution`, which carries kiln's
//!   own `ClientRequestToken` ([`RequestToken`]) on every attempt, so Athena runs it once
//!   (dbt-athena lets botocore invent a new token per retry, and a lost response starts a
//!   second query).
//! - **Polling never re-submits**: [`AwsClient::wait`] only asks for the state, survives
//!   throttling, and sends `StopQueryExecution` when the caller's stop flag is raised.
//! - **S3 deletes stay inside the prefix the caller owns**, with a trailing `/` (dbt-athena
//!   deleted sibling tables and whole buckets: dbt-athena#776, PR #76): see [`s3`].
//! - **Secrets never print**: [`Secret`] has no `Display` and a redacted `Debug`, and every
//!   error message is passed through a [`Redactor`] holding the profile's access key id, secret
//!   key and session token (and the `AWS_*` ones of the environment the credential chain reads).
//! - **An unreachable endpoint is one error** naming it (the profile's `endpoint_url`, or the
//!   service and region) and what to check, after the retries, not a chain of HTTP causes.
//! - Glue, not `information_schema`, answers catalog questions (paged `GetTables`).

mod cells;
mod check;
mod error;
mod glue;
mod query;
mod s3;
mod settings;

pub use check::{CheckResult, check_connection};
pub use error::{AthenaErrorInfo, AwsError, AwsErrorKind, Op, Redactor, Service};
pub use glue::{GlueDatabase, GlueTable, TableInput, TableKind};
pub use query::{QueryContext, QueryExecution, QueryId, RequestToken};
pub use s3::{S3Location, S3Object};
pub use settings::{AssumeRole, AwsSettings, Backoff, CredentialSource, Secret};

use crate::events::{Event, Level, kinds};
use aws_config::{AppName, BehaviorVersion, Region, retry::RetryConfig};
use aws_sdk_athena::config::http::HttpResponse;
use aws_sdk_athena::error::{ProvideErrorMetadata, SdkError};
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

/// A connection to Athena, Glue and S3 for one target. Cheap to clone.
#[derive(Clone)]
pub struct AwsClient {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: tokio::runtime::Runtime,
    athena: aws_sdk_athena::Client,
    glue: aws_sdk_glue::Client,
    s3: aws_sdk_s3::Client,
    settings: AwsSettings,
    redactor: Redactor,
}

impl fmt::Debug for AwsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsClient")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// Whether a call may be sent again after a 5xx answer or a lost connection (it may have
/// taken effect the first time). Throttled calls are always retried: AWS refused them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotent {
    Yes,
    No,
}

impl AwsClient {
    /// Builds the runtime and the three SDK clients. No request is sent: credentials are
    /// resolved (and a role assumed) on the first call, so a bad profile shows there, with the
    /// operation that needed it.
    pub fn connect(settings: &AwsSettings) -> Result<AwsClient, AwsError> {
        let op = Op {
            service: Service::Config,
            name: "connect",
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                AwsError::new(
                    AwsErrorKind::Config,
                    op,
                    format!("cannot start the AWS client's runtime: {e}"),
                )
            })?;
        let sdk = runtime.block_on(load_sdk_config(settings));
        let athena = aws_sdk_athena::Client::new(&sdk);
        let glue = aws_sdk_glue::Client::new(&sdk);
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk);
        if settings.endpoint_url.is_some() {
            // An emulator (or a custom endpoint) serves buckets as paths, not as host names.
            s3 = s3.force_path_style(true);
        }
        let s3 = aws_sdk_s3::Client::from_conf(s3.build());
        Ok(AwsClient {
            inner: Arc::new(Inner {
                runtime,
                athena,
                glue,
                s3,
                redactor: Redactor::new(settings.secrets().into_iter().chain(env_secrets())),
                settings: settings.clone(),
            }),
        })
    }

    pub fn settings(&self) -> &AwsSettings {
        &self.inner.settings
    }

    /// The redactor of this client's secrets, for callers that build messages of their own.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.inner.runtime.block_on(fut)
    }

    /// Sends one AWS call (built afresh by `send` for each attempt), retrying transient
    /// failures with backoff within `num_retries`.
    async fn call<T, E, F, Fut>(
        &self,
        op: Op,
        idempotent: Idempotent,
        query_id: Option<&str>,
        mut send: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let settings = &self.inner.settings;
        let mut attempt = 1;
        loop {
            let mut err = match send().await {
                Ok(out) => return Ok(out),
                Err(e) => error::from_sdk(op, &e, &self.inner.redactor),
            };
            if err.kind == AwsErrorKind::Transport {
                err.message = self.inner.redactor.redact(&unreachable_message(
                    settings,
                    op.service,
                    &err.message,
                ));
            }
            let retry = match err.kind {
                AwsErrorKind::Throttled => true,
                AwsErrorKind::ServerError | AwsErrorKind::Transport => {
                    idempotent == Idempotent::Yes
                }
                _ => false,
            };
            if !retry || attempt > settings.num_retries {
                let err = AwsError {
                    attempts: attempt,
                    ..err
                };
                return Err(match query_id {
                    Some(id) => err.with_query_id(id),
                    None => err,
                });
            }
            let wait = backoff_delay(settings.backoff, attempt);
            Event::new(
                kinds::ADAPTER_EVENT_DEBUG,
                format!(
                    "{op}: {}{}; retry {attempt} of {} in {:.2}s",
                    err.code
                        .as_deref()
                        .map_or(String::new(), |c| format!("{c}: ")),
                    err.message,
                    settings.num_retries,
                    wait.as_secs_f64()
                ),
            )
            .at(Level::Debug)
            .emit();
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// Credentials the standard chain may read from the environment: unknown to the settings, but
/// redacted all the same should a server echo them.
fn env_secrets() -> impl Iterator<Item = String> {
    [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ]
    .into_iter()
    .filter_map(|k| std::env::var(k).ok())
}

/// What to say when a service cannot be reached: which endpoint, why, and what to check.
fn unreachable_message(settings: &AwsSettings, service: Service, cause: &str) -> String {
    match &settings.endpoint_url {
        Some(url) => format!(
            "cannot reach {url} (the profile's endpoint_url): {cause}; \
             check that the service at endpoint_url is running, or remove endpoint_url to use AWS"
        ),
        None => format!(
            "cannot reach {} in region {}: {cause}; check the network (and HTTPS_PROXY / \
             NO_PROXY) and region_name",
            service.as_str(),
            settings.region
        ),
    }
}

/// The SDK configuration of a target: region, endpoint, credentials, no SDK-level retries.
async fn load_sdk_config(settings: &AwsSettings) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .retry_config(RetryConfig::disabled());
    if let Ok(name) = AppName::new("kiln") {
        loader = loader.app_name(name);
    }
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    if let Some(profile) = &settings.aws_profile_name {
        loader = loader.profile_name(profile.clone());
    }
    if let CredentialSource::Static {
        access_key_id,
        secret_access_key,
        session_token,
    } = &settings.credentials
    {
        loader = loader.credentials_provider(aws_sdk_athena::config::Credentials::new(
            access_key_id.expose().to_string(),
            secret_access_key.expose().to_string(),
            session_token.as_ref().map(|t| t.expose().to_string()),
            None,
            "kiln-profile",
        ));
    }
    let base = loader.load().await;
    let Some(role) = &settings.assume_role else {
        return base;
    };
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
        .session_name(role.session_name.clone().unwrap_or_else(|| "kiln".into()))
        .configure(&base);
    if let Some(id) = &role.external_id {
        provider = provider.external_id(id.clone());
    }
    if let Some(d) = role.duration {
        provider = provider.session_length(d);
    }
    let provider = provider.build().await;
    base.into_builder()
        .credentials_provider(aws_sdk_athena::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

/// Full-jitter exponential backoff: a random wait up to `min(max, base * 2^(attempt-1))`.
fn backoff_delay(b: Backoff, attempt: u32) -> Duration {
    let ceiling = b
        .base
        .saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .min(b.max);
    // std's randomly seeded hasher is all the randomness jitter needs.
    let r = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    ceiling.mul_f64((r % 10_000) as f64 / 10_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for _ in 0..50 {
            assert!(backoff_delay(b, 1) <= Duration::from_millis(100));
            assert!(backoff_delay(b, 3) <= Duration::from_millis(400));
            assert!(backoff_delay(b, 40) <= Duration::from_secs(1));
        }
        // jitter: fifty draws are not all the same
        let draws: std::collections::BTreeSet<_> = (0..50).map(|_| backoff_delay(b, 4)).collect();
        assert!(draws.len() > 1);
    }
}
