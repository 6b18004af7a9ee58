//! `modules.datetime`, `modules.re` and `modules.pytz`: the Python modules dbt exposes to Jinja,
//! reimplemented over chrono and regex for the calls analysts make.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use minijinja::value::{Kwargs, Object, Value, from_args};
use minijinja::{Error, ErrorKind, State};
use std::fmt;
use std::sync::Arc;

pub fn modules() -> Value {
    Value::from_pairs([
        ("datetime", Value::from_object(DatetimeModule)),
        ("re", Value::from_object(ReModule)),
        ("pytz", Value::from_object(PytzModule)),
    ])
}

fn err(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, m.into())
}

/// Python strftime codes that differ from chrono's.
fn py_format(fmt: &str) -> String {
    fmt.replace("%f", "%6f")
}

#[derive(Debug)]
struct DatetimeModule;

impl Object for DatetimeModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "datetime" => Value::from_object(DatetimeClass),
            "date" => Value::from_object(DateClass),
            "timedelta" => Value::from_function(|kwargs: Kwargs| -> Result<Value, Error> {
                let mut secs = 0f64;
                for (k, mult) in [
                    ("weeks", 604_800.0),
                    ("days", 86_400.0),
                    ("hours", 3600.0),
                    ("minutes", 60.0),
                    ("seconds", 1.0),
                ] {
                    if let Some(v) = kwargs.get::<Option<f64>>(k)? {
                        secs += v * mult;
                    }
                }
                Ok(Value::from(Timedelta(secs)))
            }),
            "timezone" => Value::from_pairs([("utc", Value::from("UTC"))]),
            _ => return None,
        })
    }
}

/// A time span; `str()` renders like Python's.
#[derive(Debug, Clone, Copy)]
struct Timedelta(f64);

impl From<Timedelta> for Value {
    fn from(t: Timedelta) -> Value {
        Value::from_object(TimedeltaObj(t.0))
    }
}

#[derive(Debug)]
struct TimedeltaObj(f64);

impl Object for TimedeltaObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "days" => Value::from((self.0 / 86_400.0).floor() as i64),
            "seconds" => Value::from((self.0 % 86_400.0) as i64),
            _ => return None,
        })
    }
    fn call_method(
        self: &Arc<Self>,
        _s: &mut State<'_, '_>,
        m: &str,
        _a: &[Value],
    ) -> Result<Value, Error> {
        match m {
            "total_seconds" => Ok(Value::from(self.0)),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

#[derive(Debug)]
struct DatetimeClass;

impl Object for DatetimeClass {
    fn call_method(
        self: &Arc<Self>,
        _s: &mut State<'_, '_>,
        m: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match m {
            "now" | "utcnow" => Ok(DateTimeObj::value(Utc::now())),
            "strptime" => {
                let (s, f): (String, String) = from_args(args)?;
                let f = py_format(&f);
                if let Ok(dt) = NaiveDateTime::parse_from_str(&s, &f) {
                    return Ok(DateTimeObj::value(Utc.from_utc_datetime(&dt)));
                }
                let d = NaiveDate::parse_from_str(&s, &f)
                    .map_err(|e| err(format!("strptime('{s}'): {e}")))?;
                Ok(DateTimeObj::value(Utc.from_utc_datetime(
                    &d.and_hms_opt(0, 0, 0).unwrap_or_default(),
                )))
            }
            "fromisoformat" => {
                let (s,): (String,) = from_args(args)?;
                parse_iso(&s).map(DateTimeObj::value)
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("datetime has no '{m}'"),
            )),
        }
    }
    fn call(self: &Arc<Self>, _s: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (y, mo, d, rest): (i32, u32, u32, minijinja::value::Rest<u32>) = from_args(args)?;
        let (h, mi, se) = (
            rest.first().copied(),
            rest.get(1).copied(),
            rest.get(2).copied(),
        );
        let dt = NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h.unwrap_or(0), mi.unwrap_or(0), se.unwrap_or(0)))
            .ok_or_else(|| err("datetime(): invalid date"))?;
        Ok(DateTimeObj::value(Utc.from_utc_datetime(&dt)))
    }
}

fn parse_iso(s: &str) -> Result<DateTime<Utc>, Error> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(Utc.from_utc_datetime(&dt));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()))
        .map_err(|e| err(format!("fromisoformat('{s}'): {e}")))
}

#[derive(Debug)]
struct DateClass;

