//! The local AWS emulator (moto's server) the tests run against.
//!
//! `KILN_TEST_AWS_ENDPOINT` names a running one (`bash .ci/run` starts one and sets it). Without
//! it, the first test starts `moto_server` from the venv `.ci/run` installs
//! (`$KILN_MOTO_VENV`, else `~/.cache/kiln/moto-venv`) on a free port of 127.0.0.1, and the
//! server stops when the test process ends (it is started under a `sh` that waits on a pipe
//! from this process). Without either, every test fails and says how to install moto: a
//! missing emulator must never read as a passing suite.
//!
//! The harness sets one thing server-wide, once: Athena queries go QUEUED, RUNNING, RUNNING,
//! SUCCEEDED on four polls (moto's manual state transition), so every test polls the same way.

use super::http;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::PathBuf;
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

const INSTALL: &str = "install it as .ci/run does: \
python3 -m venv ~/.cache/kiln/moto-venv && \
~/.cache/kiln/moto-venv/bin/pip install -r .ci/moto-requirements.txt \
(or run the whole CI: bash .ci/run)";

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
    let server = venv.join("bin/moto_server");
    if !server.is_file() {
        return Err(format!(
            "tests/aws.rs runs against moto's server (a local AWS emulator), and none was found: \
             KILN_TEST_AWS_ENDPOINT is not set and {} does not exist; {INSTALL}",
            server.display()
        ));
    }
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
