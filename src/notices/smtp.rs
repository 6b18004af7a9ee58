//! A small SMTP client (RFC 5321) on a std `TcpStream`: EHLO, STARTTLS (RFC 3207) or TLS from
//! the start, AUTH PLAIN or LOGIN, MAIL/RCPT/DATA with dot-stuffing, QUIT; a timeout on every
//! connect, read and write. TLS is rustls with the public roots (webpki-roots) and, when
//! configured, the certificates of a private CA.
//!
//! It never downgrades: when STARTTLS is asked and the server does not offer it, nothing is
//! sent. A password goes over an unencrypted connection only to a loopback address (as Go's
//! `net/smtp` does). Errors name the step and the server's answer, never a credential.

use super::config::{EmailConfig, Security};
use super::message::base64;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(t) => t.flush(),
        }
    }
}

/// One conversation with the server.
struct Session {
    stream: Option<Stream>,
    /// Bytes read but not yet taken as lines.
    buf: Vec<u8>,
    host: String,
}

/// A server's reply: its code and the text of its lines.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }
}

/// The longest reply line kiln reads (RFC 5321 allows 512 bytes; some servers send more).
const MAX_LINE: usize = 64 * 1024;

impl Session {
    fn stream(&mut self) -> Result<&mut Stream, String> {
        self.stream
            .as_mut()
            .ok_or_else(|| "the connection is closed".to_string())
    }

    fn read_line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Ok(String::from_utf8_lossy(&line)
                    .trim_end_matches(['\r', '\n'])
                    .to_string());
            }
            if self.buf.len() > MAX_LINE {
                return Err("the server sent a line longer than 64 KB".into());
            }
            let mut chunk = [0u8; 4096];
            let n = self
                .stream()?
                .read(&mut chunk)
                .map_err(|e| io_problem("reading the server's reply", &e))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn reply(&mut self) -> Result<Reply, String> {
        let mut lines = vec![];
        loop {
            let line = self.read_line()?;
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| {
                    format!(
                        "the server's reply is not SMTP: '{}'",
                        super::cut(&line, 80)
                    )
                })?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_string());
            if !more {
                return Ok(Reply { code, lines });
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stream = self.stream()?;
        stream
            .write_all(bytes)
            .and_then(|()| stream.flush())
            .map_err(|e| io_problem("writing to the server", &e))
    }

    /// Sends `line` and reads the reply, which must have one of the `ok` codes; `shown` names
    /// the command in an error (never its arguments when they are credentials).
    fn command(&mut self, line: &str, shown: &str, ok: &[u16]) -> Result<Reply, String> {
        self.write(format!("{line}\r\n").as_bytes())?;
        let reply = self.reply()?;
        if ok.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(format!(
                "{} answered {} to {shown}",
                self.host,
                reply.text()
            ))
        }
    }

    /// Wraps the connection in TLS and completes the handshake.
    fn start_tls(&mut self, config: &EmailConfig) -> Result<(), String> {
        if !self.buf.is_empty() {
            // Bytes sent before the handshake could be commands injected in clear.
            return Err(format!(
                "{} sent data before the TLS handshake: not continuing",
                self.host
            ));
        }
        let Some(Stream::Plain(tcp)) = self.stream.take() else {
            return Err("the connection is already encrypted".into());
        };
        let tls = tls_config(config.ca_file.as_deref())?;
        let name = rustls::pki_types::ServerName::try_from(config.host.clone())
            .map_err(|e| format!("'{}' is not a host name TLS can check: {e}", config.host))?;
        let conn = rustls::ClientConnection::new(tls, name)
            .map_err(|e| format!("cannot start TLS: {e}"))?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .map_err(|e| io_problem("the TLS handshake", &e))?;
        }
        self.stream = Some(Stream::Tls(Box::new(stream)));
        Ok(())
    }

    /// EHLO with the client's address literal; the extensions the server offers (upper case).
    fn ehlo(&mut self) -> Result<Vec<String>, String> {
        let local = self
            .stream()?
            .tcp()
            .local_addr()
            .map(|a| match a.ip() {
                IpAddr::V4(ip) => format!("[{ip}]"),
                IpAddr::V6(ip) => format!("[IPv6:{ip}]"),
            })
            .unwrap_or_else(|_| "[127.0.0.1]".into());
        let reply = self.command(&format!("EHLO {local}"), "EHLO", &[250])?;
        Ok(reply
            .lines
            .iter()
            .skip(1)
            .map(|l| l.to_ascii_uppercase())
            .collect())
    }
}

fn io_problem(step: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("timed out {step}")
        }
        _ => format!("{step} failed: {e}"),
    }
}