impl Object for DateClass {
    fn call_method(
        self: &Arc<Self>,
        _s: &mut State<'_, '_>,
        m: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match m {
            "today" => Ok(DateObj::value(Utc::now().date_naive())),
            "fromisoformat" => {
                let (s,): (String,) = from_args(args)?;
                NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map(DateObj::value)
                    .map_err(|e| err(format!("date.fromisoformat('{s}'): {e}")))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("date has no '{m}'"),
            )),
        }
    }
    fn call(self: &Arc<Self>, _s: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (y, m, d): (i32, u32, u32) = from_args(args)?;
        NaiveDate::from_ymd_opt(y, m, d)
            .map(DateObj::value)
            .ok_or_else(|| err("date(): invalid date"))
    }
}

/// A point in time (UTC), as `run_started_at` and `datetime.now()` return.
#[derive(Debug, Clone)]
pub struct DateTimeObj(pub DateTime<Utc>);

impl DateTimeObj {
    pub fn value(dt: DateTime<Utc>) -> Value {
        Value::from_object(DateTimeObj(dt))
    }
    fn shift(&self, td: &Value, sign: f64) -> Result<Value, Error> {
        let secs = td
            .downcast_object_ref::<TimedeltaObj>()
            .map(|t| t.0)
            .ok_or_else(|| err("expected a timedelta"))?;
        Ok(DateTimeObj::value(
            self.0 + Duration::milliseconds((sign * secs * 1000.0) as i64),
        ))
    }
}

impl Object for DateTimeObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        use chrono::{Datelike, Timelike};
        Some(match key.as_str()? {
            "year" => Value::from(self.0.year()),
            "month" => Value::from(self.0.month()),
            "day" => Value::from(self.0.day()),
            "hour" => Value::from(self.0.hour()),
            "minute" => Value::from(self.0.minute()),
            "second" => Value::from(self.0.second()),
            "microsecond" => Value::from(self.0.timestamp_subsec_micros()),
            "tzinfo" => Value::from("UTC"),
            _ => return None,
        })
    }
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d %H:%M:%S%.6f+00:00"))
    }
    fn call_method(
        self: &Arc<Self>,
        _s: &mut State<'_, '_>,
        m: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match m {
            "strftime" => {
                let (f,): (String,) = from_args(args)?;
                Ok(Value::from(self.0.format(&py_format(&f)).to_string()))
            }
            "isoformat" => Ok(Value::from(
                self.0.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
            )),
            "date" => Ok(DateObj::value(self.0.date_naive())),
            "timestamp" => Ok(Value::from(
                self.0.timestamp() as f64 + f64::from(self.0.timestamp_subsec_micros()) / 1e6,
            )),
            "astimezone" | "replace" => Ok(Value::from_object((**self).clone())),
            "add" => self.shift(args.first().unwrap_or(&Value::UNDEFINED), 1.0),
            "subtract" => self.shift(args.first().unwrap_or(&Value::UNDEFINED), -1.0),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("datetime has no '{m}'"),
            )),
        }
    }
}

#[derive(Debug, Clone)]
struct DateObj(NaiveDate);

impl DateObj {
    fn value(d: NaiveDate) -> Value {
        Value::from_object(DateObj(d))
    }
}

impl Object for DateObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        use chrono::Datelike;
        Some(match key.as_str()? {
            "year" => Value::from(self.0.year()),
            "month" => Value::from(self.0.month()),
            "day" => Value::from(self.0.day()),
            _ => return None,
        })
    }
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
    fn call_method(
        self: &Arc<Self>,
        _s: &mut State<'_, '_>,
        m: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match m {
            "strftime" => {
                let (f,): (String,) = from_args(args)?;
                Ok(Value::from(self.0.format(&py_format(&f)).to_string()))
            }
            "isoformat" => Ok(Value::from(self.0.format("%Y-%m-%d").to_string())),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("date has no '{m}'"),
            )),
        }
    }
}

#[derive(Debug)]
struct PytzModule;

