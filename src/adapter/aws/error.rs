//! What went wrong talking to AWS, in kiln's terms: which service and operation, AWS's error
//! code and message, the query id when there is one, how many attempts were made, and whether
//! the failure is worth retrying. Every message passes through a [`Redactor`] when it is built,
//! so a secret key or session token echoed by a server (or by an HTTP library's error) never
//! reaches an error, a log line or a `Debug` print.

use crate::adapter::{DbError, DbErrorKind};
use aws_sdk_athena::config::http::HttpResponse;
use aws_sdk_athena::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::fmt;

/// The AWS service a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Athena,
    Glue,
    S3,
    /// Loading the configuration or the credentials (no call made yet).
    Config,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Athena => "Athena",
            Service::Glue => "Glue",
            Service::S3 => "S3",
            Service::Config => "AWS configuration",
        }
    }
}

/// One AWS API operation, for messages and logs: `Athena StartQueryExecution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub service: Service,
    pub name: &'static str,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.service.as_str(), self.name)
    }
}

/// What kind of failure, as the caller decides on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// Rate exceeded (`ThrottlingException`, `TooManyRequestsException`, S3's `SlowDown`...),
    /// still so after every retry.
    Throttled,
    /// The server failed (HTTP 5xx), still so after every retry.
    ServerError,
    /// The request never got an answer (connection refused, timeout, TLS), after every retry.
    Transport,
    /// The thing asked for does not exist (`EntityNotFoundException`, `NoSuchBucket`...).
    NotFound,
    /// It exists already (`AlreadyExistsException`).
    AlreadyExists,
    /// Credentials missing, invalid or expired, or access denied.
    Auth,
    /// AWS refused the request as invalid (`InvalidRequestException`, bad parameters).
    Invalid,
    /// The query ran and failed (Athena state `FAILED`); the message is Athena's reason.
    QueryFailed,
    /// The query was cancelled (by kiln after an interrupt, or by someone else).
    Cancelled,
    /// kiln refused to make the call (an S3 delete outside the prefix it owns).
    Refused,
    /// The settings are unusable (a malformed S3 location, no runtime).
    Config,
    /// Anything else AWS answered.
    Other,
}

/// A failed AWS call, with everything needed to act on it or report it.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    pub kind: AwsErrorKind,
    pub op: Op,
    /// AWS's error code (`ThrottlingException`), when it sent one.
    pub code: Option<String>,
    /// AWS's message (or Athena's `StateChangeReason`), redacted.
    pub message: String,
    /// The Athena query this is about.
    pub query_id: Option<String>,
    /// HTTP status of the last answer, when there was one.
    pub status: Option<u16>,
    /// How many times the call was sent.
    pub attempts: u32,
    /// Athena's `AthenaError` of a failed query: category, type, and whether it says a retry
    /// may succeed.
    pub athena_error: Option<AthenaErrorInfo>,
}

/// Athena's classification of a failed query (`Status.AthenaError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AthenaErrorInfo {
    /// 1 system, 2 user, 3 other.
    pub category: Option<i32>,
    pub error_type: Option<i32>,
    pub retryable: bool,
}

impl AwsError {
    pub(super) fn new(kind: AwsErrorKind, op: Op, message: impl Into<String>) -> Self {
        AwsError {
            kind,
            op,
            code: None,
            message: message.into(),
            query_id: None,
            status: None,
            attempts: 0,
            athena_error: None,
        }
    }

    pub(super) fn with_query_id(mut self, id: impl Into<String>) -> Self {
        self.query_id = Some(id.into());
        self
    }

    /// Whether another attempt of the same call may succeed (throttling, 5xx, transport).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            AwsErrorKind::Throttled | AwsErrorKind::ServerError | AwsErrorKind::Transport
        )
    }

    /// Athena's `ICEBERG_COMMIT_ERROR`: another writer committed first; running the statement
    /// again may succeed.
    pub fn is_iceberg_commit_conflict(&self) -> bool {
        self.kind == AwsErrorKind::QueryFailed && self.message.contains("ICEBERG_COMMIT_ERROR")
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            AwsErrorKind::QueryFailed => write!(f, "Athena query failed: {}", self.message)?,
            AwsErrorKind::Cancelled => write!(f, "Athena query cancelled: {}", self.message)?,
            AwsErrorKind::Refused | AwsErrorKind::Config => f.write_str(&self.message)?,
            _ => {
                write!(f, "{} failed", self.op)?;
                if let Some(code) = &self.code {
                    write!(f, " ({code})")?;
                }
                write!(f, ": {}", self.message)?;
            }
        }
        if let Some(id) = &self.query_id {
            write!(f, " [query id: {id}]")?;
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

impl From<AwsError> for DbError {
    fn from(e: AwsError) -> Self {
        let kind = match e.kind {
            AwsErrorKind::Cancelled => DbErrorKind::Cancelled,
            AwsErrorKind::Auth | AwsErrorKind::Config | AwsErrorKind::Transport => {
                DbErrorKind::Open
            }
            _ => DbErrorKind::Query,
        };
        DbError {
            kind,
            message: e.to_string(),
        }
    }
}

/// Replaces every known secret in a text with `*****`.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        // Empty strings would "match" everywhere; longest first so a secret containing
        // another is replaced whole.
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "*****");
            }
        }
        out
    }
}

/// Codes AWS uses for "slow down" (the SDK's own throttling list, plus S3's and Athena's).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestThrottledException",
    "RequestThrottled",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

