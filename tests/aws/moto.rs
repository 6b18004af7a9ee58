//! The local AWS emulator (moto's server) the tests run against.
//!
//! `KILN_TEST_AWS_ENDPOINT` names a running one (`bash .ci/run` starts one and sets it). Without
//! it, the first test starts `moto_server` from the venv `$KILN_MOTO_VENV`, else
//! `~/.cache/kiln/moto-venv`, on a free port of 127.0.0.1, and the server stops when the test
//! process ends (it is started under a `sh` that waits on a pipe from this process).
//!
//! The venv is made on first use, so that `cargo test` alone runs these tests from a fresh
//! clone: when it is missing, or was installed from other requirements than
//! `.ci/moto-requirements.txt` (its copy of the file, `requirements.txt` in the venv, says which),
//! `python3 -m venv` creates it and pip installs the requirements into it, once, under a file
//! lock (`moto-venv.lock` beside it) so that test processes started together do not install
//! over each other; `.ci/run` installs the same way. When python3, its venv module, pip or the
//! network to PyPI is missing, every test fails saying which and what to do: a missing
//! emulator must never read as a passing suite.
//!
//! The harness sets one thing server-wide, once: Athena queries go QUEUED, RUNNING, RUNNING,
//! SUCCEEDED on four polls (moto's manual state transition), so every test polls the same way.

use super::http;
use serde_json::Value;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Moto {
    pub addr: SocketAddr,
    /// The running server's child process, kept so its stdin (the pipe it waits on) stays open.
    _server: Option<std::process::Child>,
}

static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();

/// The moto server, started on first use.
pub fn moto() -> &'static Moto {
    match MOTO.get_or_init(start) {
        Ok(m) => m,
        Err(why) => panic!("{why}"),
    }
}

fn venv() -> PathBuf {
    if let Some(v) = std::env::var_os("KILN_MOTO_VENV") {
        return PathBuf::from(v);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/kiln/moto-venv")
}

/// The requirements file the venv is installed from.
fn requirements() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".ci/moto-requirements.txt")
}

/// Whether `venv` holds moto's server installed from exactly `requirements`.
fn installed(venv: &Path, requirements: &[u8]) -> bool {
    venv.join("bin/moto_server").is_file()
        && std::fs::read(venv.join("requirements.txt")).is_ok_and(|r| r == requirements)
}

/// Makes sure `venv` holds moto's server as `requirements_file` pins it, installing it (with
/// `python`) when it does not. Concurrent callers, in this process or others, wait on a lock
/// file beside the venv; the first installs, the others find it installed.
pub fn ensure_venv(venv: &Path, requirements_file: &Path, python: &str) -> Result<(), String> {
    ensure_venv_with(venv, requirements_file, python, &[])
}

