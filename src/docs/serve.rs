//! `kiln docs serve`: a small static file server for the site in `target/` (GET and HEAD, one
//! thread per connection), std only. It serves files under the folder and nothing else: a path
//! that leaves it (`..`), or names a folder, is a 404.

use crate::error::{Diagnostic, Error};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// Binds `host:port` (port 0 picks a free one) and returns the listener and its address.
pub fn bind(host: &str, port: u16) -> Result<(TcpListener, SocketAddr), Error> {
    let listener = TcpListener::bind((host, port)).map_err(|e| {
        Error::one(
            Diagnostic::error("docs", format!("cannot listen on {host}:{port}: {e}"))
                .with_help("pick another port with --port, or another address with --host"),
        )
    })?;
    let addr = listener.local_addr().map_err(|e| {
        Error::one(Diagnostic::error(
            "docs",
            format!("cannot read the bound address: {e}"),
        ))
    })?;
    Ok((listener, addr))
}

/// Serves `root` on `listener` until the process is stopped.
pub fn serve(listener: TcpListener, root: &Path) -> Result<(), Error> {
    let root = root.to_path_buf();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.clone();
        std::thread::spawn(move || {
            // A client that goes away mid-answer is not the server's problem.
            let _ = answer(stream, &root);
        });
    }
    Ok(())
}

fn answer(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Headers are read and ignored (to the empty line).
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let mut out = stream;
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut out,
            "405 Method Not Allowed",
            "text/plain",
            b"method not allowed\n",
            true,
        );
    }
    let body_wanted = method == "GET";
    match resolve(root, target) {
        Some(path) => match std::fs::read(&path) {
            Ok(bytes) => respond(&mut out, "200 OK", content_type(&path), &bytes, body_wanted),
            Err(_) => respond(
                &mut out,
                "404 Not Found",
                "text/plain",
                b"not found\n",
                body_wanted,
            ),
        },
        None => respond(
            &mut out,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            body_wanted,
        ),
    }
}

fn respond(
    out: &mut TcpStream,
    status: &str,
    ctype: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    if with_body {
        out.write_all(body)?;
    }
    out.flush()
}

/// The file a request target names under `root`: query and fragment dropped, `%XX` decoded, `/`
/// is index.html; `None` for a path that leaves the root or is not a file.
pub fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let rel = decoded.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let mut full = root.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => full.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    full.is_file().then_some(full)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn serves_files_under_the_root_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<p>hi</p>").unwrap();
        std::fs::create_dir(dir.path().join("kiln-docs")).unwrap();
        std::fs::write(dir.path().join("kiln-docs/app.js"), "1").unwrap();
        let root = dir.path();
        assert_eq!(resolve(root, "/"), Some(root.join("index.html")));
        assert_eq!(
            resolve(root, "/index.html?x=1#!/a"),
            Some(root.join("index.html"))
        );
        assert_eq!(
            resolve(root, "/kiln-docs/app%2Ejs"),
            Some(root.join("kiln-docs/app.js"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/kiln-docs"), None);
        assert_eq!(resolve(root, "/missing.js"), None);
    }

    #[test]
    fn answers_over_http() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<p>hi</p>").unwrap();
        let (listener, addr) = bind("127.0.0.1", 0).unwrap();
        let root = dir.path().to_path_buf();
        std::thread::spawn(move || serve(listener, &root));
        let get = |path: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            text
        };
        let ok = get("/");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("text/html"), "{ok}");
        assert!(ok.ends_with("<p>hi</p>"), "{ok}");
        assert!(get("/nope").starts_with("HTTP/1.1 404"));
    }
}