/// rustls' client settings: the public roots, and `ca_file`'s certificates when given.
fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(file) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                format!(
                    "cannot read the certificates of ca_file {}: {e}",
                    file.display()
                )
            })?;
        if certs.is_empty() {
            return Err(format!(
                "ca_file {} holds no PEM certificate",
                file.display()
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {}: {e}", file.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn connect(config: &EmailConfig) -> Result<TcpStream, String> {
    let addresses = (config.host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", config.host))?;
    let mut last = format!("{} has no address", config.host);
    for address in addresses {
        match TcpStream::connect_timeout(&address, config.timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(config.timeout))
                    .and_then(|()| s.set_write_timeout(Some(config.timeout)))
                    .map_err(|e| format!("cannot set timeouts: {e}"))?;
                return Ok(s);
            }
            Err(e) => last = io_problem(&format!("connecting to {address}"), &e),
        }
    }
    Err(last)
}

/// `message` (headers and body, lines ending in CRLF) with every line that starts with a dot
/// doubled, then the end-of-data line (RFC 5321 4.5.2).
pub fn dot_stuffed(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 8);
    for line in message.split_inclusive('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

/// Sends `message` to every recipient of `config`.
pub fn send(config: &EmailConfig, message: &str) -> Result<(), String> {
    let tcp = connect(config)?;
    let loopback = tcp.peer_addr().is_ok_and(|a| a.ip().is_loopback());
    let mut s = Session {
        stream: Some(Stream::Plain(tcp)),
        buf: vec![],
        host: format!("the server {}:{}", config.host, config.port),
    };
    if config.security == Security::Tls {
        s.start_tls(config)?;
    }
    let greeting = s.reply()?;
    if greeting.code != 220 {
        return Err(format!("{} greeted with {}", s.host, greeting.text()));
    }
    let mut extensions = s.ehlo()?;
    if config.security == Security::StartTls {
        if !extensions.iter().any(|e| e == "STARTTLS") {
            return Err(format!(
                "{} does not offer STARTTLS: nothing was sent in clear (set `security: tls` for a TLS port, or `security: none` for a trusted relay)",
                s.host
            ));
        }
        s.command("STARTTLS", "STARTTLS", &[220])?;
        s.start_tls(config)?;
        extensions = s.ehlo()?;
    }
    if let Some(user) = &config.username {
        let password = config.password.clone().unwrap_or_default();
        let encrypted = matches!(s.stream, Some(Stream::Tls(_)));
        if !encrypted && !loopback {
            return Err(format!(
                "not sending the SMTP password to {} over an unencrypted connection: set `security: starttls` or `tls`",
                config.host
            ));
        }
        let mechanisms: Vec<String> = extensions
            .iter()
            .filter_map(|e| e.strip_prefix("AUTH").map(str::trim))
            .flat_map(|m| {
                m.trim_start_matches('=')
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        if mechanisms.iter().any(|m| m == "PLAIN") {
            let token = base64(format!("\0{user}\0{password}").as_bytes());
            s.command(&format!("AUTH PLAIN {token}"), "AUTH PLAIN", &[235])?;
        } else if mechanisms.iter().any(|m| m == "LOGIN") {
            s.command("AUTH LOGIN", "AUTH LOGIN", &[334])?;
            s.command(&base64(user.as_bytes()), "AUTH LOGIN (user name)", &[334])?;
            s.command(
                &base64(password.as_bytes()),
                "AUTH LOGIN (password)",
                &[235],
            )?;
        } else if mechanisms.is_empty() {
            return Err(format!(
                "{} does not offer AUTH, but a username is set: remove it, or use the server's submission port",
                s.host
            ));
        } else {
            return Err(format!(
                "{} offers AUTH {}, and kiln speaks PLAIN and LOGIN",
                s.host,
                mechanisms.join(" ")
            ));
        }
    }
    let body = if extensions.iter().any(|e| e == "8BITMIME") {
        " BODY=8BITMIME"
    } else {
        ""
    };
    s.command(
        &format!("MAIL FROM:<{}>{body}", config.from),
        "MAIL FROM",
        &[250],
    )?;
    for to in &config.to {
        s.command(
            &format!("RCPT TO:<{to}>"),
            &format!("RCPT TO:<{to}>"),
            &[250, 251],
        )?;
    }
    s.command("DATA", "DATA", &[354])?;
    s.write(dot_stuffed(message).as_bytes())?;
    let reply = s.reply()?;
    if reply.code != 250 {
        return Err(format!("{} refused the message: {}", s.host, reply.text()));
    }
    // The message is accepted; a failed goodbye changes nothing.
    let _ = s.command("QUIT", "QUIT", &[221]);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_starting_with_a_dot_are_doubled() {
        assert_eq!(
            super::dot_stuffed("a\r\n.b\r\n..c\r\n.\r\nd"),
            "a\r\n..b\r\n...c\r\n..\r\nd\r\n.\r\n"
        );
    }
}
