//! Events: everything kiln tells the user, and everything it writes to its log file, as dbt's
//! structured events.
//!
//! Each message is an [`Event`] with dbt's name and code (`LogModelResult`, `Q012`), a level and
//! a `data` object, so that programs written against dbt's JSON logs (`--log-format json`) read
//! kiln's unchanged. One process-wide logger sends each event to two sinks, as dbt does:
//!
//! - the console: stdout (kiln's diagnostics go to stderr), as text, dbt's `debug` lines or JSON,
//!   at `--log-level` (`info`; `error` with `--quiet`, `debug` with `--debug`);
//! - the log file `logs/dbt.log` in the project (or `--log-path`): `debug` level and dbt's debug
//!   line format by default, rotated at 10 MB with five old files kept, like dbt's.
//!
//! The logger is configured once per command from the flags ([`configure`]); the log file opens
//! when the project directory is known ([`attach_log_dir`]); events emitted before that wait in
//! memory and are written first.
//!
//! Secret values ([`secrets`]) are scrubbed from every line either sink writes.
//!
//! While a node runs, [`enter_node`] tags the worker thread, so events fired inside (each SQL
//! statement, a macro's `log()`) carry its `node_info` and thread name as dbt's do.

mod file;
pub mod kinds;
pub mod pyjson;
pub mod secrets;

pub use kinds::Kind;
pub use secrets::scrub;

use serde_json::{Map, Value as Json};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// How much an event matters; the sinks drop what is below their level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// How a sink writes each event: dbt's `text` (the message, node lines with the time), its
/// `debug` lines (time to the microsecond, level and thread), or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Debug,
    Json,
}

/// Where a console line goes. Diagnostics (kiln's rendered errors and warnings) go to stderr;
/// everything else to stdout, as dbt writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stream {
    #[default]
    Stdout,
    Stderr,
}

/// One thing to tell the user.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: Kind,
    pub level: Level,
    /// The message, plain.
    pub msg: String,
    /// The message with colour codes, for sinks that use colour.
    pub styled: Option<String>,
    pub data: Map<String, Json>,
    /// In text format, the line starts with the time (node progress lines).
    pub stamped: bool,
    /// Shown by the text console (JSON and debug formats and the log file show every event).
    pub in_text: bool,
    pub stream: Stream,
}

impl Event {
    pub fn new(kind: Kind, msg: impl Into<String>) -> Event {
        Event {
            kind,
            level: kind.level,
            msg: msg.into(),
            styled: None,
            data: Map::new(),
            stamped: false,
            in_text: true,
            stream: Stream::Stdout,
        }
    }

    /// A blank line (dbt's `Formatting` event).
    pub fn blank() -> Event {
        Event::new(kinds::FORMATTING, "").with("msg", "")
    }

    /// A free-form message (dbt's `Note`), with `data.msg`.
    pub fn note(msg: impl Into<String>) -> Event {
        let msg = msg.into();
        Event::new(kinds::NOTE, msg.clone()).with("msg", msg)
    }

    #[must_use]
    pub fn at(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }

    #[must_use]
    pub fn styled(mut self, styled: impl Into<String>) -> Self {
        self.styled = Some(styled.into());
        self
    }

    #[must_use]
    pub fn stamped(mut self) -> Self {
        self.stamped = true;
        self
    }

    /// Left out of the text console (kept in the other formats and the log file).
    #[must_use]
    pub fn not_in_text(mut self) -> Self {
        self.in_text = false;
        self
    }

    #[must_use]
    pub fn to_stderr(mut self) -> Self {
        self.stream = Stream::Stderr;
        self
    }

    pub fn emit(self) {
        emit(self);
    }

    fn text(&self, color: bool) -> &str {
        match (&self.styled, color) {
            (Some(s), true) => s,
            _ => &self.msg,
        }
    }
}

