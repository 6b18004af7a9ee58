#!/usr/bin/env bash
# kiln's incremental benchmark (issue: incremental models). Run by hand, never from CI.
#
#   bash bench/incremental.sh [ROWS]        # default 10000000
#
# 1. Writes ROWS click events (a year, 2024) as parquet and builds an incremental model
#    (delete+insert on event_id) over them from scratch: the full build.
# 2. Appends 1% new events (a new parquet file in the same glob) and runs the model again: the
#    incremental run. Target: ≤ 10% of the full build's time.
# 3. A microbatch model (batch_size day) over the same events: after its build, a backfill of one
#    day (--event-time-start/--event-time-end) is timed, and every other day's rows are checked
#    to be untouched (per-day counts and checksums before and after).
#
# Environment: BENCH_OUT (default bench/out), BENCH_PROFILE (dev or release; default release),
# BENCH_SNAPSHOT=1 (keep the project as it was before the plain incremental run, which
# bench/incremental_profile.sh then profiles).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROWS="${1:-10000000}"
PROFILE="${BENCH_PROFILE:-release}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
log() { printf '==> %s\n' "$*" >&2; }
source "$ROOT/bench/lib.sh"
bench_build "$PROFILE" --bin kiln --example sql >/dev/null
KILN="$BIN/kiln"; SQL="$BIN/examples/sql"

P="$OUT/incremental"
rm -rf "$P"; mkdir -p "$P/models" "$P/data"
cat > "$P/dbt_project.yml" <<'YML'
name: incr
version: '1.0.0'
config-version: 2
profile: incr
YML
cat > "$P/profiles.yml" <<'YML'
incr:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: incr.duckdb
      threads: 2
YML
cat > "$P/models/sources.yml" <<'YML'
sources:
  - name: queue
    meta:
      external_location: "read_parquet('data/*.parquet')"
    tables:
      - name: events
        config:
          event_time: occurred_at
YML
# The event model in the demo's pattern (simplified): a lookback window for late arrivals, then one row per
# event id (the queue delivers at least once), replaced by key.
cat > "$P/models/events.sql" <<'SQLX'
{{ config(materialized='incremental', unique_key='event_id', incremental_strategy='delete+insert') }}
with batch as (
    select * from {{ source('queue', 'events') }}
    {% if is_incremental() %}
    where received_at > (select max(received_at) - interval 3 day from {{ this }})
    {% endif %}
),
deduplicated as (
    select *, row_number() over (partition by event_id order by received_at) as copy_number
    from batch
)
select event_id, user_id, account_id, occurred_at, received_at, cast(occurred_at as date) as event_date
from deduplicated
where copy_number = 1
SQLX
# The same without the window function: kiln drops the second deliveries itself
# (unique_key_duplicates: dedupe; without it the run stops on the duplicate keys).
cat > "$P/models/events_plain.sql" <<'SQLX'
{{ config(materialized='incremental', unique_key='event_id', incremental_strategy='delete+insert', unique_key_duplicates='dedupe', updated_at='received_at') }}
select event_id, user_id, account_id, occurred_at, received_at, cast(occurred_at as date) as event_date
from {{ source('queue', 'events') }}
{% if is_incremental() %}
where received_at > (select max(received_at) from {{ this }})
{% endif %}
SQLX
cat > "$P/models/events_daily_mb.sql" <<'SQLX'
{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='occurred_at', batch_size='day', begin='2024-01-01') }}
select event_id, user_id, account_id, occurred_at from {{ source('queue', 'events') }}
SQLX

gen() { # gen FILE FIRST_ID N LATE: LATE=0 the year 2024 as it happened (received when it
    # occurred); LATE=1 a day of new deliveries (received on 2025-01-01, for events that occurred
    # any time in 2024: late arrivals). Each file is in the order the queue received its events,
    # as a queue's export is.
    "$SQL" ":memory:" "copy (select
        i - (case when i % 100 = 0 and i > 0 then 1 else 0 end) as event_id,
        i % 50000 as user_id, i % 700 as account_id,
        timestamp '2024-01-01' + to_seconds(cast((i * 7919) % 31536000 as bigint)) as occurred_at,
        case when $4 = 1 then timestamp '2025-01-01' + to_seconds(cast(i % 86400 as bigint))
             else timestamp '2024-01-01' + to_seconds(cast((i * 7919) % 31536000 as bigint)) end as received_at
      from range($2, $2 + $3) t(i)
      order by received_at) to '$1' (format parquet)" >/dev/null
}
t() { local s e; s=$(date +%s.%N); "$@" > "$P/last.log" 2>&1 || { cat "$P/last.log" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

log "writing $ROWS events"
gen "$P/data/part0.parquet" 0 "$ROWS" 0
full=$(cd "$P" && t "$KILN" run --select events --full-refresh)
pfull=$(cd "$P" && t "$KILN" run --select events_plain --full-refresh)
log "full builds: ${full}s (dedup), ${pfull}s (plain)"
new=$((ROWS / 100))
gen "$P/data/part1.parquet" "$ROWS" "$new" 1
inc=$(cd "$P" && t "$KILN" run --select events)
if [ "${BENCH_SNAPSHOT:-0}" = 1 ]; then # the state before the plain run, for bench/incremental_profile.sh
    cp "$P/incr.duckdb" "$P/before_plain.duckdb"; rm -rf "$P/before_plain_target"; cp -a "$P/target" "$P/before_plain_target"
fi
pinc=$(cd "$P" && t "$KILN" run --select events_plain)
log "incremental runs (+$new rows): ${inc}s (dedup), ${pinc}s (plain)"
count=$("$SQL" "$P/incr.duckdb" "select count(*), count(distinct event_id) from main.events")
log "rows after (count, distinct ids): $count"

mb_full=$(cd "$P" && t "$KILN" run --select events_daily_mb --event-time-end 2025-01-01)
snap="select cast(occurred_at as date) d, count(*), sum(hash(event_id)) from main.events_daily_mb group by 1 order by 1"
"$SQL" "$P/incr.duckdb" "$snap" > "$P/before.txt"
mb_day=$(cd "$P" && t "$KILN" run --select events_daily_mb --event-time-start 2024-06-01 --event-time-end 2024-06-02)
"$SQL" "$P/incr.duckdb" "$snap" > "$P/after.txt"
changed=$(diff "$P/before.txt" "$P/after.txt" | grep -c '^[<>]' || true)
touched=$(grep -c "timestamp '2024-06-01 00:00:00'" "$P/target/run/incr/models/events_daily_mb.sql" || true)

printf '\n| model | rows | full build | +1%% incremental run | ratio |\n|---|---|---|---|---|\n'
printf '| events (lookback + dedup, as in the demo) | %s | %.2f s | %.2f s | %.1f%% |\n' "$ROWS" "$full" "$inc" "$(echo "100 * $inc / $full" | bc -l)"
printf '| events_plain (no dedup) | %s | %.2f s | %.2f s | %.1f%% |\n' "$ROWS" "$pfull" "$pinc" "$(echo "100 * $pinc / $pfull" | bc -l)"
printf '\n| microbatch full build (366 daily batches) | one-day backfill | other days changed |\n|---|---|---|\n'
printf '| %.2f s | %.2f s | %s |\n' "$mb_full" "$mb_day" "$changed"
[ "$touched" -ge 1 ] || { echo "the backfill's SQL does not name its window" >&2; exit 1; }
