#!/usr/bin/env bash
# kiln's parse/compile benchmark. Run by hand, never from CI or tests (see bench/README.md).
#
#   bash bench/run.sh [N ...]          # default: 1000 10000
#
# Environment:
#   BENCH_RUNS=5          timed runs per command (median reported)
#   BENCH_SEED=42         generator seed
#   BENCH_OUT=DIR         where the projects go (default bench/out; /dev/shm/... takes the disk out)
#   BENCH_DBT=/path/dbt   also time `dbt parse --no-partial-parse` on the same projects (optional)
#   BENCH_DBT_RUNS=1      timed runs per dbt parse
#   CARGO_TARGET_DIR      honoured (cargo metadata tells where the binaries are)
#
# Exit status: 0 when every command ran (targets missed or not), 1 when a build or a command
# failed. Missing a target is reported in the table, not in the exit status.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(1000 10000); fi
RUNS="${BENCH_RUNS:-5}"
SEED="${BENCH_SEED:-42}"
DBT="${BENCH_DBT:-}"
DBT_RUNS="${BENCH_DBT_RUNS:-1}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT" || exit 1
OUT="$(cd "$OUT" && pwd)"

for n in "${SIZES[@]}"; do
    case "$n" in
        '' | *[!0-9]*) echo "run.sh: '$n' is not a number of models" >&2; exit 1 ;;
    esac
done

log() { printf '==> %s\n' "$*" >&2; }

# --- build -------------------------------------------------------------------------------------
source "$ROOT/bench/lib.sh"
if ! bench_build "${BENCH_PROFILE:-release}" --bin kiln --example gen_project; then
    echo "run.sh: the build failed" >&2
    exit 1
fi
KILN="$BIN/kiln"
GEN="$BIN/examples/gen_project"
for bin in "$KILN" "$GEN"; do
    [ -x "$bin" ] || { echo "run.sh: $bin was not built" >&2; exit 1; }
done

# --- tools -------------------------------------------------------------------------------------
HYPERFINE="$(command -v hyperfine || true)"
GNU_TIME=""
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then GNU_TIME=/usr/bin/time; fi
PYTHON="$(command -v python3 || true)"
[ -n "$HYPERFINE" ] || log "hyperfine not found (apt-get install -y hyperfine): timing with a date loop"
if [ -z "$GNU_TIME" ]; then
    if [ -n "$PYTHON" ]; then
        log "GNU time not found (apt-get install -y time): peak RSS via python getrusage"
    else
        log "neither GNU time nor python3: peak RSS not measured"
    fi
fi

# median_of FILE: median of the numbers in FILE, one a line.
median_of() {
    sort -g "$1" | awk '{ a[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) { printf "%.3f\n", a[(NR + 1) / 2] } else { printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 } }'
}

# peak_kib CMD...: runs CMD once (output discarded), prints its peak RSS in KiB ("nan" if unknown).
peak_kib() {
    local report
    report="$(mktemp)"
    if [ -n "$GNU_TIME" ]; then
        "$GNU_TIME" -v -o "$report" "$@" >/dev/null 2>&1
        awk -F': *' '/Maximum resident set size/ { print $2 }' "$report"
    elif [ -n "$PYTHON" ]; then
        "$PYTHON" - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
PY
    else
        echo nan
    fi
    rm -f "$report"
}

