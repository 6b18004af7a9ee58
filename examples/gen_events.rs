//! Generates the demo warehouse's product feeds at scale: click events and licensed users, as
//! parquet files with the same columns (and the same messes) as the committed files in
//! `data/product/`, so the demo's models read them unchanged.
//!
//! ```text
//! cargo run --release --example gen_events -- --rows 100M --out bench/out/demo_events
//! kiln build --target bench \
//!     --vars '{product_events_location: "bench/out/demo_events/click_events/*.parquet",
//!              product_users_location: "bench/out/demo_events/users/*.parquet"}'
//! ```
//!
//! (`bench/demo.sh` does both and measures the build; `data/README.md` describes the data.)
//!
//! Options: `--rows N` click-event rows in all (default 1M; `100M`, `2_000_000` are accepted),
//! `--out DIR` (required), `--files K` (default: one file per 10M rows), `--users U` (default:
//! one user per 5,000 rows, at least 100), `--seed S` (default 42), `--memory-limit` (DuckDB's,
//! default 2GB).
//!
//! DuckDB does the work: each file is one `COPY (select ... from range(a, b)) TO 'x.parquet'`,
//! a streaming query, so memory stays flat whatever `--rows` is. Every column is a pure function
//! of the row number and the seed (DuckDB's `hash`), so the same arguments give the same rows.
//!
//! The shape of the data:
//! - sessions of 16 events (session_start, page views, clicks, feature uses, session_end), 40 s
//!   apart, on a random day of 2024-01-01..2024-06-30 (the demo's reporting period), by users
//!   spread over the CRM accounts of `data/crm/accounts.csv` (so every relationship
//!   test of the demo holds);
//! - late arrivals: 3% of events reach the queue 1 to 10 days after they happened;
//! - duplicates: one row in 40 is a redelivery of an event from the 39 rows before it (same event
//!   id and content, received 5 minutes to 3 days after the first copy);
//! - users: one row per user version; 5% of users have a second, later version (licence changed),
//!   e-mails and licence types in mixed case with stray spaces, 3% deactivated.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Marker file written into every output folder; `--out` is only emptied when it holds one.
const MARKER: &str = ".kiln_gen_events";
/// Rows per parquet file when `--files` is not given.
const ROWS_PER_FILE: u64 = 10_000_000;
/// Events per session: session_start, 14 activity events, session_end.
const SESSION_EVENTS: u64 = 16;
/// Days of activity from 2024-01-01.
const DAYS: u64 = 182;
/// Where the CRM accounts come from (the users' accounts must exist there).
const ACCOUNTS_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/crm/accounts.csv");

const USAGE: &str = "usage: gen_events --out DIR [--rows N] [--files K] [--users U] [--seed S] [--memory-limit 2GB]";

