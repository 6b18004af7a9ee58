//! Just enough HTTP/1.1 for the test harness: reading one message (head and body, with
//! `Content-Length`, `Transfer-Encoding: chunked` or, for an answer to a `Connection: close`
//! request, up to the end of the stream), and sending one request to moto on a fresh connection.
//! The AWS SDK speaks HTTP/1.1 to a plain `http://` endpoint, so nothing more is needed.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

/// One HTTP message: the start line, the headers in order, the body.
#[derive(Debug, Clone)]
pub struct Message {
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// The status code of a response.
    pub fn status(&self) -> u16 {
        self.start
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The message as bytes, its body framed by `Content-Length`.
    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (k, v) in &self.headers {
            let skip = ["content-length", "transfer-encoding", "connection"];
            if !skip.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        let connection = if keep_alive { "keep-alive" } else { "close" };
        out.push_str(&format!("Connection: {connection}\r\n\r\n"));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Reads one message; `None` when the peer closed the connection before sending one.
/// `to_eof`: a message without a length runs to the end of the stream (a response to a
/// `Connection: close` request); otherwise it has no body (a request).
pub fn read_message<R: Read>(r: &mut BufReader<R>, to_eof: bool) -> io::Result<Option<Message>> {
    let mut start = String::new();
    if r.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let start = start.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "headers cut"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut m = Message {
        start,
        headers,
        body: Vec::new(),
    };
    let chunked = m
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let size = size.trim().split(';').next().unwrap_or("0");
            let n = usize::from_str_radix(size, 16)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if n == 0 {
                // trailers, then the empty line
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; n];
            r.read_exact(&mut chunk)?;
            m.body.extend_from_slice(&chunk);
            let mut crlf = [0; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = m.header("content-length") {
        let n: usize = n
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        m.body = vec![0; n];
        r.read_exact(&mut m.body)?;
    } else if to_eof {
        r.read_to_end(&mut m.body)?;
    }
    Ok(Some(m))
}

/// Sends `request` to `addr` on a connection of its own and reads the answer.
pub fn send(addr: SocketAddr, request: &Message) -> io::Result<Message> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(&request.to_bytes(false))?;
    stream.flush()?;
    let mut reader = BufReader::new(stream);
    read_message(&mut reader, true)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"))
}

/// A request with a body.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Message {
    let mut h: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    h.push(("Host".into(), "127.0.0.1".into()));
    Message {
        start: format!("{method} {path} HTTP/1.1"),
        headers: h,
        body: body.to_vec(),
    }
}
