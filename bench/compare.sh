#!/usr/bin/env bash
# Two kiln binaries side by side, in one sitting: `kiln parse` of a generated 10,000-model
# project and `kiln build --threads 2` of a generated 1,000-model project, the runs of the two
# binaries interleaved (A, B, A, B, ...) so that a machine whose speed drifts affects both alike.
# Run by hand, never from CI; this is how a change that must be "no slower" is checked.
#
#   bash bench/compare.sh BEFORE_KILN AFTER_KILN [PARSE_MODELS] [BUILD_MODELS]
#
# BEFORE_KILN and AFTER_KILN are release binaries (e.g. built by `bench/lib.sh`'s `bench_build
# release --bin kiln` at each commit and copied aside). The projects come from this checkout's
# generators (`examples/gen_project.rs`, `examples/gen_build_project.rs`), built here. Each parse
# run starts without target/; each build run starts on a fresh database with the target/ the
# previous run of the same binary left (as bench/build.sh does). Prints the median wall time and
# peak memory of each (GNU time).
#
# Environment: BENCH_RUNS (default 7), BENCH_OUT (default bench/out), CARGO_TARGET_DIR.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
if [ "$#" -lt 2 ]; then
    echo "usage: bash bench/compare.sh BEFORE_KILN AFTER_KILN [PARSE_MODELS] [BUILD_MODELS]" >&2
    exit 2
fi
A="$(realpath "$1")"; B="$(realpath "$2")"
PARSE_MODELS="${3:-10000}"; BUILD_MODELS="${4:-1000}"
RUNS="${BENCH_RUNS:-7}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
log() { printf '==> %s\n' "$*" >&2; }
for bin in "$A" "$B"; do
    [ -x "$bin" ] || { echo "compare.sh: $bin is not an executable" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "compare.sh: needs GNU time (apt-get install -y time)" >&2; exit 2; }

source "$ROOT/bench/lib.sh"
bench_build release --example gen_project --example gen_build_project || exit 1

PARSE_PROJ="$OUT/compare_parse_${PARSE_MODELS}"
BUILD_PROJ="$OUT/compare_build_${BUILD_MODELS}"
rm -rf "$PARSE_PROJ" "$BUILD_PROJ"
log "generating $PARSE_PROJ and $BUILD_PROJ"
"$BIN/examples/gen_project" --models "$PARSE_MODELS" --out "$PARSE_PROJ" --seed 42 >/dev/null || exit 1
"$BIN/examples/gen_build_project" "$BUILD_PROJ" "$BUILD_MODELS" 10 10000 >/dev/null || exit 1
# Each binary builds its own copy, so that each keeps its own target/ between runs.
cp -a "$BUILD_PROJ" "$BUILD_PROJ.a" && cp -a "$BUILD_PROJ" "$BUILD_PROJ.b" || exit 1

# One timed run: prints "seconds KiB".
timed() {
    /usr/bin/time -f '%e %M' -o "$OUT/compare_time.txt" "$@" >/dev/null 2>"$OUT/compare_err.txt" || {
        echo "compare.sh: failed: $*" >&2
        cat "$OUT/compare_err.txt" >&2
        return 1
    }
    cat "$OUT/compare_time.txt"
}

parse_run() {
    rm -rf "$PARSE_PROJ/target"
    timed "$1" parse --project-dir "$PARSE_PROJ" --profiles-dir "$PARSE_PROJ"
}

build_run() {
    local proj="$2"
    rm -rf "$proj/bench.duckdb" "$proj/bench.duckdb.wal"
    timed "$1" build --threads 2 --quiet --project-dir "$proj" --profiles-dir "$proj"
}

declare -a pa pb ba bb pma pmb bma bmb
# A first build of each (no target/ yet), not counted, and a warm-up parse.
build_run "$A" "$BUILD_PROJ.a" >/dev/null || exit 1
build_run "$B" "$BUILD_PROJ.b" >/dev/null || exit 1
parse_run "$A" >/dev/null || exit 1
parse_run "$B" >/dev/null || exit 1
for i in $(seq 1 "$RUNS"); do
    read -r t m < <(parse_run "$A") || exit 1; pa+=("$t"); pma+=("$m")
    read -r t m < <(parse_run "$B") || exit 1; pb+=("$t"); pmb+=("$m")
    read -r t m < <(build_run "$A" "$BUILD_PROJ.a") || exit 1; ba+=("$t"); bma+=("$m")
    read -r t m < <(build_run "$B" "$BUILD_PROJ.b") || exit 1; bb+=("$t"); bmb+=("$m")
    log "run $i: parse ${pa[-1]}s / ${pb[-1]}s, build ${ba[-1]}s / ${bb[-1]}s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '\n| | %s | %s |\n|---|---:|---:|\n' "$(basename "$A")" "$(basename "$B")"
printf '| kiln parse, %s models (median of %s) | %.2f s | %.2f s |\n' "$PARSE_MODELS" "$RUNS" "$(median "${pa[@]}")" "$(median "${pb[@]}")"
printf '| its peak memory | %d MiB | %d MiB |\n' "$(( $(median "${pma[@]}") / 1024 ))" "$(( $(median "${pmb[@]}") / 1024 ))"
printf '| kiln build --threads 2, %s models (median of %s) | %.2f s | %.2f s |\n' "$BUILD_MODELS" "$RUNS" "$(median "${ba[@]}")" "$(median "${bb[@]}")"
printf '| its peak memory | %d MiB | %d MiB |\n' "$(( $(median "${bma[@]}") / 1024 ))" "$(( $(median "${bmb[@]}") / 1024 ))"
