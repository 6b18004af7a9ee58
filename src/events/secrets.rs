//! Secrets: the values of `DBT_ENV_SECRET_*` variables, which nothing kiln prints or writes may
//! hold. Redaction belongs to the output, not to whoever reads a secret: the values are
//! registered here, and every sink scrubs what it writes (the console and the log file in
//! [`super`], the artifacts writer, the `target/compiled` and `target/run` files writer).
//!
//! Two places register values. [`register_environment`] takes every `DBT_ENV_SECRET_*` variable
//! of the process when the command line is resolved, as dbt does, so a value is hidden even from
//! what is printed before (or without) any template reading it: redaction does not depend on the
//! order in which profiles.yml and the models render. [`register`] is called where a template
//! reads one (`env_var()` in profiles.yml), for a value set after the process started.
//!
//! Values shorter than three characters are not scrubbed: replacing every `1` or `ab` in the
//! output would hide more than it protects.

use std::borrow::Cow;
use std::io::Write;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The prefix of the environment variables that hold secrets.
pub const PREFIX: &str = "DBT_ENV_SECRET";

/// What a secret is replaced with.
const MASK: &str = "*****";

/// The shortest value that is scrubbed.
const MIN_LEN: usize = 3;

/// The registered values, longest first (so that a secret containing another is hidden whole).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Whether any value is registered: the sinks' fast path.
static ANY: AtomicBool = AtomicBool::new(false);

/// Remembers a secret value: no sink writes it from now on.
pub fn register(value: &str) {
    if value.len() < MIN_LEN {
        return;
    }
    let Ok(mut secrets) = SECRETS.write() else {
        return;
    };
    if secrets.iter().any(|s| s == value) {
        return;
    }
    secrets.push(value.to_string());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    ANY.store(true, Ordering::SeqCst);
}

/// Registers the value of every `DBT_ENV_SECRET_*` variable of the process environment.
pub fn register_environment() {
    for (name, value) in std::env::vars_os() {
        if let (Some(name), Some(value)) = (name.to_str(), value.to_str())
            && name.starts_with(PREFIX)
        {
            register(value);
        }
    }
}

/// `text` with every secret replaced by `*****`.
pub fn scrub(text: &str) -> String {
    match scrub_bytes(text.as_bytes()) {
        // Whole UTF-8 sequences are replaced by ASCII, so the result is still UTF-8.
        Cow::Owned(bytes) => String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Cow::Borrowed(_) => text.to_string(),
    }
}

/// `bytes` with every secret replaced by `*****` (borrowed when there is nothing to hide).
pub fn scrub_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    if !ANY.load(Ordering::SeqCst) {
        return Cow::Borrowed(bytes);
    }
    let Ok(secrets) = SECRETS.read() else {
        return Cow::Borrowed(bytes);
    };
    let (out, _) = redact(bytes, &secrets, true);
    match out {
        Some(out) => Cow::Owned(out),
        None => Cow::Borrowed(bytes),
    }
}

/// Scans `bytes` for secrets. Returns the redacted bytes (None when nothing matched and `at_end`)
/// and how many bytes of the input it covers: unless `at_end`, a tail that could be the start of
/// a secret is left for the next call.
fn redact(bytes: &[u8], secrets: &[String], at_end: bool) -> (Option<Vec<u8>>, usize) {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        // Near the end of a stretch, what could still grow into a secret (also a longer one
        // than a secret that already matches) waits for the next bytes.
        if !at_end
            && secrets
                .iter()
                .any(|s| s.len() > rest.len() && s.as_bytes().starts_with(rest))
        {
            break;
        }
        if let Some(s) = secrets.iter().find(|s| rest.starts_with(s.as_bytes())) {
            let o = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
            o.extend_from_slice(&bytes[copied..i]);
            o.extend_from_slice(MASK.as_bytes());
            i += s.len();
            copied = i;
            continue;
        }
        i += 1;
    }
    if out.is_none() && at_end {
        return (None, bytes.len());
    }
    let mut o = out.unwrap_or_default();
    o.extend_from_slice(&bytes[copied..i]);
    (Some(o), i)
}

/// A writer that scrubs secrets from what passes through it, also when a secret is split
/// across writes: the bytes that could begin one wait for the next write, or for [`flush`],
/// which ends the stream as far as redaction goes.
///
/// [`flush`]: Write::flush
pub struct Redacting<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Redacting<W> {
    pub fn new(inner: W) -> Self {
        Redacting {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !ANY.load(Ordering::SeqCst) && self.pending.is_empty() {
            return self.inner.write(buf);
        }
        let Ok(secrets) = SECRETS.read() else {
            return self.inner.write(buf);
        };
        self.pending.extend_from_slice(buf);
        let (out, covered) = redact(&self.pending, &secrets, false);
        if let Some(out) = out {
            self.inner.write_all(&out)?;
        }
        self.pending.drain(..covered);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            let rest = scrub_bytes(&rest).into_owned();
            self.inner.write_all(&rest)?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRETS_FOR_TEST: [&str; 2] = ["hush-hush-key", "hush-hush"];

    fn secrets() -> Vec<String> {
        SECRETS_FOR_TEST.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn secrets_are_masked_whole_and_the_rest_is_kept() {
        let (out, n) = redact(b"a hush-hush-key and hush-hush.", &secrets(), true);
        assert_eq!(n, 30);
        assert_eq!(out.as_deref(), Some(&b"a ***** and *****."[..]));
        assert_eq!(redact(b"nothing here", &secrets(), true), (None, 12));
    }

    #[test]
    fn a_secret_split_across_writes_is_still_masked() {
        for s in SECRETS_FOR_TEST {
            register(s);
        }
        let mut out = vec![];
        {
            let mut w = Redacting::new(&mut out);
            for chunk in ["key: hu", "sh-h", "ush-k", "ey; other: hush-h", "ush"] {
                w.write_all(chunk.as_bytes()).expect("write");
            }
            w.flush().expect("flush");
        }
        assert_eq!(String::from_utf8_lossy(&out), "key: *****; other: *****");
        assert_eq!(scrub("x hush-hush-key y"), "x ***** y");
        assert_eq!(scrub("hus"), "hus");
    }
}