struct Args {
    rows: u64,
    out: PathBuf,
    files: u64,
    users: u64,
    seed: u64,
    memory_limit: String,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("gen_events: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("gen_events: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut rows = 1_000_000;
    let mut out = None;
    let mut files = None;
    let mut users = None;
    let mut seed = 42;
    let mut memory_limit = "2GB".to_string();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--rows" => rows = count(&value()?)?,
            "--out" => out = Some(PathBuf::from(value()?)),
            "--files" => files = Some(count(&value()?)?),
            "--users" => users = Some(count(&value()?)?),
            "--seed" => seed = count(&value()?)?,
            "--memory-limit" => memory_limit = value()?,
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    if rows == 0 {
        return Err("--rows must be at least 1".into());
    }
    let files = files
        .unwrap_or_else(|| rows.div_ceil(ROWS_PER_FILE))
        .clamp(1, rows);
    let users = users.unwrap_or((rows / 5_000).max(100)).max(1);
    Ok(Args {
        rows,
        out,
        files,
        users,
        seed,
        memory_limit,
    })
}

/// A count: digits with optional `_` or `,` separators and an optional k/M/G suffix.
fn count(text: &str) -> Result<u64, String> {
    let clean: String = text.chars().filter(|c| !matches!(c, '_' | ',')).collect();
    let (digits, scale) = match clean.chars().last() {
        Some('k' | 'K') => (&clean[..clean.len() - 1], 1_000),
        Some('m' | 'M') => (&clean[..clean.len() - 1], 1_000_000),
        Some('g' | 'G') => (&clean[..clean.len() - 1], 1_000_000_000),
        _ => (clean.as_str(), 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("'{text}' is not a count (e.g. 1000000, 1_000_000 or 1M)"))
}

fn run(args: &Args) -> Result<(), String> {
    prepare_out(&args.out)?;
    let events_dir = args.out.join("click_events");
    let users_dir = args.out.join("users");
    for dir in [&events_dir, &users_dir] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }

    let conn = duckdb::Connection::open_in_memory().map_err(|e| e.to_string())?;
    let db = |sql: &str| conn.execute_batch(sql).map_err(|e| format!("{e}\n{sql}"));
    // Nothing needs the rows in order, and DuckDB streams COPY with less memory without it.
    db(&format!(
        "set preserve_insertion_order = false; set memory_limit = {};",
        literal(&args.memory_limit)
    ))?;

    let accounts = account_ids(&conn)?;
    let started = Instant::now();
    let users_file = users_dir.join("users.parquet");
    db(&users_sql(args, &accounts, &users_file))?;

    let per_file = args.rows.div_ceil(args.files);
    let mut first = 0;
    let mut index = 0;
    while first < args.rows {
        let last = (first + per_file).min(args.rows);
        let file = events_dir.join(format!("events-{index:05}.parquet"));
        db(&events_sql(args, &accounts, first, last, &file))?;
        eprintln!(
            "gen_events: {} ({} rows, {:.1}s)",
            file.display(),
            last - first,
            started.elapsed().as_secs_f64()
        );
        first = last;
        index += 1;
    }

    let redeliveries = (args.rows + 1) / 40;
    println!(
        "wrote {} click-event rows ({} redeliveries of an earlier event id) in {index} files and {} users in {:.1}s",
        args.rows,
        redeliveries,
        args.users,
        started.elapsed().as_secs_f64()
    );
    println!(
        "build the demo on them (the bench target keeps them out of demo.duckdb):\n  kiln build --target bench --vars '{{product_events_location: \"{}/*.parquet\", product_users_location: \"{}/*.parquet\"}}'",
        events_dir.display(),
        users_dir.display()
    );
    Ok(())
}

/// Creates `out`, or empties it when an earlier run of this generator wrote it; refuses any other
/// non-empty folder rather than delete someone's files.
fn prepare_out(out: &Path) -> Result<(), String> {
    let is_empty = |p: &Path| std::fs::read_dir(p).map_or(true, |mut d| d.next().is_none());
    if out.exists() && !is_empty(out) {
        if !out.join(MARKER).exists() {
            return Err(format!(
                "{} is not empty and was not written by gen_events; choose another --out",
                out.display()
            ));
        }
        std::fs::remove_dir_all(out).map_err(|e| format!("cannot empty {}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    std::fs::write(out.join(MARKER), "written by examples/gen_events.rs\n")
        .map_err(|e| format!("cannot write to {}: {e}", out.display()))
}

/// The CRM account ids, cleaned as staging cleans them, in a stable order.
fn account_ids(conn: &duckdb::Connection) -> Result<Vec<String>, String> {
    let sql = format!(
        "select distinct upper(trim(account_id)) from read_csv({}, all_varchar = true) where account_id is not null order by 1",
        literal(ACCOUNTS_CSV)
    );
    let mut stmt = conn.prepare(&sql).map_err(|e| e.to_string())?;
    let ids = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("cannot read the CRM accounts from {ACCOUNTS_CSV}: {e}"))?;
    if ids.is_empty() {
        return Err(format!("no accounts in {ACCOUNTS_CSV}"));
    }
    Ok(ids)
}

/// A SQL list literal of the account ids, and the expression picking user `u`'s account from it
/// (the users file and the events file must agree on it).
fn account_of(accounts: &[String], user: &str, seed: u64) -> String {
    let mut list = String::from("[");
    for (i, a) in accounts.iter().enumerate() {
        let _ = write!(list, "{}{}", if i > 0 { ", " } else { "" }, literal(a));
    }
    list.push(']');
    format!(
        "{list}[1 + cast(hash({user}, {seed}) % {} as bigint)]",
        accounts.len()
    )
}

/// Click events `first..last` (row numbers) into one parquet file. Row `i` carries event `e`:
/// itself, or for one row in 40 an earlier event of the same block of 40 (a redelivery).
fn events_sql(args: &Args, accounts: &[String], first: u64, last: u64, file: &Path) -> String {
    let seed = args.seed;
    let users = args.users;
    let account = account_of(accounts, "u", seed);
    let file = literal(&file.display().to_string());
    format!(
        "copy (
with numbered as (
    select
        i,
        case when i % 40 = 39 then i - 1 - cast(hash(i, {seed}) % 39 as bigint) else i end as e,
        i % 40 = 39 as is_redelivery
    from range({first}, {last}) as rows(i)
),

hashed as (
    select
        *,
        e // {SESSION_EVENTS} as s,
        e % {SESSION_EVENTS} as p,
        cast(hash(e // {SESSION_EVENTS}, {seed}) >> 1 as bigint) as hs,
        cast(hash(e, {seed}) >> 1 as bigint) as he
    from numbered
),

shaped as (
    select
        *,
        hs % {users} as u,
        timestamp '2024-01-01'
            + to_days(cast((hs >> 8) % {DAYS} as integer))
            + to_seconds((25200 + (hs >> 20) % 43200) + p * 40 + he % 40) as occurred_at,
        (he >> 8) % 10 as kind
    from hashed
)

select
    'evt_' || lpad(cast(e as varchar), 10, '0') as event_id,
    'usr_' || lpad(cast(u + 1 as varchar), 7, '0') as user_id,
    {account} as account_id,
    'ses_' || lpad(cast(s as varchar), 9, '0') as session_id,
    case
        when p = 0 then 'session_start'
        when p = {last_position} then 'session_end'
        when kind < 4 then 'page_view'
        when kind < 8 then 'click'
        else 'feature_used'
    end as event_type,
    case
        when p not in (0, {last_position}) and kind >= 4
            then ['alerts', 'onboarding_checklist', 'sql_editor', 'sharing', 'dashboards', 'exports'][1 + (he >> 16) % 6]
    end as feature,
    occurred_at,
    occurred_at
        + to_seconds(2 + (he >> 24) % 120)
        + case when (he >> 32) % 100 < 3 then to_seconds(86400 + (he >> 40) % (9 * 86400)) else interval 0 second end
        + case when is_redelivery then to_seconds(300 + cast(hash(i, {seed}, 1) % (3 * 86400) as bigint)) else interval 0 second end
        as received_at
from shaped
) to {file} (format parquet, compression zstd)",
        last_position = SESSION_EVENTS - 1,
    )
}

/// The licensed users: one row per user, plus a later second version for 5% of them.
fn users_sql(args: &Args, accounts: &[String], file: &Path) -> String {
    let seed = args.seed;
    let account = account_of(accounts, "u", seed);
    let file = literal(&file.display().to_string());
    format!(
        "copy (
with users as (
    select
        u,
        cast(hash(u, {seed}, 2) >> 1 as bigint) as h,
        {account} as account_id
    from range(0, {users}) as rows(u)
),

named as (
    select
        *,
        ['ana', 'ben', 'chloé', 'david', 'emma', 'farid', 'grace', 'hiro', 'ines', 'jonas'][1 + h % 10] as first_name,
        ['silva', 'müller', 'tanaka', 'smith', 'dubois', 'kowalski', 'nguyen', 'okafor'][1 + (h >> 4) % 8] as last_name,
        timestamp '2023-10-01' + to_seconds((h >> 8) % (90 * 86400)) as licensed_at
    from users
),

versions as (
    select
        named.*,
        1 as version,
        case when (h >> 40) % 100 < 3 then licensed_at + to_days(cast(120 + (h >> 44) % 60 as integer)) end as deactivated_at
    from named
    union all
    select named.*, 2 as version, null as deactivated_at
    from named
    where (h >> 48) % 100 < 5
)

select
    'usr_' || lpad(cast(u + 1 as varchar), 7, '0') as user_id,
    account_id,
    case when (h >> 32) % 10 = 0 then '  ' || upper(first_name) else first_name end
        || '.' || last_name || '.' || cast(u + 1 as varchar) || '@' || lower(replace(account_id, '-', '')) || '.example.com'
        as email,
    upper(substr(first_name, 1, 1)) || substr(first_name, 2) || ' ' || upper(substr(last_name, 1, 1)) || substr(last_name, 2)
        as full_name,
    case
        when version = 2 then (case when (h >> 36) % 2 = 0 then 'viewer' else 'full' end)
        else ['full', 'Full', 'FULL ', 'viewer', 'VIEWER'][1 + (h >> 36) % 5]
    end as licence_type,
    licensed_at,
    deactivated_at,
    case when version = 2 then timestamp '2024-06-20 10:00:00' else licensed_at + interval 3 day end as updated_at
from versions
) to {file} (format parquet, compression zstd)",
        users = args.users,
    )
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
