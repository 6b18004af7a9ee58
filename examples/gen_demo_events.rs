//! Writes the demo warehouse's committed product data, `data/product/users.csv` and
//! `data/product/click_events/received_<ISO week>.csv`, from the other committed exports: the
//! CRM accounts (`data/crm/accounts.csv`), the billing subscriptions
//! (`data/billing/subscriptions.csv`) and the A/B-test assignments
//! (`data/experiments/assignments.csv`):
//!
//! ```text
//! cargo run --example gen_demo_events             # rewrites data/product/
//! cargo run --example gen_demo_events -- --out DIR
//! ```
//!
//! The output is a pure function of those files and the seed (`--seed`, default 42): a small
//! PRNG (SplitMix64) drawn in a fixed order, no clock, no DuckDB, so the same inputs give
//! byte-identical files on every machine. (`examples/gen_events.rs` writes the same columns at
//! any scale, as parquet, for the benchmarks.)
//!
//! The users: each account with a subscription (trials included) licenses 1 to 6 users (more for
//! more seats), the first on the day its first subscription started and the others within the
//! following weeks; they are deactivated when the account's last subscription ends. E-mail
//! addresses are `first.last@<the account's domain>`; 1 in 8 arrives in upper case or with stray
//! spaces, licence types in mixed case, and 1 user in 12 has a second, later version of the row
//! (licence changed).
//!
//! The events, over every day of the reporting period (2024-01-01..2024-06-30):
//! - each user is active only between `licensed_at` and `deactivated_at`; on a weekday they
//!   start a session with probability 1 in 10 (1 in 30 on weekends), between 07:00 and 19:00 UTC;
//! - a session is a session_start, 1 to 7 page views, clicks and feature uses 20 s to 10 min
//!   apart, and a session_end (missing for 1 session in 10: the client was closed);
//! - the `exp_onboarding_checklist` experiment: accounts assigned to `treatment` see the
//!   onboarding checklist from their assignment on, so their feature uses land on it far more
//!   often than control accounts' (the effect `experiment_summary` measures);
//! - late arrivals: 1 session in 30 is uploaded 1 to 10 days after it happened (all its events
//!   at once); otherwise an event reaches the queue 2 s to 2 min after it happened;
//! - duplicates: 1 event in 40 is delivered a second time, 5 minutes to 3 days after the first
//!   copy (same event id and content).
//!
//! Each events file holds the events received in one ISO week, in the order received.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: gen_demo_events [--out DIR] [--seed S]";
/// Days of activity from 2024-01-01 (a Monday): the reporting period, January to June 2024.
const DAYS: i64 = 182;
/// 2024-01-01 00:00:00 UTC as seconds since 1970-01-01.
const PERIOD_START: i64 = 1_704_067_200;
const EXPERIMENT: &str = "exp_onboarding_checklist";
const FEATURES: [&str; 5] = ["alerts", "dashboards", "exports", "sharing", "sql_editor"];
const CHECKLIST: &str = "onboarding_checklist";

fn main() -> ExitCode {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = repo.join("data/product");
    let mut seed = 42_u64;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        match (flag.as_str(), value) {
            ("--out", Some(v)) => out = PathBuf::from(v),
            ("--seed", Some(v)) => match v.parse() {
                Ok(s) => seed = s,
                Err(_) => return usage(&format!("--seed needs a number, not '{v}'")),
            },
            ("-h" | "--help", _) => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            (other, _) => return usage(&format!("unknown argument or missing value: '{other}'")),
        }
    }
    match run(repo, &out, seed) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("gen_demo_events: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("gen_demo_events: {msg}\n{USAGE}");
    ExitCode::from(2)
}

/// SplitMix64: tiny, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A whole number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    /// True with probability `1 / n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

struct User {
    id: String,
    account: String,
    /// Active from this second (inclusive) to `until` (exclusive).
    from: i64,
    until: i64,
}

struct Event {
    user: usize,
    session: String,
    event_type: &'static str,
    feature: &'static str,
    occurred: i64,
    received: i64,
}

