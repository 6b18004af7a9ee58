#!/usr/bin/env bash
# The demo warehouse at scale (issue 6): ROWS generated product click events (default 100
# million), the full demo built on them, then built again (the incremental second run).
# Run by hand, never from CI.
#
#   bash bench/demo.sh [ROWS]          # e.g. 100M (default), 10M, 2_000_000
#
# Steps, each timed with /usr/bin/time -f '%e %M' (wall seconds, peak RSS in KiB):
#   1. examples/gen_events.rs writes ROWS click events (parquet, 10M rows a file) and their users
#      under $BENCH_OUT/demo_events;
#   2. `kiln build --target bench` on a fresh database (profiles.yml's `bench` target:
#      bench/out/demo_bench.duckdb, 2 threads, DuckDB memory_limit 4GB, spilling to
#      $BENCH_OUT/demo_target/duckdb_tmp), the sources pointed at the generated files with --vars;
#   3. the same command again: the event model takes its incremental branch, snapshots compare.
# Prints a Markdown table and the slowest nodes of each build; logs in $BENCH_OUT/demo_*.log.
#
# Environment: BENCH_OUT (default bench/out), BENCH_PROFILE (dev or release; default dev:
# DuckDB is compiled with optimisations in both, and it does the work), BENCH_REUSE=1 to keep
# the events of an earlier run with the same ROWS, CARGO_TARGET_DIR (honoured).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
ROWS="${1:-100M}"
PROFILE="${BENCH_PROFILE:-dev}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
EVENTS="$OUT/demo_events"
TARGET_PATH="$OUT/demo_target"
log() { printf '==> %s\n' "$*" >&2; }

source "$ROOT/bench/lib.sh"
bench_build "$PROFILE" --bin kiln --example gen_events || exit 1

rows_file="$EVENTS/.rows"
if [ "${BENCH_REUSE:-0}" = 1 ] && [ "$(cat "$rows_file" 2>/dev/null)" = "$ROWS" ]; then
    log "reusing the $ROWS events in $EVENTS"
    gen="reused"
else
    log "generating $ROWS click events into $EVENTS"
    /usr/bin/time -f '%e %M' -o "$OUT/demo_time.txt" \
        "$BIN/examples/gen_events" --rows "$ROWS" --out "$EVENTS" || exit 1
    echo "$ROWS" > "$rows_file"
    read -r wall kb < "$OUT/demo_time.txt"
    gen="| generate (gen_events) | ${wall} s | $((kb / 1024)) MiB | - |"
fi

VARS="{product_events_location: \"$EVENTS/click_events/*.parquet\", product_users_location: \"$EVENTS/users/*.parquet\"}"
rm -f bench/out/demo_bench.duckdb bench/out/demo_bench.duckdb.wal
rm -rf "$TARGET_PATH"
rows=()
slowest=()
for run in first second; do
    log "kiln build --target bench ($run run)"
    /usr/bin/time -f '%e %M' -o "$OUT/demo_time.txt" "$BIN/kiln" build --target bench \
        --target-path "$TARGET_PATH" --vars "$VARS" > "$OUT/demo_build_$run.log" 2>&1
    status=$?
    read -r wall kb < "$OUT/demo_time.txt"
    done_line="$(grep '^Done\.' "$OUT/demo_build_$run.log" | tail -1)"
    if [ "$status" -ne 0 ]; then
        log "kiln build failed (exit $status): see $OUT/demo_build_$run.log"
        tail -30 "$OUT/demo_build_$run.log" >&2
        exit 1
    fi
    rows+=("| kiln build, $run run | ${wall} s | $((kb / 1024)) MiB | ${done_line#Done. } |")
    # DuckDB deletes its spill files when the database closes; say so if any were left behind.
    if [ -n "$(ls -A "$TARGET_PATH/duckdb_tmp" 2>/dev/null)" ]; then
        log "left behind in $TARGET_PATH/duckdb_tmp: $(du -sh "$TARGET_PATH/duckdb_tmp" | cut -f1) (removed)"
        rm -rf "$TARGET_PATH/duckdb_tmp"
    fi
    slowest+=("$(python3 - "$TARGET_PATH/run_results.json" "$run" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
top = sorted(results, key=lambda r: -r["execution_time"])[:5]
print(f"slowest nodes, {sys.argv[2]} run: " + ", ".join(
    f'{r["unique_id"].split(".")[2]} {r["execution_time"]:.1f} s' for r in top))
EOF
)")
done

events="$(du -sh "$EVENTS/click_events" | cut -f1)"
printf '\n%s click events (%s of parquet), %s, load average %s\n\n' "$ROWS" "$events" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| step | wall | peak RSS | result |\n|---|---:|---:|---|\n'
[ "$gen" != reused ] && printf '%s\n' "$gen"
printf '%s\n' "${rows[@]}"
printf '\n'
printf '%s\n' "${slowest[@]}"