/// [`ensure_venv`] with extra environment variables for pip (tests point it at no index).
pub fn ensure_venv_with(
    venv: &Path,
    requirements_file: &Path,
    python: &str,
    pip_env: &[(&str, &str)],
) -> Result<(), String> {
    let requirements = std::fs::read(requirements_file)
        .map_err(|e| format!("cannot read {}: {e}", requirements_file.display()))?;
    if installed(venv, &requirements) {
        return Ok(());
    }
    let parent = venv.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let lock_path = venv.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    // Another process may have installed it while this one waited for the lock.
    if installed(venv, &requirements) {
        return Ok(());
    }
    eprintln!(
        "tests/aws: installing moto's server into {} (once; {})",
        venv.display(),
        requirements_file.display()
    );
    if venv.exists() {
        std::fs::remove_dir_all(venv)
            .map_err(|e| format!("cannot remove the old {}: {e}", venv.display()))?;
    }
    let venv_out = Command::new(python)
        .args(["-m", "venv"])
        .arg(venv)
        .output()
        .map_err(|e| {
            format!(
                "the AWS tests run against moto, installed on first use into {} with `{python} \
                 -m venv`, and `{python}` cannot be run ({e}); install Python 3 (3.9 or newer, \
                 with its venv module) and run the tests again",
                venv.display()
            )
        })?;
    if !venv_out.status.success() {
        let _ = std::fs::remove_dir_all(venv);
        return Err(format!(
            "`{python} -m venv {}` failed ({}): {}; install Python's venv module (on Debian \
             and Ubuntu: apt-get install python3-venv) and run the tests again",
            venv.display(),
            venv_out.status,
            tail(&venv_out.stderr)
        ));
    }
    let pip = venv.join("bin/pip");
    let pip_out = Command::new(&pip)
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(requirements_file)
        .envs(pip_env.iter().copied())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", pip.display()))?;
    if !pip_out.status.success() {
        // Left without its requirements.txt, the venv is made again by the next run.
        return Err(format!(
            "`pip install -r {}` into {} failed ({}): {}; the AWS tests need moto from PyPI \
             once: check the network access to PyPI (or PIP_INDEX_URL), then run the tests again",
            requirements_file.display(),
            venv.display(),
            pip_out.status,
            tail(&pip_out.stderr)
        ));
    }
    std::fs::write(venv.join("requirements.txt"), &requirements)
        .map_err(|e| format!("cannot write {}/requirements.txt: {e}", venv.display()))?;
    Ok(())
}

/// The last lines of a command's error output.
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(5);
    let tail = lines[start..].join(" | ");
    if tail.is_empty() {
        "no error output".into()
    } else {
        tail
    }
}

fn start() -> Result<Moto, String> {
    check_proxy_env()?;
    let moto = match std::env::var("KILN_TEST_AWS_ENDPOINT") {
        Ok(url) => {
            let hostport = url
                .strip_prefix("http://")
                .ok_or_else(|| {
                    format!("KILN_TEST_AWS_ENDPOINT={url} must be http://host:port (moto's server)")
                })?
                .trim_end_matches('/');
            let addr = hostport
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| format!("KILN_TEST_AWS_ENDPOINT={url}: not a host:port"))?;
            if !answers(addr) {
                return Err(format!(
                    "KILN_TEST_AWS_ENDPOINT={url} does not answer as moto's server \
                     (GET /moto-api/); start it, or unset the variable to let the tests start one"
                ));
            }
            Moto {
                addr,
                _server: None,
            }
        }
        Err(_) => spawn()?,
    };
    configure(moto.addr)?;
    Ok(moto)
}

/// With an HTTP(S) proxy in the environment, the AWS SDK would send the tests' requests for
/// 127.0.0.1 to it unless `NO_PROXY` exempts them.
fn check_proxy_env() -> Result<(), String> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let proxy = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ]
    .iter()
    .find_map(|k| get(k).map(|v| format!("{k}={v}")));
    let no_proxy = get("NO_PROXY")
        .or_else(|| get("no_proxy"))
        .unwrap_or_default();
    match proxy {
        Some(p) if !no_proxy.split(',').any(|h| h.trim() == "127.0.0.1") => Err(format!(
            "{p} is set and NO_PROXY does not name 127.0.0.1: the AWS SDK would send the \
             tests' requests for the local emulator to that proxy. Export \
             NO_PROXY=127.0.0.1,localhost (bash .ci/run does)"
        )),
        _ => Ok(()),
    }
}

fn answers(addr: SocketAddr) -> bool {
    http::send(addr, &http::request("GET", "/moto-api/", &[], b"")).is_ok_and(|r| r.status() == 200)
}

