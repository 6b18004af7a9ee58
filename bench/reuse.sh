#!/usr/bin/env bash
# Skipping unchanged work (issue 17): a second `kiln build` of an unchanged project against the
# first. Run by hand, never from CI.
#
#   bash bench/reuse.sh [MODELS] [SEEDS] [ROWS]     # default: 1000 10 10000
#
# Generates the build benchmark's project (examples/gen_build_project.rs), then BENCH_RUNS times
# (default 3), each on a fresh database without target/:
#   1. `kiln build --threads 2` (everything built; the build state recorded);
#   2. `kiln build --threads 2` again, nothing changed (what is unchanged is REUSED);
#   3. one seed's file edited, then `kiln build --threads 2` (what it reaches is rebuilt).
# Prints the medians and the ratio of the second build to the first (the target: ≤ 0.10).
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
bench_build "$PROFILE" --bin kiln --example gen_build_project || exit 1

PROJ="$OUT/reuse_${MODELS}"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { # prints the wall time of one kiln build; its Done. line goes to stderr
    /usr/bin/time -f '%e' -o "$OUT/time.txt" "$BIN/kiln" build --threads 2 \
        --project-dir "$PROJ" --profiles-dir "$PROJ" > "$OUT/reuse_log.txt" 2>&1 ||
        { cat "$OUT/reuse_log.txt" >&2; echo "kiln build failed" >&2; exit 1; }
    grep -o 'Done\..*' "$OUT/reuse_log.txt" >&2
    cat "$OUT/time.txt"
}
first=(); second=(); third=()
for i in $(seq 1 "$RUNS"); do
    rm -rf "$PROJ"
    log "generating $PROJ ($MODELS models, $SEEDS seeds x $ROWS rows)"
    "$BIN/examples/gen_build_project" "$PROJ" "$MODELS" "$SEEDS" "$ROWS" >/dev/null || exit 1
    a="$(timed)"; b="$(timed)"
    # one seed edited: its last row's first field changed
    seed="$(ls "$PROJ"/seeds/*.csv | head -1)"
    python3 - "$seed" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines()
cells = lines[-1].split(",")
cells[0] = str(int(cells[0]) + 1000000) if cells[0].isdigit() else cells[0] + "x"
lines[-1] = ",".join(cells)
open(p, "w").write("\n".join(lines) + "\n")
EOF
    c="$(timed)"
    first+=("$a"); second+=("$b"); third+=("$c")
    log "run $i: first ${a}s, second (unchanged) ${b}s, after one seed changed ${c}s"
done
f="$(printf '%s\n' "${first[@]}" | median)"
s="$(printf '%s\n' "${second[@]}" | median)"
t="$(printf '%s\n' "${third[@]}" | median)"
printf '\n| models | first build | second build, unchanged | ratio | after one seed changed |\n'
printf '|---|---|---|---|---|\n'
printf '| %s | %.2f s | %.2f s | %.3f | %.2f s |\n' "$MODELS" "$f" "$s" "$(echo "$s / $f" | bc -l)" "$t"