/// What the flags decided about logging.
#[derive(Debug, Clone)]
pub struct Settings {
    pub console_format: Format,
    /// `None`: nothing on the console (`--log-level none`).
    pub console_level: Option<Level>,
    pub color_stdout: bool,
    pub color_stderr: bool,
    pub file_format: Format,
    /// `None`: no log file (`--log-level-file none`).
    pub file_level: Option<Level>,
    pub file_color: bool,
    /// Rotate the log file before it reaches this size; 0: never.
    pub file_max_bytes: u64,
    /// `--log-path`; otherwise the project's `log-path` ([`attach_log_dir`]).
    pub log_path: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            console_format: Format::Text,
            console_level: Some(Level::Info),
            color_stdout: false,
            color_stderr: false,
            file_format: Format::Debug,
            file_level: Some(Level::Debug),
            file_color: false,
            file_max_bytes: file::DEFAULT_MAX_BYTES,
            log_path: None,
        }
    }
}

/// Lines kept for the log file until it opens; a command that never finds its project drops them.
const PENDING_LIMIT: usize = 10_000;

enum FileState {
    Pending(Vec<String>),
    Open(file::RotatingFile),
    Off,
}

struct Logger {
    settings: Settings,
    invocation_id: String,
    file: Mutex<FileState>,
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets up the logger for this process; the first call wins (the logger is process-wide, as
/// dbt's event manager is). With `--log-path` the log file opens at once.
pub fn configure(settings: Settings) {
    let explicit = settings.log_path.clone();
    let _ = LOGGER.set(Logger::new(settings));
    if let Some(dir) = explicit {
        open_log_dir(&dir);
    }
}

impl Logger {
    fn new(settings: Settings) -> Logger {
        let file = if settings.file_level.is_some() {
            FileState::Pending(vec![])
        } else {
            FileState::Off
        };
        Logger {
            settings,
            invocation_id: uuid::Uuid::new_v4().to_string(),
            file: Mutex::new(file),
            bar: Mutex::new(None),
        }
    }
}

fn logger() -> &'static Logger {
    LOGGER.get_or_init(|| Logger::new(Settings::default()))
}

/// The settings in force.
pub fn settings() -> &'static Settings {
    &logger().settings
}

/// This invocation's id: in every event, and in the artifacts' metadata.
pub fn invocation_id() -> String {
    logger().invocation_id.clone()
}

/// Opens the log file in the project's log directory (`dir`), unless `--log-path` chose one.
pub fn attach_log_dir(dir: &Path) {
    if logger().settings.log_path.is_some() {
        return;
    }
    open_log_dir(dir);
}

fn open_log_dir(dir: &Path) {
    let lg = logger();
    let Ok(mut state) = lg.file.lock() else {
        return;
    };
    let FileState::Pending(pending) = &mut *state else {
        return;
    };
    let pending = std::mem::take(pending);
    match file::RotatingFile::open(&dir.join("dbt.log"), lg.settings.file_max_bytes) {
        Ok(mut f) => {
            for line in &pending {
                f.write_line(line);
            }
            *state = FileState::Open(f);
        }
        // A log directory that cannot be written is not worth failing the command over.
        Err(e) => {
            *state = FileState::Off;
            drop(state);
            Event::note(format!(
                "cannot write the log file in {}: {e}; continuing without it",
                dir.display()
            ))
            .at(Level::Warn)
            .to_stderr()
            .emit();
        }
    }
}

/// Writes what the log file has buffered to disk.
pub fn flush() {
    if let Ok(mut state) = logger().file.lock()
        && let FileState::Open(f) = &mut *state
    {
        f.flush();
    }
}

/// The progress bar on the terminal, if any: console lines are printed above it.
pub fn set_progress_bar(bar: Option<indicatif::ProgressBar>) {
    if let Ok(mut b) = logger().bar.lock() {
        *b = bar;
    }
}

/// Writes text to stdout as it is (a table a macro prints): no level, no timestamp, not in the
/// log file, shown even with `--quiet`, as dbt's agate tables are.
pub fn print_raw(text: &str) {
    let text = scrub(text);
    write_console(Stream::Stdout, &text);
}

