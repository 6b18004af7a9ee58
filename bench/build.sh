#!/usr/bin/env bash
# kiln's build benchmark (issue 17, speed). Run by hand, never from CI.
#
#   bash bench/build.sh [MODELS] [SEEDS] [ROWS]     # default: 1000 10 10000
#
# Generates a project of MODELS small models on SEEDS seeds of ROWS rows, then, once without a
# target/ folder (run 0, reported apart) and BENCH_RUNS times (default 3) with the target/ the
# previous run left, each on a fresh database, back to back:
#   1. the physical limit: the project's minimal SQL replayed on one DuckDB connection by
#      ../shared/bench/replay_sql.py (each seed `create table ... as select * from read_csv(..)`,
#      each model `create or replace table|view ... as <compiled SQL>`, each test
#      `select count(*) from (<test SQL>)`, nothing else), from the previous kiln run's manifest
#      and compiled SQL; it needs a Python with the `duckdb` package at kiln's DuckDB version
#      (BENCH_PYTHON, default python3; skipped, with a note, without one);
#   2. `kiln build --threads 2` (wall time and peak memory, from /usr/bin/time);
#   3. the statements that kiln run executed (target/run/, in run_results order), replayed in
#      order on one DuckDB connection by `examples/replay.rs`: kiln's own SQL without kiln.
# Prints the medians and the ratios (the target: kiln ≤ 1.1 × the minimal-SQL replay).
#
# Environment: BENCH_RUNS, BENCH_OUT (default bench/out), BENCH_PROFILE (release or dev;
# default release), BENCH_PYTHON, BENCH_REPLAY_SQL (the replay script), BENCH_THREADS (kiln's
# --threads, default 2), CARGO_TARGET_DIR (honoured).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
MODELS="${1:-1000}"; SEEDS="${2:-10}"; ROWS="${3:-10000}"
RUNS="${BENCH_RUNS:-3}"
PROFILE="${BENCH_PROFILE:-release}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
log() { printf '==> %s\n' "$*" >&2; }

source "$ROOT/bench/lib.sh"
bench_build "$PROFILE" --bin kiln --example gen_build_project --example replay || exit 1

PROJ="$OUT/build_${MODELS}"
log "generating $PROJ ($MODELS models, $SEEDS seeds x $ROWS rows)"
"$BIN/examples/gen_build_project" "$PROJ" "$MODELS" "$SEEDS" "$ROWS" || exit 1

THREADS="${BENCH_THREADS:-2}"
PY="${BENCH_PYTHON:-python3}"
REPLAY_SQL="${BENCH_REPLAY_SQL:-$ROOT/../shared/bench/replay_sql.py}"
[ -f "$REPLAY_SQL" ] || REPLAY_SQL=/work/shared/bench/replay_sql.py
if [ -f "$REPLAY_SQL" ] && pyduck="$("$PY" -c 'import duckdb; print(duckdb.__version__)' 2>/dev/null)"; then
    log "minimal-SQL replay: $REPLAY_SQL with $PY (duckdb $pyduck)"
else
    log "no minimal-SQL replay: needs $REPLAY_SQL and a Python with duckdb (BENCH_PYTHON); e.g. python3 -m venv V && V/bin/pip install duckdb==1.5.6"
    REPLAY_SQL=""
fi

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
kiln_times=(); kiln_mem=(); base_times=(); min_times=()
minimal() { # the minimal-SQL replay's total seconds, on a fresh database
    rm -rf "$OUT/replay_sql" && mkdir -p "$OUT/replay_sql"
    "$PY" "$REPLAY_SQL" "$PROJ" --db "$OUT/replay_sql" | awk '$1 == "total" {print $4}'
}
# Run 0 starts without target/ (a fresh clone); it is reported on its own. The timed runs keep
# target/ from the run before (as repeated builds of a project do: kiln leaves compiled and run
# files that are unchanged alone), and each starts on a fresh database; the minimal replay runs
# right before each kiln build (it reads the previous build's manifest and compiled SQL).
rm -rf "$PROJ/target"
for i in $(seq 0 "$RUNS"); do
    min=""
    if [ "$i" != 0 ] && [ -n "$REPLAY_SQL" ]; then
        min="$(minimal)" || exit 1
        min_times+=("$min")
    fi
    rm -rf "$PROJ/bench.duckdb" "$PROJ/bench.duckdb.wal"
    /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$BIN/kiln" build --threads "$THREADS" --quiet \
        --project-dir "$PROJ" --profiles-dir "$PROJ" || { echo "kiln build failed" >&2; exit 1; }
    read -r wall kb < "$OUT/time.txt"
    mkdir -p "$OUT/replay" && rm -f "$OUT/replay/bench.duckdb"*
    base="$(cd "$PROJ" && "$BIN/examples/replay" "$PROJ" "$OUT/replay/bench.duckdb")" || exit 1
    if [ "$i" = 0 ]; then
        fresh_kiln="$wall"; fresh_base="$base"
        log "run 0 (no target/ yet): kiln ${wall}s (${kb} KiB peak), kiln's statements replayed ${base}s"
        continue
    fi
    kiln_times+=("$wall"); kiln_mem+=("$kb"); base_times+=("$base")
    log "run $i: minimal replay ${min:-–}s, kiln ${wall}s (${kb} KiB peak), kiln's statements replayed ${base}s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
done
k="$(printf '%s\n' "${kiln_times[@]}" | median)"
b="$(printf '%s\n' "${base_times[@]}" | median)"
m="$(printf '%s\n' "${kiln_mem[@]}" | median)"
printf '\n| models | minimal-SQL replay | kiln build --threads %s | kiln / minimal | kiln statements replayed | kiln / those | kiln peak memory |\n' "$THREADS"
printf '|---|---|---|---|---|---|---|\n'
if [ "${#min_times[@]}" -gt 0 ]; then
    r="$(printf '%s\n' "${min_times[@]}" | median)"
    printf '| %s | %.2f s | %.2f s | %.2fx | %.2f s | %.2fx | %d MiB |\n' "$MODELS" "$r" "$k" \
        "$(echo "$k / $r" | bc -l)" "$b" "$(echo "$k / $b" | bc -l)" "$((m / 1024))"
else
    printf '| %s | – | %.2f s | – | %.2f s | %.2fx | %d MiB |\n' "$MODELS" "$k" "$b" \
        "$(echo "$k / $b" | bc -l)" "$((m / 1024))"
fi
printf '\nRun 0, without target/ (every compiled and run file created): kiln %.2f s, its statements replayed %.2f s, %.2fx\n' \
    "$fresh_kiln" "$fresh_base" "$(echo "$fresh_kiln / $fresh_base" | bc -l)"
printf 'Each run: %s\n' "$(paste -d/ <(printf '%s\n' "${min_times[@]:-}") <(printf '%s\n' "${kiln_times[@]}") | tr '\n' ' ')(minimal/kiln s)"