impl Object for PytzModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "utc" | "UTC" => Some(Value::from("UTC")),
            _ => None,
        }
    }
    fn call_method(
        self: &Arc<Self>,
        _s: &mut State<'_, '_>,
        m: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match m {
            "timezone" => Ok(args.first().cloned().unwrap_or(Value::from("UTC"))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

#[derive(Debug)]
struct ReModule;

fn compile_re(pattern: &str, flags: i64) -> Result<regex::Regex, Error> {
    let mut b = regex::RegexBuilder::new(pattern);
    b.case_insensitive(flags & 2 != 0)
        .multi_line(flags & 8 != 0)
        .dot_matches_new_line(flags & 16 != 0);
    b.build()
        .map_err(|e| err(format!("invalid regular expression: {e}")))
}

fn re_call(re: &regex::Regex, m: &str, args: &[Value]) -> Result<Value, Error> {
    match m {
        "match" | "search" | "fullmatch" => {
            let (s,): (String,) = from_args(args)?;
            let found = re.captures(&s).filter(|c| {
                let whole = c.get(0).map_or(0..0, |g| g.range());
                match m {
                    "match" => whole.start == 0,
                    "fullmatch" => whole.start == 0 && whole.end == s.len(),
                    _ => true,
                }
            });
            Ok(match found {
                Some(c) => Value::from_object(MatchObj(
                    c.iter()
                        .map(|g| g.map(|g| g.as_str().to_string()))
                        .collect(),
                )),
                None => Value::from(()),
            })
        }
        "findall" => {
            let (s,): (String,) = from_args(args)?;
            let out: Vec<Value> = re
                .captures_iter(&s)
                .map(|c| {
                    if c.len() == 1 {
                        Value::from(c.get(0).map_or("", |g| g.as_str()))
                    } else if c.len() == 2 {
                        Value::from(c.get(1).map_or("", |g| g.as_str()))
                    } else {
                        Value::from(
                            c.iter()
                                .skip(1)
                                .map(|g| Value::from(g.map_or("", |g| g.as_str())))
                                .collect::<Vec<_>>(),
                        )
                    }
                })
                .collect();
            Ok(Value::from(out))
        }
        "sub" => {
            let (repl, s): (String, String) = from_args(args)?;
            let repl = python_repl(&repl);
            Ok(Value::from(re.replace_all(&s, repl.as_str()).into_owned()))
        }
        "split" => {
            let (s,): (String,) = from_args(args)?;
            Ok(Value::from(
                re.split(&s).map(Value::from).collect::<Vec<_>>(),
            ))
        }
        _ => Err(Error::new(
            ErrorKind::UnknownMethod,
            format!("re has no '{m}'"),
        )),
    }
}

/// Python's `\1` group references become regex's `${1}`.
fn python_repl(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(d) = chars.peek().copied().filter(char::is_ascii_digit)
        {
            chars.next();
            out.push_str(&format!("${{{d}}}"));
            continue;
        }
        if c == '$' {
            out.push_str("$$");
            continue;
        }
        out.push(c);
    }
    out
}

impl Object for ReModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "IGNORECASE" | "I" => Value::from(2),
            "MULTILINE" | "M" => Value::from(8),
            "DOTALL" | "S" => Value::from(16),
            _ => return None,
        })
    }
    fn call_method(
        self: &Arc<Self>,
        _s: &mut State<'_, '_>,
        m: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let Some(pattern) = args.first().and_then(Value::as_str) else {
            return Err(err(format!("re.{m}() needs a pattern")));
        };
        if m == "escape" {
            return Ok(Value::from(regex::escape(pattern)));
        }
        let flags = args
            .iter()
            .skip(1)
            .filter(|a| a.is_kwargs())
            .find_map(|k| k.get_attr("flags").ok().and_then(|f| i64::try_from(f).ok()))
            .unwrap_or(0);
        let positional: Vec<Value> = args[1..]
            .iter()
            .filter(|a| !a.is_kwargs())
            .cloned()
            .collect();
        if m == "compile" {
            let flags = positional
                .first()
                .and_then(|f| i64::try_from(f.clone()).ok())
                .unwrap_or(flags);
            return Ok(Value::from_object(Pattern(compile_re(pattern, flags)?)));
        }
        let re = compile_re(pattern, flags)?;
        let (needed, extra_flags) = match m {
            "sub" => (2, positional.get(2)),
            _ => (1, positional.get(1)),
        };
        let flags2 = extra_flags.and_then(|f| i64::try_from(f.clone()).ok());
        let re = match flags2 {
            Some(f) if f != flags => compile_re(pattern, f)?,
            _ => re,
        };
        re_call(&re, m, &positional[..needed.min(positional.len())])
    }
}

#[derive(Debug)]
struct Pattern(regex::Regex);

impl Object for Pattern {
    fn call_method(
        self: &Arc<Self>,
        _s: &mut State<'_, '_>,
        m: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        re_call(&self.0, m, args)
    }
}

#[derive(Debug)]
struct MatchObj(Vec<Option<String>>);

impl Object for MatchObj {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
    fn call_method(
        self: &Arc<Self>,
        _s: &mut State<'_, '_>,
        m: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let g = |i: usize| {
            self.0
                .get(i)
                .cloned()
                .flatten()
                .map_or(Value::from(()), Value::from)
        };
        match m {
            "group" => {
                let (i,): (Option<usize>,) = from_args(args)?;
                Ok(g(i.unwrap_or(0)))
            }
            "groups" => Ok(Value::from((1..self.0.len()).map(g).collect::<Vec<_>>())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}