# median_secs RUNS PREPARE CMD...: median wall seconds of RUNS runs of CMD, PREPARE (a shell
# command) run before each one and untimed. One untimed warm-up run first.
median_secs() {
    local runs="$1" prepare="$2"
    shift 2
    local samples
    samples="$(mktemp)"
    if [ -n "$HYPERFINE" ]; then
        local csv quoted=""
        csv="$(mktemp)"
        for arg in "$@"; do quoted+="$(printf '%q ' "$arg")"; done
        hyperfine --style none --warmup 1 --runs "$runs" --prepare "$prepare" \
            --export-csv "$csv" "$quoted" >/dev/null 2>&1
        # command,mean,stddev,median,user,system,min,max
        awk -F, 'NR == 2 { print $4 }' "$csv" >"$samples"
        rm -f "$csv"
    else
        bash -c "$prepare"
        "$@" >/dev/null 2>&1
        local i t0 t1
        for ((i = 0; i < runs; i++)); do
            bash -c "$prepare"
            t0="$(date +%s.%N)"
            "$@" >/dev/null 2>&1
            t1="$(date +%s.%N)"
            awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$samples"
        done
    fi
    median_of "$samples"
    rm -f "$samples"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- measure -----------------------------------------------------------------------------------
ROWS=()
FAILED=0
for n in "${SIZES[@]}"; do
    P="$OUT/p$n"
    log "generating $n models into $P"
    if ! "$GEN" --models "$n" --out "$P" --seed "$SEED" >/dev/null; then
        echo "run.sh: gen_project failed for N=$n" >&2
        exit 1
    fi

    # parse: target/ removed before every run. compile twice: with the target/compiled files the
    # previous compile left (a re-compile: kiln leaves unchanged files alone), and with target/
    # removed (a first compile: every file created, which on some disks costs more than the rest).
    commands=(parse compile compile-fresh)
    for label in "${commands[@]}"; do
        cmd="${label%-fresh}"
        argv=("$KILN" "$cmd" --project-dir "$P" --profiles-dir "$P")
        case "$label" in
            compile) prepare="rm -rf '$P/target/manifest.json' '$P/logs'"; shown="kiln compile (target/ kept)" ;;
            compile-fresh) prepare="rm -rf '$P/target' '$P/logs'"; shown="kiln compile (no target/)" ;;
            *) prepare="rm -rf '$P/target' '$P/logs'"; shown="kiln $cmd" ;;
        esac
        log "N=$n: $shown"
        bash -c "$prepare"
        errlog="$OUT/kiln-$cmd-$n.log"
        if ! "${argv[@]}" >"$errlog" 2>&1; then
            echo "run.sh: 'kiln $cmd' failed on N=$n; last lines of $errlog:" >&2
            tail -n 15 "$errlog" >&2
            ROWS+=("| $n | $shown | failed | failed |")
            FAILED=1
            continue
        fi
        secs="$(median_secs "$RUNS" "$prepare" "${argv[@]}")"
        bash -c "$prepare"
        kib="$(peak_kib "${argv[@]}")"
        ROWS+=("| $n | $shown | $secs | $(awk -v k="$kib" 'BEGIN { if (k == "nan" || k == "") print "?"; else printf "%.0f", k / 1024 }') |")
    done

    if [ -n "$DBT" ]; then
        argv=("$DBT" parse --no-partial-parse --project-dir "$P" --profiles-dir "$P")
        prepare="rm -rf '$P/target' '$P/logs'"
        log "N=$n: dbt parse (BENCH_DBT)"
        export DBT_SEND_ANONYMOUS_USAGE_STATS=false
        bash -c "$prepare"
        if ! "${argv[@]}" >"$OUT/dbt-parse-$n.log" 2>&1; then
            echo "run.sh: 'dbt parse' failed on N=$n; see $OUT/dbt-parse-$n.log" >&2
            ROWS+=("| $n | dbt parse | failed | failed |")
            FAILED=1
        else
            secs="$(median_secs "$DBT_RUNS" "$prepare" "${argv[@]}")"
            bash -c "$prepare"
            kib="$(peak_kib "${argv[@]}")"
            ROWS+=("| $n | dbt parse | $secs | $(awk -v k="$kib" 'BEGIN { if (k == "nan" || k == "") print "?"; else printf "%.0f", k / 1024 }') |")
        fi
    fi
    rm -rf "$P/target" "$P/logs"
done

# --- report ------------------------------------------------------------------------------------
# verdict N COMMAND SECS MIB: the target for this row and whether it was met.
verdict() {
    local n="$1" cmd="$2" secs="$3" mib="$4"
    if [ "$n" != 10000 ] || [ "$secs" = failed ]; then echo "| - | - |"; return; fi
    case "$cmd" in
        "kiln parse") awk -v s="$secs" 'BEGIN { printf "| ≤ 1 s | %s |\n", (s <= 1 ? "met" : "MISSED") }' ;;
        "kiln compile"*) awk -v s="$secs" -v m="$mib" 'BEGIN {
            ok = (s <= 2) && (m != "?" && m <= 400)
            printf "| ≤ 2 s, ≤ 400 MiB | %s |\n", (ok ? "met" : "MISSED") }' ;;
        *) echo "| - | - |" ;;
    esac
}

REPORT="$OUT/results.md"
{
    echo "kiln parse/compile benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    timer="date loop"; [ -n "$HYPERFINE" ] && timer="hyperfine $(hyperfine --version | awk '{ print $2 }')"
    rss="python getrusage"; [ -n "$GNU_TIME" ] && rss="GNU time -v"; [ -z "$GNU_TIME$PYTHON" ] && rss="none"
    echo "projects in $OUT ($(df -T "$OUT" | awk 'NR == 2 { print $2 }')), load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "runs per command: $RUNS (median), timer: $timer, peak RSS: $rss; target/ removed before every run but the kept-target compile's"
    echo
    echo "| N | command | median s | peak MiB | target | verdict |"
    echo "|---:|---|---:|---:|---|---|"
    for row in "${ROWS[@]}"; do
        IFS='|' read -r _ n cmd secs mib _ <<<"$row"
        n="$(echo "$n" | xargs)"; cmd="$(echo "$cmd" | xargs)"
        secs="$(echo "$secs" | xargs)"; mib="$(echo "$mib" | xargs)"
        echo "$row$(verdict "$n" "$cmd" "$secs" "$mib" | sed 's/^|//')"
    done
} | tee "$REPORT"
log "table written to $REPORT"
exit "$FAILED"