fn run(repo: &Path, out: &Path, seed: u64) -> Result<String, String> {
    let (users, users_csv) = generate_users(repo, seed)?;
    let treated = read_treatment_starts(&repo.join("data/experiments/assignments.csv"))?;

    let mut events = vec![];
    for (u, user) in users.iter().enumerate() {
        for day in 0..DAYS {
            let mut rng = Rng::new(seed, (u as u64) << 20 | day as u64);
            let midnight = PERIOD_START + day * 86_400;
            let weekend = day % 7 >= 5;
            if !rng.one_in(if weekend { 30 } else { 10 }) {
                continue;
            }
            let start = midnight + rng.range(7 * 3600, 19 * 3600);
            if start < user.from || start >= user.until {
                continue;
            }
            let checklist_shown = treated.get(&user.account).is_some_and(|&t| start >= t);
            session(&mut rng, u, start, checklist_shown, &mut events);
        }
    }

    // Event ids in the order things happened; then the redeliveries.
    events.sort_by(|a, b| {
        (a.occurred, &users[a.user].id, a.event_type).cmp(&(
            b.occurred,
            &users[b.user].id,
            b.event_type,
        ))
    });
    let mut rows: Vec<(i64, String)> = vec![];
    let mut redeliveries = 0;
    let mut late = 0;
    let mut rng = Rng::new(seed, u64::MAX);
    for (i, e) in events.iter().enumerate() {
        let id = format!("evt_{:06}", i + 1);
        let line = |received: i64| {
            format!(
                "{id},{},{},{},{},{},{},{}\n",
                users[e.user].id,
                users[e.user].account,
                e.session,
                e.event_type,
                e.feature,
                timestamp(e.occurred),
                timestamp(received)
            )
        };
        rows.push((e.received, line(e.received)));
        if e.received - e.occurred > 86_400 {
            late += 1;
        }
        if rng.one_in(40) {
            redeliveries += 1;
            let again = e.received + rng.range(300, 3 * 86_400);
            rows.push((again, line(again)));
        }
    }
    rows.sort();

    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for (received, line) in &rows {
        let file = files
            .entry(format!("received_{}.csv", iso_week(*received)))
            .or_insert_with(|| {
                "event_id,user_id,account_id,session_id,event_type,feature,occurred_at,received_at\n"
                    .to_string()
            });
        file.push_str(line);
    }
    let events_dir = out.join("click_events");
    std::fs::create_dir_all(&events_dir)
        .map_err(|e| format!("cannot create {}: {e}", events_dir.display()))?;
    let users_file = out.join("users.csv");
    std::fs::write(&users_file, &users_csv)
        .map_err(|e| format!("cannot write {}: {e}", users_file.display()))?;
    for old in std::fs::read_dir(&events_dir)
        .map_err(|e| format!("cannot read {}: {e}", events_dir.display()))?
    {
        let path = old.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("received_") && name.ends_with(".csv") {
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    for (name, text) in &files {
        let path = events_dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(format!(
        "wrote {} users and {} event rows ({} events, {redeliveries} redeliveries, {late} received more than a day late) in {} files to {}",
        users.len(),
        rows.len(),
        events.len(),
        files.len(),
        out.display()
    ))
}

/// One session of user `u` starting at `start`.
fn session(rng: &mut Rng, u: usize, start: i64, checklist_shown: bool, events: &mut Vec<Event>) {
    let session = format!("ses_{:08x}", rng.next() as u32);
    let late_upload = rng.one_in(30).then(|| rng.range(86_400, 10 * 86_400));
    let mut at = start;
    let mut push = |rng: &mut Rng, at: i64, event_type: &'static str, feature: &'static str| {
        let received = at + late_upload.unwrap_or_else(|| rng.range(2, 120));
        events.push(Event {
            user: u,
            session: session.clone(),
            event_type,
            feature,
            occurred: at,
            received,
        });
    };
    push(rng, at, "session_start", "");
    for _ in 0..rng.range(1, 7) {
        at += rng.range(20, 600);
        let (event_type, feature) = match rng.next() % 10 {
            0..=3 => ("page_view", ""),
            4..=6 => ("click", pick_feature(rng, checklist_shown)),
            _ => ("feature_used", pick_feature(rng, checklist_shown)),
        };
        push(rng, at, event_type, feature);
    }
    if !rng.one_in(10) {
        at += rng.range(20, 600);
        push(rng, at, "session_end", "");
    }
}

/// The feature a click or feature use lands on: the onboarding checklist 1 time in 40, or 1 in 3
/// once the treatment shows it.
fn pick_feature(rng: &mut Rng, checklist_shown: bool) -> &'static str {
    if rng.one_in(if checklist_shown { 3 } else { 40 }) {
        CHECKLIST
    } else {
        FEATURES[(rng.next() % FEATURES.len() as u64) as usize]
    }
}

const FIRST_NAMES: [&str; 20] = [
    "ana", "ben", "chloé", "david", "emma", "farid", "grace", "hiroshi", "ingrid", "jonas", "lars",
    "liam", "maría", "noah", "olivia", "priya", "robert", "sofia", "tomás", "yuki",
];
const LAST_NAMES: [&str; 16] = [
    "silva",
    "müller",
    "tanaka",
    "smith",
    "dubois",
    "kowalski",
    "nguyen",
    "okafor",
    "johansson",
    "lópez",
    "fernández",
    "martin",
    "suzuki",
    "jones",
    "davis",
    "rossi",
];
/// When a second version of a user row was written (a licence change).
const SECOND_VERSION_AT: &str = "2024-06-20 10:00:00";

/// The licensed users, and the text of `users.csv`.
fn generate_users(repo: &Path, seed: u64) -> Result<(Vec<User>, String), String> {
    let domains = read_account_domains(&repo.join("data/crm/accounts.csv"))?;
    let subscriptions = read_account_subscriptions(&repo.join("data/billing/subscriptions.csv"))?;
    let mut users = vec![];
    let mut csv = String::from(
        "user_id,account_id,email,full_name,licence_type,licensed_at,deactivated_at,updated_at\n",
    );
    for (account, sub) in &subscriptions {
        let domain = domains.get(account).ok_or_else(|| {
            format!("account {account} has a subscription but is not in data/crm/accounts.csv")
        })?;
        let mut rng = Rng::new(
            seed,
            account.replace("ACC-", "").parse::<u64>().unwrap_or(0) << 40,
        );
        let count = (1 + sub.seats / 90).clamp(1, 6);
        for k in 0..count {
            let from = if k == 0 {
                sub.first_start
            } else {
                sub.first_start + rng.range(86_400, 60 * 86_400)
            };
            let until = sub.ended.map(|e| e + rng.range(0, 6 * 3600));
            let first = FIRST_NAMES[(rng.next() % FIRST_NAMES.len() as u64) as usize];
            let last = LAST_NAMES[(rng.next() % LAST_NAMES.len() as u64) as usize];
            let id = format!("usr_{:04}", users.len() + 1);
            let mut email = format!("{first}.{last}@{domain}");
            match rng.next() % 16 {
                0 => email = email.to_uppercase(),
                1 => email = format!("  {email}"),
                _ => {}
            }
            let full_name = format!("{} {}", capitalised(first), capitalised(last));
            let viewer = rng.one_in(3);
            let licence = if viewer {
                ["viewer", "VIEWER", "viewer"][(rng.next() % 3) as usize]
            } else {
                ["full", "Full", "FULL ", "full"][(rng.next() % 4) as usize]
            };
            let deactivated = until.map(timestamp).unwrap_or_default();
            let first_updated = from + 3 * 86_400;
            let _ = writeln!(
                csv,
                "{id},{account},{email},{full_name},{licence},{},{deactivated},{}",
                timestamp(from),
                timestamp(first_updated)
            );
            if rng.one_in(12) && timestamp(first_updated).as_str() < SECOND_VERSION_AT {
                let changed = if viewer { "full" } else { "viewer" };
                let _ = writeln!(
                    csv,
                    "{id},{account},{email},{full_name},{changed},{},{deactivated},{SECOND_VERSION_AT}",
                    timestamp(from)
                );
            }
            users.push(User {
                id,
                account: account.clone(),
                from,
                until: until.unwrap_or(i64::MAX),
            });
        }
    }
    Ok((users, csv))
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Each CRM account's domain as staging normalises it (lower case, no scheme, no "www."), from
/// its latest record.
fn read_account_domains(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut latest: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (_, f) in csv_rows(path, 9)? {
        let account = f[0].trim().to_uppercase();
        let mut domain = f[2].trim().to_lowercase();
        for prefix in ["https://", "http://", "www."] {
            if let Some(rest) = domain.strip_prefix(prefix) {
                domain = rest.to_string();
            }
        }
        let updated = f[8].trim().to_string();
        if latest.get(&account).is_none_or(|(u, _)| *u < updated) {
            latest.insert(account, (updated, domain));
        }
    }
    Ok(latest.into_iter().map(|(a, (_, d))| (a, d)).collect())
}

struct AccountSubscriptions {
    first_start: i64,
    /// When the last subscription ended, if every subscription of the account has ended.
    ended: Option<i64>,
    seats: i64,
}

/// Per account: when its first subscription started, when its last one ended (if all have), and
/// its largest seat count, from the latest version of each subscription.
fn read_account_subscriptions(
    path: &Path,
) -> Result<BTreeMap<String, AccountSubscriptions>, String> {
    let mut latest: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (_, f) in csv_rows(path, 10)? {
        let updated = f[9].trim().to_string();
        let id = f[0].trim().to_string();
        if latest.get(&id).is_none_or(|(u, _)| *u < updated) {
            latest.insert(id, (updated, f));
        }
    }
    let mut out: BTreeMap<String, AccountSubscriptions> = BTreeMap::new();
    for (_, f) in latest.values() {
        let at = |i: usize| parse_timestamp(f[i].trim());
        let start =
            at(6).ok_or_else(|| format!("{}: bad started_at '{}'", path.display(), f[6]))?;
        let seats: i64 = f[3].trim().parse().unwrap_or(1);
        let account = f[1].trim().to_uppercase();
        let end = at(7);
        let entry = out.entry(account).or_insert(AccountSubscriptions {
            first_start: start,
            ended: end,
            seats,
        });
        if start < entry.first_start {
            entry.first_start = start;
        }
        entry.seats = entry.seats.max(seats);
        entry.ended = match (entry.ended, end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    Ok(out)
}

/// When each account's treatment starts in the experiment: its first logged assignment, when that
/// assignment is `treatment`.
fn read_treatment_starts(path: &Path) -> Result<BTreeMap<String, i64>, String> {
    let mut first: BTreeMap<String, (i64, bool)> = BTreeMap::new();
    for (line_no, fields) in csv_rows(path, 4)? {
        if fields[0].trim().to_lowercase() != EXPERIMENT {
            continue;
        }
        let at = parse_timestamp(fields[3].trim()).ok_or_else(|| {
            format!(
                "{}:{line_no}: '{}' is not a timestamp",
                path.display(),
                fields[3]
            )
        })?;
        let treatment = fields[2].trim().eq_ignore_ascii_case("treatment");
        let account = fields[1].trim().to_uppercase();
        if first.get(&account).is_none_or(|&(t, _)| at < t) {
            first.insert(account, (at, treatment));
        }
    }
    Ok(first
        .into_iter()
        .filter(|(_, (_, treatment))| *treatment)
        .map(|(a, (t, _))| (a, t))
        .collect())
}

/// The data rows of a small CSV file without quoted fields, each with `width` fields.
fn csv_rows(path: &Path, width: usize) -> Result<Vec<(usize, Vec<String>)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut rows = vec![];
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.is_empty() {
            continue;
        }
        let fields: Vec<String> = line.split(',').map(str::to_string).collect();
        if fields.len() != width || line.contains('"') {
            return Err(format!(
                "{}:{}: expected {width} unquoted fields, found {}",
                path.display(),
                i + 1,
                fields.len()
            ));
        }
        rows.push((i + 1, fields));
    }
    Ok(rows)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (the inverse of `days_from_civil`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn parse_timestamp(text: &str) -> Option<i64> {
    let (date, time) = text.split_once(' ')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (y, m, dd) = (d.next()??, d.next()??, d.next()??);
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    Some(days_from_civil(y, m, dd) * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn timestamp(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let mut out = String::new();
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    );
    out
}

/// The ISO week of a moment, as `2024-W05`.
fn iso_week(secs: i64) -> String {
    let day = secs.div_euclid(86_400);
    // 1970-01-01 was a Thursday; ISO weeks start on Monday and belong to the year of their Thursday.
    let weekday = (day + 3).rem_euclid(7); // 0 = Monday
    let thursday = day - weekday + 3;
    let (year, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
    format!("{year}-W{week:02}")
}
