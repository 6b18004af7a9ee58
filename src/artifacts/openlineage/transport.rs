//! Where events go: `target/openlineage.jsonl` (one event per line, written as each happens, so
//! an interrupted run still leaves what it did) and, when configured, an HTTP endpoint.
//!
//! HTTP posts happen on a thread of their own, in the order the events happened, so the workers
//! never wait for the network. A request that cannot connect, times out or gets 408, 429 or a
//! 5xx answer is retried (`retries` times, waiting 0.2 s, 0.4 s... up to 2 s between tries);
//! once an event has failed every try, the endpoint is taken as down and the remaining events
//! are not sent. Nothing fails the run: what was not delivered is a warning at the end, and
//! every event is in the file anyway.

use super::OpenLineageConfig;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The events' destinations.
pub struct Transport {
    file: Mutex<Option<(PathBuf, std::io::BufWriter<std::fs::File>)>>,
    http: Mutex<Option<(Sender<String>, JoinHandle<Delivery>)>>,
    warnings: Mutex<Vec<String>>,
}

/// What the HTTP thread delivered.
#[derive(Debug, Default)]
struct Delivery {
    url: String,
    sent: usize,
    failed: usize,
    last_error: Option<String>,
}

impl Transport {
    /// Events to `file` (created anew) and, when `config` has a URL, to the endpoint.
    pub fn new(file: &Path, config: &OpenLineageConfig) -> Transport {
        let mut warnings = vec![];
        let file = match std::fs::File::create(file) {
            Ok(f) => Some((file.to_path_buf(), std::io::BufWriter::new(f))),
            Err(e) => {
                warnings.push(format!(
                    "OpenLineage: cannot write {}: {e}; events are not kept in a file",
                    file.display()
                ));
                None
            }
        };
        let http = config.post_url().map(|url| {
            let (tx, rx) = channel::<String>();
            let config = config.clone();
            let handle = std::thread::spawn(move || deliver(&url, &config, rx));
            (tx, handle)
        });
        Transport {
            file: Mutex::new(file),
            http: Mutex::new(http),
            warnings: Mutex::new(warnings),
        }
    }

    /// Sends one event (secrets scrubbed, as from every file kiln writes).
    pub fn send(&self, event: Value) {
        let line = crate::events::scrub(&event.to_string());
        if let Ok(mut guard) = self.file.lock()
            && let Some((path, out)) = guard.as_mut()
            && let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush())
        {
            let message = format!("OpenLineage: cannot write {}: {e}", path.display());
            if let Ok(mut w) = self.warnings.lock() {
                w.push(message);
            }
            *guard = None;
        }
        if let Ok(guard) = self.http.lock()
            && let Some((tx, _)) = guard.as_ref()
        {
            let _ = tx.send(line);
        }
    }

    /// Waits for the HTTP thread to deliver (or give up on) what is queued; the warnings to
    /// show.
    pub fn finish(&self) -> Vec<String> {
        let mut warnings = self
            .warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        let http = self.http.lock().ok().and_then(|mut h| h.take());
        if let Some((tx, handle)) = http {
            drop(tx);
            match handle.join() {
                Ok(d) if d.failed > 0 => {
                    let total = d.sent + d.failed;
                    let file = self
                        .file
                        .lock()
                        .ok()
                        .and_then(|f| f.as_ref().map(|(p, _)| p.display().to_string()));
                    warnings.push(format!(
                        "OpenLineage: {} of {total} event{} could not be sent to {}: {}{}",
                        d.failed,
                        if total == 1 { "" } else { "s" },
                        d.url,
                        d.last_error.unwrap_or_default(),
                        match file {
                            Some(f) => format!(" (every event is in {f})"),
                            None => String::new(),
                        }
                    ));
                }
                Ok(_) => {}
                Err(_) => warnings.push("OpenLineage: the HTTP sender stopped unexpectedly".into()),
            }
        }
        warnings
    }
}

/// Why one attempt failed, and whether trying again may help.
struct Attempt {
    error: String,
    retry: bool,
}

fn agent(config: &OpenLineageConfig) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(config.timeout))
        .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

fn post(agent: &ureq::Agent, url: &str, api_key: Option<&str>, body: &str) -> Result<(), Attempt> {
    let mut request = agent.post(url).header("Content-Type", "application/json");
    if let Some(key) = api_key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    match request.send(body) {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(Attempt {
                    error: format!("the endpoint answered HTTP {status}"),
                    retry: status == 408 || status == 429 || status >= 500,
                })
            }
        }
        Err(e) => Err(Attempt {
            error: format!("{e}"),
            retry: true,
        }),
    }
}

/// The HTTP thread: posts each event in turn, with retries.
fn deliver(url: &str, config: &OpenLineageConfig, events: Receiver<String>) -> Delivery {
    let agent = agent(config);
    let mut d = Delivery {
        url: url.to_string(),
        ..Delivery::default()
    };
    let mut down = false;
    for body in events {
        if down {
            d.failed += 1;
            continue;
        }
        let mut attempt = 0u32;
        loop {
            match post(&agent, url, config.api_key.as_deref(), &body) {
                Ok(()) => {
                    d.sent += 1;
                    break;
                }
                Err(a) if a.retry && attempt < config.retries => {
                    let wait = Duration::from_millis(200u64 << attempt.min(4));
                    std::thread::sleep(wait.min(Duration::from_secs(2)));
                    attempt += 1;
                }
                Err(a) => {
                    d.failed += 1;
                    // Given up after its retries: the endpoint is down; the rest are not sent.
                    down = a.retry;
                    d.last_error = Some(a.error);
                    break;
                }
            }
        }
    }
    d
}