const NOT_FOUND_CODES: &[&str] = &[
    "EntityNotFoundException",
    "ResourceNotFoundException",
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
];

const AUTH_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidToken",
    "AuthFailure",
];

/// Turns an SDK error into an [`AwsError`] (not yet counting attempts).
pub(super) fn from_sdk<E>(op: Op, err: &SdkError<E, HttpResponse>, redactor: &Redactor) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_string);
    let kind = match err {
        // No credentials in the chain surfaces when the request is dispatched: no retry helps,
        // and it is not the network's fault.
        SdkError::DispatchFailure(_) if no_credentials(&DisplayErrorContext(err).to_string()) => {
            AwsErrorKind::Auth
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => AwsErrorKind::Transport,
        SdkError::ConstructionFailure(_) => {
            // Building the request failed: most often no credentials could be found.
            let text = DisplayErrorContext(err).to_string();
            if text.contains("credentials") || text.contains("identity") {
                AwsErrorKind::Auth
            } else {
                AwsErrorKind::Config
            }
        }
        _ => classify(code.as_deref(), status),
    };
    let message = match (err.message(), err) {
        (Some(m), SdkError::ServiceError(_)) => m.to_string(),
        (_, SdkError::ServiceError(_)) if status == Some(404) => "not found".to_string(),
        (_, SdkError::ServiceError(_)) if status == Some(403) => "access denied".to_string(),
        (_, SdkError::TimeoutError(_)) => "the request timed out".to_string(),
        // "dispatch failure: io error: client error (Connect): tcp connect error: Connection
        // refused (os error 111)": the last cause is the one that says what happened.
        (_, SdkError::DispatchFailure(_)) => root_cause(err),
        _ => DisplayErrorContext(err).to_string(),
    };
    AwsError {
        kind,
        op,
        code,
        message: redactor.redact(&message),
        query_id: None,
        status,
        attempts: 1,
        athena_error: None,
    }
}

/// Whether an SDK error's text says the credential chain found no credentials.
fn no_credentials(text: &str) -> bool {
    text.contains("no credentials found") || text.contains("failed to load credentials")
}

/// The innermost cause of an error chain, as text.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut e = err;
    while let Some(next) = e.source() {
        e = next;
    }
    e.to_string()
}

/// The kind of a service error, from its code and HTTP status.
fn classify(code: Option<&str>, status: Option<u16>) -> AwsErrorKind {
    let code = code.unwrap_or("");
    if THROTTLING_CODES.contains(&code) || status == Some(429) {
        AwsErrorKind::Throttled
    } else if NOT_FOUND_CODES.contains(&code) || (code.is_empty() && status == Some(404)) {
        AwsErrorKind::NotFound
    } else if code == "AlreadyExistsException" {
        AwsErrorKind::AlreadyExists
    } else if AUTH_CODES.contains(&code) || (code.is_empty() && status == Some(403)) {
        AwsErrorKind::Auth
    } else if code == "InternalServerException"
        || code == "InternalError"
        || code == "InternalFailure"
        || code == "ServiceUnavailable"
        || status.is_some_and(|s| s >= 500)
    {
        AwsErrorKind::ServerError
    } else if code.starts_with("Invalid") || code == "ValidationException" {
        AwsErrorKind::Invalid
    } else {
        AwsErrorKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_and_5xx_are_transient() {
        for code in [
            "ThrottlingException",
            "TooManyRequestsException",
            "SlowDown",
        ] {
            assert_eq!(classify(Some(code), Some(400)), AwsErrorKind::Throttled);
        }
        assert_eq!(classify(None, Some(503)), AwsErrorKind::ServerError);
        assert_eq!(
            classify(Some("InternalServerException"), Some(500)),
            AwsErrorKind::ServerError
        );
        assert_eq!(
            classify(Some("EntityNotFoundException"), Some(400)),
            AwsErrorKind::NotFound
        );
        assert_eq!(
            classify(Some("InvalidRequestException"), Some(400)),
            AwsErrorKind::Invalid
        );
        assert_eq!(classify(None, Some(403)), AwsErrorKind::Auth);
    }

    #[test]
    fn a_missing_credential_is_no_transport_failure() {
        assert!(no_credentials(
            "dispatch failure: other: no credentials found in chain. Attempted: Ec2InstanceMetadata: IMDS disabled"
        ));
        assert!(!no_credentials(
            "dispatch failure: io error: tcp connect error: Connection refused (os error 111)"
        ));
    }

    #[test]
    fn redactor_replaces_every_secret_and_ignores_empty_ones() {
        let r = Redactor::new(["abc123secret".to_string(), String::new(), "tok".to_string()]);
        assert_eq!(
            r.redact("key abc123secret and tok, again abc123secret"),
            "key ***** and *****, again *****"
        );
        assert_eq!(format!("{r:?}"), "Redactor(2 secrets)");
    }

    #[test]
    fn message_names_the_operation_code_query_and_attempts() {
        let mut e = AwsError::new(
            AwsErrorKind::Throttled,
            Op {
                service: Service::Athena,
                name: "GetQueryExecution",
            },
            "Rate exceeded",
        )
        .with_query_id("q-1");
        e.code = Some("ThrottlingException".into());
        e.attempts = 6;
        assert_eq!(
            e.to_string(),
            "Athena GetQueryExecution failed (ThrottlingException): Rate exceeded [query id: q-1] (after 6 attempts)"
        );
        let db: DbError = e.into();
        assert_eq!(db.kind, DbErrorKind::Query);
    }
}
