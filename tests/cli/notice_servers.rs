//! An SMTP server and an HTTP server on 127.0.0.1, written for the tests of failure notices
//! (tests/run/notices.rs, tests/demo.rs): they record what they receive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What the SMTP server received in one session.
#[derive(Debug, Default, Clone)]
pub struct Mail {
    /// Each command line as received (AUTH arguments included: the server checks them).
    pub commands: Vec<String>,
    /// Whether the session was encrypted when MAIL FROM came.
    pub tls_at_mail: bool,
    /// The user name and password AUTH carried, decoded.
    pub auth: Option<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    /// The message, dot-stuffing undone.
    pub data: String,
}

trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

fn b64_decode(text: &str) -> Vec<u8> {
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = vec![];
    for c in text.trim().bytes().filter(|c| *c != b'=') {
        let v = table.iter().position(|t| *t == c).expect("base64") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// An SMTP server on 127.0.0.1: one session per connection, recorded in the returned list.
/// `tls`: it offers STARTTLS with this certificate and key. It offers AUTH PLAIN and LOGIN.
pub fn smtp_server(tls: Option<(&Path, &Path)>) -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(vec![]));
    let kept = seen.clone();
    let server = tls.map(|(cert, key)| {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(cert)
            .expect("cert")
            .collect::<Result<Vec<_>, _>>()
            .expect("certs");
        let key = PrivateKeyDer::from_pem_file(key).expect("key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .expect("server config"),
        )
    });
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mail = session(stream, server.clone());
            kept.lock().expect("lock").push(mail);
        }
    });
    (port, seen)
}

fn session(tcp: TcpStream, tls: Option<Arc<rustls::ServerConfig>>) -> Mail {
    let mut mail = Mail::default();
    let mut encrypted = false;
    let mut conn: BufReader<Box<dyn Conn>> =
        BufReader::new(Box::new(tcp.try_clone().expect("clone")));
    let send = |conn: &mut BufReader<Box<dyn Conn>>, text: &str| {
        let _ = conn.get_mut().write_all(format!("{text}\r\n").as_bytes());
        let _ = conn.get_mut().flush();
    };
    send(&mut conn, "220 test.local ESMTP ready");
    let mut line = String::new();
    let read = |conn: &mut BufReader<Box<dyn Conn>>, line: &mut String| {
        line.clear();
        conn.read_line(line).map(|n| n > 0).unwrap_or(false)
    };
    while read(&mut conn, &mut line) {
        let cmd = line.trim_end().to_string();
        mail.commands.push(cmd.clone());
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            let mut lines = vec!["250-test.local".to_string()];
            if tls.is_some() && !encrypted {
                lines.push("250-STARTTLS".into());
            }
            lines.push("250-8BITMIME".into());
            lines.push("250 AUTH PLAIN LOGIN".into());
            send(&mut conn, &lines.join("\r\n"));
        } else if upper == "STARTTLS" {
            let Some(config) = tls.clone() else {
                send(&mut conn, "502 not offered");
                continue;
            };
            send(&mut conn, "220 go ahead");
            let server = rustls::ServerConnection::new(config).expect("server connection");
            let stream = rustls::StreamOwned::new(server, tcp.try_clone().expect("clone"));
            conn = BufReader::new(Box::new(stream));
            encrypted = true;
        } else if let Some(token) = upper.strip_prefix("AUTH PLAIN ") {
            let token = &cmd[cmd.len() - token.len()..];
            let plain = String::from_utf8(b64_decode(token)).expect("utf-8");
            let parts: Vec<&str> = plain.split('\0').collect();
            mail.auth = Some((parts[1].to_string(), parts[2].to_string()));
            send(&mut conn, "235 ok");
        } else if upper == "AUTH LOGIN" {
            send(&mut conn, "334 VXNlcm5hbWU6");
            read(&mut conn, &mut line);
            let user = String::from_utf8(b64_decode(&line)).expect("utf-8");
            send(&mut conn, "334 UGFzc3dvcmQ6");
            read(&mut conn, &mut line);
            let pass = String::from_utf8(b64_decode(&line)).expect("utf-8");
            mail.auth = Some((user, pass));
            send(&mut conn, "235 ok");
        } else if upper.starts_with("MAIL FROM:") {
            mail.tls_at_mail = encrypted;
            mail.from = cmd[10..]
                .split('>')
                .next()
                .unwrap_or("")
                .trim_start_matches('<')
                .into();
            send(&mut conn, "250 ok");
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(cmd[8..].trim_matches(['<', '>']).into());
            send(&mut conn, "250 ok");
        } else if upper == "DATA" {
            send(&mut conn, "354 end with .");
            loop {
                if !read(&mut conn, &mut line) {
                    break;
                }
                let l = line.trim_end_matches(['\r', '\n']);
                if l == "." {
                    break;
                }
                mail.data.push_str(l.strip_prefix('.').unwrap_or(l));
                mail.data.push('\n');
            }
            send(&mut conn, "250 queued");
        } else if upper == "QUIT" {
            send(&mut conn, "221 bye");
            break;
        } else {
            send(&mut conn, "500 unknown");
        }
    }
    mail
}

/// An HTTP server on 127.0.0.1 answering 200 to every POST; the bodies it received.
pub fn http_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/hooks/T000/B000/kilnsecrethook",
        listener.local_addr().expect("addr")
    );
    let seen = Arc::new(Mutex::new(vec![]));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            kept.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&body).into_owned());
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (url, seen)
}