fn spawn() -> Result<Moto, String> {
    let venv = venv();
    ensure_venv(&venv, &requirements(), "python3")?;
    let server = venv.join("bin/moto_server");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
        .port();
    let log = std::env::temp_dir().join(format!("kiln-moto-{port}.log"));
    let recording = std::env::temp_dir().join(format!("kiln-moto-{port}.jsonl"));
    // `sh` runs the server and waits on its stdin, a pipe from this process: when the test
    // process ends (however it ends) the pipe closes and the server is stopped.
    let child = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 & m=$!; cat >/dev/null; kill $m"#)
        .arg(&server)
        .arg(port.to_string())
        .arg(&log)
        .env("MOTO_RECORDER_FILEPATH", &recording)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // Waiting for the server to listen (not a timed assertion: a slow start only waits longer).
    for _ in 0..600 {
        if answers(addr) {
            return Ok(Moto {
                addr,
                _server: Some(child),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(format!(
        "{} did not answer on {addr} within a minute; its log: {}",
        server.display(),
        log.display()
    ))
}

/// The server-wide settings every test relies on.
fn configure(addr: SocketAddr) -> Result<(), String> {
    let transition =
        r#"{"model_name":"athena::execution","transition":{"progression":"manual","times":2}}"#;
    for (path, body) in [
        ("/moto-api/state-manager/set-transition", transition),
        ("/moto-api/recorder/start-recording", ""),
    ] {
        let r = post(addr, path, body);
        if !(200..300).contains(&r.status()) {
            return Err(format!("moto {path}: {} {}", r.start, r.text()));
        }
    }
    Ok(())
}

/// A POST to moto's own API.
pub fn post(addr: SocketAddr, path: &str, body: &str) -> http::Message {
    let req = http::request(
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    http::send(addr, &req).unwrap_or_else(|e| panic!("moto {path}: {e}"))
}

/// A test's own account on the shared server, reached straight (not through the recording
/// proxy): the harness's view of moto's state, or the engine the tests play.
pub trait Account {
    /// The account's id.
    fn account(&self) -> &str;

    /// The name in the requests' credential scope: `HARNESS` for the test's own view, `ENGINE`
    /// for the engine the tests play.
    fn principal(&self) -> &str {
        "HARNESS"
    }

    /// Where moto listens.
    fn moto_addr(&self) -> SocketAddr {
        moto().addr
    }

    /// A request to moto in this account, signed (moto reads the service from the credential
    /// scope; it checks no signature); one that cannot be sent panics.
    fn raw(
        &self,
        service: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> http::Message {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0",
            self.principal()
        );
        let mut h = vec![
            ("Authorization", auth.as_str()),
            ("x-moto-account-id", self.account()),
        ];
        h.extend_from_slice(headers);
        http::send(self.moto_addr(), &http::request(method, path, &h, body))
            .unwrap_or_else(|e| panic!("moto {method} {path}: {e}"))
    }

    /// A Glue API call (`target`: `GetTable`...).
    fn glue(&self, target: &str, body: Value) -> http::Message {
        self.raw(
            "glue",
            "POST",
            "/",
            &[
                ("X-Amz-Target", &format!("AWSGlue.{target}")),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            body.to_string().as_bytes(),
        )
    }
}

/// Queues query answers in moto for `account`: each query started next gets the next one
/// (moto runs no SQL).
pub fn queue_query_results(account: &str, results: Vec<Value>) {
    let body =
        serde_json::json!({"account_id": account, "region": "us-east-1", "results": results});
    let r = post(
        moto().addr,
        "/moto-api/static/athena/query-results",
        &body.to_string(),
    );
    assert_eq!(r.status(), 201, "queue results: {}", r.text());
}

/// A name no other test (and no earlier run against the same server) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{:x}{n}", (nanos / 1000) % 0xffff_ffff)
}

/// A 12-digit AWS account id of its own.
pub fn unique_account() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:012}",
        200_000_000_000 + (micros % 100_000_000) * 1000 + n % 1000
    )
}

/// The Python of the emulator's venv, which also holds the SQL checkers of
/// `.ci/moto-requirements.txt` (`tests/athena/grammar.rs`), installed first when needed.
#[allow(dead_code)]
pub fn python() -> PathBuf {
    let venv = venv();
    if let Err(why) = ensure_venv(&venv, &requirements(), "python3") {
        panic!("{why}");
    }
    venv.join("bin/python")
}
