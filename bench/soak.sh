#!/usr/bin/env bash
# kiln's soak test (issue 17, "Fuzzing and load"). Run by hand, never from CI.
#
#   bash bench/soak.sh [RUNS]          # default 50
#
# 1. Copies the demo warehouse (this repository's kiln project) to $BENCH_OUT/soak/project and
#    writes its product files with examples/gen_demo_events.rs into $BENCH_OUT/soak/gen; the click
#    events (in the order the queue received them) are cut into RUNS + 1 slices by arrival.
# 2. `kiln build` with the first slice (a first, full build), then RUNS times: one more slice lands
#    as a new file in the events folder and `kiln build` runs again (the event model takes its
#    incremental branch: lookback window, de-duplication, delete+insert).
# 3. `kiln build --full-refresh` of the same project into a second database, and every table and
#    view of the soaked database compared with it (row count and an order-free digest of the
#    rows); snapshots are left out (their validity timestamps are the time each run took them).
# 4. Per run: wall time and peak RSS (/usr/bin/time), the most file descriptors the process held
#    (/proc/PID/fd, sampled every 20 ms), the database file's size, and files left beside it.
#    Prints them as a table and the verdict: memory and handles flat (the last ten runs' median
#    within 10% of the first ten's), tables equal.
#
# Environment: BENCH_OUT (default bench/out), BENCH_PROFILE (release or dev; default release),
# BENCH_SOAK_SELECT (a --select for the incremental builds, e.g. `stg_product__click_events+`:
# the event model and everything downstream, to make each run cheaper; default: everything),
# CARGO_TARGET_DIR (honoured).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
RUNS="${1:-50}"
PROFILE="${BENCH_PROFILE:-release}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
log() { printf '==> %s\n' "$*" >&2; }

source "$ROOT/bench/lib.sh"
bench_build "$PROFILE" --bin kiln --example gen_demo_events --example sql || exit 1
KILN="$BIN/kiln"; SQL="$BIN/examples/sql"

S="$OUT/soak"
P="$S/project"
rm -rf "$S"; mkdir -p "$P" "$S/gen" "$S/events"
for f in models macros seeds snapshots analyses data dbt_project.yml selectors.yml; do
    cp -r "$ROOT/$f" "$P/" || exit 1
done
mkdir -p "$P/tests" && cp -r "$ROOT/tests/data" "$P/tests/" || exit 1
rm -rf "$P/data/product"
# Two databases: the soaked one and the full refresh it is compared with.
cat > "$P/profiles.yml" <<'YML'
kiln_demo:
  target: soak
  outputs:
    soak:
      type: duckdb
      path: soak.duckdb
      schema: main
      threads: 2
      settings:
        variable pii_key: "soak-not-secret"
    fresh:
      type: duckdb
      path: fresh.duckdb
      schema: main
      threads: 2
      settings:
        variable pii_key: "soak-not-secret"
YML