fn write_console(stream: Stream, line: &str) {
    let bar = logger().bar.lock().ok().and_then(|b| b.clone());
    let write = || match stream {
        Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
        Stream::Stderr => {
            let mut out = std::io::stderr().lock();
            let _ = writeln!(out, "{line}");
        }
    };
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Whether an event at `level` would be written anywhere: callers skip building costly debug
/// events (every statement's SQL) when nothing would show them.
pub fn enabled(level: Level) -> bool {
    let lg = logger();
    let console = lg.settings.console_level.is_some_and(|min| level >= min);
    let file = lg.settings.file_level.is_some_and(|min| level >= min)
        && !matches!(lg.file.lock().as_deref(), Ok(FileState::Off));
    console || file
}

/// Sends an event to the console and the log file, each at its level and in its format.
pub fn emit(mut event: Event) {
    let lg = logger();
    let s = &lg.settings;
    let thread = thread_name();
    // Only JSON lines show `data`; text lines need no node_info copied in.
    if s.console_format == Format::Json || s.file_format == Format::Json {
        CONTEXT.with(|c| {
            if let Some(ctx) = c.borrow().as_ref()
                && !event.data.contains_key("node_info")
            {
                event.data.insert("node_info".into(), ctx.node_info.clone());
            }
        });
    }
    let now = chrono::Utc::now();
    // `print()` is shown whatever the level, as dbt sends it at error level.
    let printed = event.kind == kinds::PRINT_EVENT;
    if let Some(min) = s.console_level
        && (event.level >= min || printed)
        && (event.in_text || s.console_format != Format::Text)
    {
        let color = match event.stream {
            Stream::Stdout => s.color_stdout,
            Stream::Stderr => s.color_stderr,
        };
        let line = match s.console_format {
            Format::Text if printed => event.msg.clone(),
            Format::Text if event.stamped => format!(
                "{}  {}",
                chrono::Local::now().format("%H:%M:%S"),
                event.text(color)
            ),
            Format::Text => event.text(color).to_string(),
            Format::Debug => debug_line(&event, &thread, color, &lg.invocation_id),
            Format::Json => json_line(&event, &thread, color, &lg.invocation_id, now),
        };
        write_console(event.stream, &scrub(&line));
    }
    if let Some(min) = s.file_level
        && event.level >= min
    {
        let Ok(mut state) = lg.file.lock() else {
            return;
        };
        if matches!(*state, FileState::Off) {
            return;
        }
        let line = match s.file_format {
            Format::Json => json_line(&event, &thread, s.file_color, &lg.invocation_id, now),
            Format::Text => format!(
                "{}  {}",
                chrono::Local::now().format("%H:%M:%S"),
                event.text(s.file_color)
            ),
            Format::Debug => debug_line(&event, &thread, s.file_color, &lg.invocation_id),
        };
        let line = scrub(&line);
        match &mut *state {
            FileState::Open(f) => {
                f.write_line(&line);
                if event.level == Level::Error {
                    f.flush();
                }
            }
            FileState::Pending(lines) if lines.len() < PENDING_LIMIT => lines.push(line),
            _ => {}
        }
    }
}

/// dbt's debug line: `12:00:01.123456 [info ] [MainThread]: message`; the first event of an
/// invocation is preceded by a banner with the invocation id, so runs stand apart in the file.
fn debug_line(event: &Event, thread: &str, color: bool, invocation_id: &str) -> String {
    let ts = chrono::Local::now().format("%H:%M:%S%.6f").to_string();
    let mut out = String::new();
    if event.kind == kinds::MAIN_REPORT_VERSION {
        let bar = "=".repeat(30);
        out.push_str(&format!("\n\n{bar} {ts} | {invocation_id} {bar}\n"));
    }
    let short: String = thread.chars().take(10).collect();
    out.push_str(&format!(
        "{}{ts} [{:<5}] [{short:<10}]: {}",
        if color { "\x1b[0m" } else { "" },
        event.level.as_str(),
        event.text(color)
    ));
    out
}

/// dbt's JSON line: `{"data": {...}, "info": {"category", "code", "extra", "invocation_id",
/// "level", "msg", "name", "pid", "thread", "ts"}}`, keys sorted, as Python's json.dumps writes it.
fn json_line(
    event: &Event,
    thread: &str,
    color: bool,
    invocation_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let info = serde_json::json!({
        "category": "",
        "code": event.kind.code,
        "extra": {},
        "invocation_id": invocation_id,
        "level": event.level.as_str(),
        "msg": event.text(color),
        "name": event.kind.name,
        "pid": std::process::id(),
        "thread": thread,
        "ts": now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    });
    let doc = serde_json::json!({"data": Json::Object(event.data.clone()), "info": info});
    let mut out = String::new();
    pyjson::write_sorted(&doc, &mut out);
    out
}

/// What the current thread is doing: the worker's name and the node it runs.
struct NodeContext {
    thread: String,
    node_info: Json,
}

thread_local! {
    static CONTEXT: RefCell<Option<NodeContext>> = const { RefCell::new(None) };
}

/// Marks the current thread as running a node until the guard is dropped: events fired meanwhile
/// carry `node_info` and the worker's name (`Thread-2 (worker)`).
pub fn enter_node(thread: String, node_info: Json) -> NodeScope {
    CONTEXT.with(|c| {
        *c.borrow_mut() = Some(NodeContext { thread, node_info });
    });
    NodeScope(())
}

/// See [`enter_node`].
pub struct NodeScope(());

impl Drop for NodeScope {
    fn drop(&mut self) {
        CONTEXT.with(|c| *c.borrow_mut() = None);
    }
}

/// The unique_id of the node the current thread runs, if any.
pub fn current_node() -> Option<String> {
    CONTEXT.with(|c| {
        c.borrow()
            .as_ref()
            .and_then(|x| x.node_info["unique_id"].as_str().map(String::from))
    })
}

/// The name dbt would give this thread: `MainThread`, or the worker's.
fn thread_name() -> String {
    if let Some(name) = CONTEXT.with(|c| c.borrow().as_ref().map(|x| x.thread.clone())) {
        return name;
    }
    match std::thread::current().name() {
        Some("main") | None => "MainThread".into(),
        Some(other) => other.to_string(),
    }
}

/// `text` in an ANSI colour (`"32"` green, `"31"` red, `"33"` yellow).
pub fn paint(code: &str, text: &str) -> String {
    format!("\x1b[{code}m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_lines_have_time_level_and_thread_as_dbt_writes_them() {
        let e = Event::new(kinds::NOTE, "hello");
        let line = debug_line(&e, "Thread-12 (worker)", false, "id");
        let re =
            regex::Regex::new(r"^\d\d:\d\d:\d\d\.\d{6} \[info \] \[Thread-12 \]: hello$").unwrap();
        assert!(re.is_match(&line), "{line}");
        let v = Event::new(kinds::MAIN_REPORT_VERSION, "Running");
        let banner = debug_line(&v, "MainThread", true, "abc");
        assert!(banner.starts_with("\n\n============================== "));
        assert!(banner.contains(" | abc ==="), "{banner}");
        assert!(banner.contains("\x1b[0m"), "{banner}");
    }

    #[test]
    fn json_lines_have_dbts_envelope_with_sorted_keys() {
        let e = Event::new(kinds::STATS_LINE, "Done.")
            .with("stats", serde_json::json!({"warn": 0, "error": 1}));
        let line = json_line(&e, "MainThread", false, "id-1", chrono::Utc::now());
        assert!(
            line.starts_with(r#"{"data": {"stats": {"error": 1, "warn": 0}}, "info": {"category": "", "code": "Z023", "extra": {}, "invocation_id": "id-1", "level": "info", "msg": "Done.", "name": "StatsLine", "pid": "#),
            "{line}"
        );
        let v: Json = serde_json::from_str(&line).unwrap();
        assert_eq!(v["info"]["thread"], "MainThread");
    }

    #[test]
    fn coloured_messages_only_where_colour_is_on() {
        let e = Event::new(kinds::NOTE, "OK").styled(paint("32", "OK"));
        assert_eq!(e.text(false), "OK");
        assert_eq!(e.text(true), "\x1b[32mOK\x1b[0m");
    }
}
