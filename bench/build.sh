#!/usr/bin/env bash
# kiln's build benchmark (issue: "kiln builds on DuckDB", speed). Run by hand, never from CI.
#
#   bash bench/build.sh [MODELS] [SEEDS] [ROWS]     # default: 1000 10 10000
#
# Generates a project of MODELS small models on SEEDS seeds of ROWS rows, then, once without a
# target/ folder (run 0, reported apart) and BENCH_RUNS times (default 3) with the target/ the
# previous run left, on a fresh database each time:
#   1. `kiln build --threads 2` (wall time and peak memory, from /usr/bin/time);
#   2. the baseline: the statements that run executed (target/run/, in run_results order),
#      replayed in order on one DuckDB connection by `examples/replay.rs`.
# Prints the medians and their ratio (the target: kiln ≤ 1.1 × baseline).
#
# Environment: BENCH_RUNS, BENCH_OUT (default bench/out), BENCH_PROFILE (release or dev;
# default release), CARGO_TARGET_DIR (honoured).
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

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
kiln_times=(); kiln_mem=(); base_times=()
# Run 0 starts without target/ (a fresh clone); it is reported on its own. The timed runs keep
# target/ from the run before, as repeated builds of a project do (kiln leaves compiled and run
# files that are unchanged alone), and each starts on a fresh database.
rm -rf "$PROJ/target"
for i in $(seq 0 "$RUNS"); do
    rm -rf "$PROJ/bench.duckdb" "$PROJ/bench.duckdb.wal"
    /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$BIN/kiln" build --threads 2 --quiet \
        --project-dir "$PROJ" --profiles-dir "$PROJ" || { echo "kiln build failed" >&2; exit 1; }
    read -r wall kb < "$OUT/time.txt"
    mkdir -p "$OUT/replay" && rm -f "$OUT/replay/bench.duckdb"*
    base="$(cd "$PROJ" && "$BIN/examples/replay" "$PROJ" "$OUT/replay/bench.duckdb")" || exit 1
    if [ "$i" = 0 ]; then
        fresh_kiln="$wall"; fresh_base="$base"
        log "run 0 (no target/ yet): kiln ${wall}s (${kb} KiB peak), baseline ${base}s"
        continue
    fi
    kiln_times+=("$wall"); kiln_mem+=("$kb"); base_times+=("$base")
    log "run $i: kiln ${wall}s (${kb} KiB peak), baseline ${base}s"
done
k="$(printf '%s\n' "${kiln_times[@]}" | median)"
b="$(printf '%s\n' "${base_times[@]}" | median)"
m="$(printf '%s\n' "${kiln_mem[@]}" | median)"
printf '\n| models | kiln build --threads 2 | one-connection replay | ratio | kiln peak memory |\n'
printf '|---|---|---|---|---|\n'
printf '| %s | %.2f s | %.2f s | %.2fx | %d MiB |\n' "$MODELS" "$k" "$b" "$(echo "$k / $b" | bc -l)" "$((m / 1024))"
printf '\nRun 0, without target/ (every compiled and run file created): kiln %.2f s, replay %.2f s, %.2fx\n' \
    "$fresh_kiln" "$fresh_base" "$(echo "$fresh_kiln / $fresh_base" | bc -l)"
