//! What a notice says, as a subject, a plain-text body, an RFC 5322 e-mail and a
//! Slack-compatible webhook body (`text` for clients that read only that, `blocks` for Slack).
//! Every text is scrubbed of secrets before it leaves.

use super::config::EmailConfig;
use super::{Failure, Notice};
use serde_json::{Value, json};

/// The most failures listed one by one; the rest are counted (the results file has them all).
const LISTED: usize = 25;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn when(notice: &Notice) -> String {
    let mut s = format!(
        "started {}",
        notice.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(e) = notice.elapsed {
        s.push_str(&format!(", took {e:.1} s"));
    }
    s
}

/// `[kiln] build failed in kiln_demo (target dev): 2 failures`.
pub fn subject(notice: &Notice) -> String {
    crate::events::secrets::scrub(&format!(
        "[kiln] {} failed in {} (target {}): {}",
        notice.command,
        notice.project,
        notice.target,
        plural(notice.failures.len(), "failure", "failures")
    ))
}

fn owner_line(f: &Failure) -> Option<String> {
    match (&f.owner, &f.contact) {
        (Some(o), Some(c)) => Some(format!("owner: {o}, on call: {c}")),
        (Some(o), None) => Some(format!("owner: {o}")),
        (None, Some(c)) => Some(format!("on call: {c}")),
        (None, None) => None,
    }
}

/// The plain-text body: the run, then each failure with its file, owners and message.
pub fn text(notice: &Notice) -> String {
    let mut out = format!(
        "kiln {} failed in project {} (target {}).\n\nRun: {}, invocation {}.\nResults: {}\n",
        notice.command,
        notice.project,
        notice.target,
        when(notice),
        notice.invocation_id,
        notice.results
    );
    out.push_str(&format!(
        "\n{}:\n",
        plural(notice.failures.len(), "failure", "failures")
    ));
    for (i, f) in notice.failures.iter().take(LISTED).enumerate() {
        out.push_str(&format!(
            "\n{}. {} {} ({})\n",
            i + 1,
            f.resource_type,
            f.name,
            f.status
        ));
        if let Some(file) = &f.file {
            out.push_str(&format!("   file: {file}\n"));
        }
        if let Some(o) = owner_line(f) {
            out.push_str(&format!("   {o}\n"));
        }
        if !f.message.is_empty() {
            let mut lines = f.message.lines();
            if let Some(first) = lines.next() {
                out.push_str(&format!("   message: {first}\n"));
            }
            for l in lines {
                out.push_str(&format!("     {l}\n"));
            }
        }
    }
    if notice.failures.len() > LISTED {
        out.push_str(&format!(
            "\n... and {} more (see the results).\n",
            notice.failures.len() - LISTED
        ));
    }
    if notice.skipped > 0 {
        out.push_str(&format!(
            "\n{} skipped because something upstream failed.\n",
            plural(notice.skipped, "node was", "nodes were")
        ));
    }
    crate::events::secrets::scrub(&out)
}

/// Text for Slack's mrkdwn: `&`, `<` and `>` escaped.
fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The webhook's JSON: Slack's incoming-webhook shape (`text`, and `blocks` with a header, the
/// run, one section per failure and a count of the rest), which Mattermost, Rocket.Chat and
/// most chat bridges also take.
pub fn slack(notice: &Notice) -> Value {
    let header = super::cut(&subject(notice), 140);
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": header}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(&format!(
            "*Run:* {}, invocation `{}`\n*Results:* {}",
            when(notice), notice.invocation_id, notice.results
        ))}}),
    ];
    for f in notice.failures.iter().take(LISTED) {
        let mut s = format!("*{} {}* ({})", f.resource_type, mrkdwn(&f.name), f.status);
        if let Some(file) = &f.file {
            s.push_str(&format!("\nfile: `{}`", mrkdwn(file)));
        }
        if let Some(o) = owner_line(f) {
            s.push_str(&format!("\n{}", mrkdwn(&o)));
        }
        if !f.message.is_empty() {
            s.push_str(&format!(
                "\n```{}```",
                mrkdwn(&super::cut(&f.message, 2500))
            ));
        }
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": s}}));
    }
    let mut rest = vec![];
    if notice.failures.len() > LISTED {
        rest.push(format!(
            "{} more failures in the results",
            notice.failures.len() - LISTED
        ));
    }
    if notice.skipped > 0 {
        rest.push(format!(
            "{} skipped because something upstream failed",
            plural(notice.skipped, "node", "nodes")
        ));
    }
    if !rest.is_empty() {
        blocks.push(
            json!({"type": "context", "elements": [{"type": "mrkdwn", "text": rest.join("; ")}]}),
        );
    }
    let fallback = format!(
        "{}\n{}",
        subject(notice),
        notice
            .failures
            .iter()
            .take(LISTED)
            .map(|f| {
                let mut line = format!("• {} {} ({})", f.resource_type, f.name, f.status);
                if let Some(o) = owner_line(f) {
                    line.push_str(&format!(", {o}"));
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n")
    );
    let body = json!({"text": fallback, "blocks": blocks});
    // Scrubbed as text, then read back: a secret in any field is gone.
    serde_json::from_str(&crate::events::secrets::scrub(&body.to_string())).unwrap_or(body)
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A header value: as it is when ASCII, else an RFC 2047 encoded word.
fn header_text(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.is_ascii() {
        clean
    } else {
        format!("=?UTF-8?B?{}?=", base64(clean.as_bytes()))
    }
}

/// The e-mail: headers and the body, lines ending in CRLF and none longer than SMTP allows
/// (998 bytes; longer ones are wrapped), sent as 8-bit UTF-8 text.
pub fn email(
    config: &EmailConfig,
    subject: &str,
    body: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let domain = config.from.rsplit('@').next().unwrap_or("kiln.invalid");
    let mut out = String::new();
    for (k, v) in [
        ("From", config.from.clone()),
        ("To", config.to.join(", ")),
        ("Subject", header_text(subject)),
        (
            "Date",
            now.format("%a, %d %b %Y %H:%M:%S +0000").to_string(),
        ),
        (
            "Message-ID",
            format!("<{}@{domain}>", uuid::Uuid::new_v4().simple()),
        ),
        ("MIME-Version", "1.0".into()),
        ("Content-Type", "text/plain; charset=utf-8".into()),
        ("Content-Transfer-Encoding", "8bit".into()),
        (
            "X-Mailer",
            concat!("kiln/", env!("CARGO_PKG_VERSION")).into(),
        ),
    ] {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    for line in body.lines() {
        let mut rest = line.trim_end_matches('\r');
        loop {
            if rest.len() <= 900 {
                out.push_str(rest);
                out.push_str("\r\n");
                break;
            }
            let mut at = 900;
            while !rest.is_char_boundary(at) {
                at -= 1;
            }
            out.push_str(&rest[..at]);
            out.push_str("\r\n");
            rest = &rest[at..];
        }
    }
    crate::events::secrets::scrub(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_rfc_4648_writes_it() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("\0user\0pass", "AHVzZXIAcGFzcw=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
        assert_eq!(header_text("café"), "=?UTF-8?B?Y2Fmw6k=?=");
        assert_eq!(header_text("a\r\nBcc: x"), "aBcc: x");
    }
}
