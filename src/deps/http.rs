//! HTTP(S) for the hub's index and tarballs: a small blocking client (ureq) over rustls with the
//! aws-lc-rs crypto provider (the one the AWS SDK uses, so the build carries one TLS stack) and
//! the Mozilla root certificates. A download shows a progress bar when the console allows one.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Largest body read: dbt packages are a few hundred KB; this only stops a runaway server.
const MAX_BODY: u64 = 512 * 1024 * 1024;

/// Why a request failed, in the words the error message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No answer at all: no network, a wrong host name, a refused connection, a timeout.
    Unreachable(String),
    /// The server answered with an error status (404, 500...).
    Status(u16),
    /// The answer could not be read or used.
    Bad(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Unreachable(why) => write!(f, "could not connect ({why})"),
            FetchError::Status(code) => write!(f, "the server answered HTTP {code}"),
            FetchError::Bad(why) => f.write_str(why),
        }
    }
}

/// One client for the whole command (connections are reused).
pub struct Client {
    agent: ureq::Agent,
    /// Draw progress bars for downloads.
    progress: bool,
}

impl Client {
    pub fn new(progress: bool) -> Client {
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_secs(300)))
            .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client { agent, progress }
    }

    fn call(&self, url: &str) -> Result<ureq::http::Response<ureq::Body>, FetchError> {
        let resp = self.agent.get(url).call().map_err(classify)?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(FetchError::Status(status));
        }
        Ok(resp)
    }

    /// GETs `url` and parses the body as JSON.
    pub fn get_json(&self, url: &str) -> Result<serde_json::Value, FetchError> {
        let mut resp = self.call(url)?;
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(classify)?;
        serde_json::from_str(&text)
            .map_err(|e| FetchError::Bad(format!("the answer is not JSON ({e})")))
    }

    /// Downloads `url` into the file `dest`, with a progress bar labelled `label`.
    pub fn download(&self, url: &str, dest: &Path, label: &str) -> Result<(), FetchError> {
        let mut resp = self.call(url)?;
        let total = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let bar = self.progress.then(|| progress_bar(total, label));
        crate::events::set_progress_bar(bar.clone());
        let result = (|| {
            let mut file = std::fs::File::create(dest)
                .map_err(|e| FetchError::Bad(format!("cannot write {}: {e}", dest.display())))?;
            let mut reader = resp.body_mut().with_config().limit(MAX_BODY).reader();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = reader.read(&mut buf).map_err(|e| classify_io(&e))?;
                if n == 0 {
                    break;
                }
                file.write_all(&buf[..n]).map_err(|e| {
                    FetchError::Bad(format!("cannot write {}: {e}", dest.display()))
                })?;
                if let Some(bar) = &bar {
                    bar.inc(n as u64);
                }
            }
            file.flush()
                .map_err(|e| FetchError::Bad(format!("cannot write {}: {e}", dest.display())))
        })();
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        crate::events::set_progress_bar(None);
        result
    }
}

fn progress_bar(total: Option<u64>, label: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes}"
    } else {
        "{spinner} {msg} {bytes}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!("Downloading {label}"));
    bar
}

fn classify(e: ureq::Error) -> FetchError {
    use ureq::Error as E;
    match e {
        E::StatusCode(code) => FetchError::Status(code),
        E::HostNotFound => FetchError::Unreachable("host not found".into()),
        E::ConnectionFailed => FetchError::Unreachable("connection failed".into()),
        E::Timeout(t) => FetchError::Unreachable(format!("timed out: {t}")),
        E::Io(io) => classify_io(&io),
        E::BadUri(u) => FetchError::Bad(format!("not a valid URL: {u}")),
        E::BodyExceedsLimit(n) => FetchError::Bad(format!("the answer is larger than {n} bytes")),
        other => FetchError::Bad(other.to_string()),
    }
}

fn classify_io(e: &std::io::Error) -> FetchError {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::NotConnected
        | K::TimedOut
        | K::HostUnreachable
        | K::NetworkUnreachable
        | K::NetworkDown
        | K::AddrNotAvailable => FetchError::Unreachable(e.to_string()),
        // A host name that does not resolve (offline, or a typo in the URL).
        _ if e.to_string().contains("lookup address") => FetchError::Unreachable(e.to_string()),
        _ => FetchError::Bad(e.to_string()),
    }
}