"$BIN/examples/gen_demo_events" --out "$S/gen" >/dev/null || exit 1
# All events in arrival order (each weekly file is in received order, the weeks in order), cut
# into RUNS + 1 slices.
header="$(head -1 "$(ls "$S"/gen/click_events/*.csv | head -1)")"
for f in "$S"/gen/click_events/*.csv; do tail -n +2 "$f"; done > "$S/all_events.csv"
total="$(wc -l < "$S/all_events.csv")"
per=$(( (total + RUNS) / (RUNS + 1) ))
split -d -a 3 -l "$per" "$S/all_events.csv" "$S/slice_"
slices=("$S"/slice_*)
log "$total events in ${#slices[@]} slices of $per"
land() { # land I: slice I arrives as a new file in the events folder
    { echo "$header"; cat "${slices[$1]}"; } > "$S/events/received_$(printf '%03d' "$1").csv"
    rm -f "${slices[$1]}"
}
VARS="{product_events_location: \"$S/events/*.csv\", product_users_location: \"$S/gen/users.csv\"}"

# run LABEL ARGS...: one kiln invocation, timed, its descriptors sampled; appends a row to $S/runs.tsv
run() {
    local label="$1"; shift
    (cd "$P" && exec /usr/bin/time -f '%e %M' -o "$S/time.txt" "$KILN" "$@" --vars "$VARS") \
        > "$S/run_$label.log" 2>&1 &
    local tpid=$! maxfd=0 n kpid=""
    while kill -0 "$tpid" 2>/dev/null; do
        [ -z "$kpid" ] && kpid="$(pgrep -P "$tpid" -x kiln | head -1)"
        if [ -n "$kpid" ]; then
            n="$(ls "/proc/$kpid/fd" 2>/dev/null | wc -l)"
            [ "$n" -gt "$maxfd" ] && maxfd="$n"
        fi
        sleep 0.02
    done
    wait "$tpid"; local status=$?
    read -r wall kb < <(tail -1 "$S/time.txt")
    # Exit 1 with only data tests failing is a finished build: some of the demo's tests check
    # figures of the complete six months, which the early runs do not have yet.
    if [ "$status" = 1 ] && python3 - "$P/target/kiln/run_results.json" <<'PY'
import json, sys
bad = [r["unique_id"] for r in json.load(open(sys.argv[1]))["results"]
       if r["status"] in ("error", "skipped") and not r["unique_id"].startswith("test.")]
sys.exit(1 if bad else 0)
PY
    then
        status=0
    fi
    local size left
    size="$(stat -c %s "$P/soak.duckdb" 2>/dev/null || echo 0)"
    left="$(ls "$P" | grep -c -E '\.wal$|\.tmp$' || true)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$status" "$wall" "$((kb / 1024))" "$maxfd" \
        "$((size / 1024))" "$left" >> "$S/runs.tsv"
    if [ "$status" -ne 0 ]; then
        log "kiln $* failed (exit $status): see $S/run_$label.log"
        tail -20 "$S/run_$label.log" >&2
        exit 1
    fi
}

: > "$S/runs.tsv"
land 0
log "run 0: the first build"
run 0 build
SELECT=()
[ -n "${BENCH_SOAK_SELECT:-}" ] && SELECT=(--select "$BENCH_SOAK_SELECT")
for i in $(seq 1 "$RUNS"); do
    land "$i"
    run "$i" build "${SELECT[@]}"
    log "run $i: $(tail -1 "$S/runs.tsv" | cut -f3-5 | tr '\t' ' ') (wall s, peak MiB, most fds)"
done
log "full refresh into fresh.duckdb"
run fresh build --full-refresh --target fresh

# Compare every relation but the snapshots: row count and the sum of the rows' hashes.
snaps="$(cd "$P" && "$KILN" ls --resource-type snapshot --output name --quiet 2>/dev/null | sort)"
rels="$("$SQL" "$P/soak.duckdb" "select table_schema || '.' || table_name from information_schema.tables where table_catalog = 'soak' order by 1")"
compared=0; differ=0; skipped=0
for r in $rels; do
    name="${r#*.}"
    if printf '%s\n' "$snaps" | grep -qx "$name"; then skipped=$((skipped + 1)); continue; fi
    q="select count(*), coalesce(sum(hash(t)), 0) from \"${r%%.*}\".\"$name\" as t"
    a="$("$SQL" "$P/soak.duckdb" "$q" 2>&1)"; b="$("$SQL" "$P/fresh.duckdb" "$q" 2>&1)"
    compared=$((compared + 1))
    if [ "$a" != "$b" ]; then
        differ=$((differ + 1)); log "differs: $r (soaked: $a; full refresh: $b)"
    fi
done
events="$("$SQL" "$P/soak.duckdb" "select count(*), count(distinct event_id) from main.stg_product__click_events")"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -F'\t' -v c="$1" -v a="$2" -v b="$3" '$1 ~ /^[0-9]+$/ && $1 >= a && $1 <= b {print $c}' "$S/runs.tsv"; }
printf '\n| run | wall s | peak RSS MiB | most fds | database KiB | .wal/.tmp left |\n|---:|---:|---:|---:|---:|---:|\n'
awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $3, $4, $5, $6, $7}' "$S/runs.tsv"
first=$((RUNS < 10 ? RUNS : 10)); last_from=$((RUNS - first + 1))
rss_a="$(col 4 1 "$first" | median)"; rss_b="$(col 4 "$last_from" "$RUNS" | median)"
fd_a="$(col 5 1 "$first" | median)"; fd_b="$(col 5 "$last_from" "$RUNS" | median)"
wall_a="$(col 3 1 "$first" | median)"; wall_b="$(col 3 "$last_from" "$RUNS" | median)"
flat() { awk -v a="$1" -v b="$2" 'BEGIN { print (b <= a * 1.10 + 1) ? "flat" : "GROWS" }'; }
printf '\nincremental runs 1-%s against %s-%s (medians): wall %s s -> %s s; peak RSS %s -> %s MiB (%s); most fds %s -> %s (%s)\n' \
    "$first" "$last_from" "$RUNS" "$wall_a" "$wall_b" "$rss_a" "$rss_b" "$(flat "$rss_a" "$rss_b")" \
    "$fd_a" "$fd_b" "$(flat "$fd_a" "$fd_b")"
printf 'events loaded (rows, distinct ids): %s of %s delivered\n' "$(echo "$events" | tr '\t' ' ')" "$total"
printf 'tables and views compared with a full refresh: %s, differing: %s (snapshots left out: %s)\n' \
    "$compared" "$differ" "$skipped"
[ "$differ" -eq 0 ] && [ "$compared" -gt 0 ]
