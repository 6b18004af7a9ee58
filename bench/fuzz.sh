#!/usr/bin/env bash
# Fuzzes kiln's front end for a bounded time (issue 17, "Fuzzing"): the selector grammar, the YAML
# loaders (dbt_project.yml, profiles.yml, properties, selectors.yml, packages.yml) and Jinja
# rendering of model and macro files, with examples/fuzz.rs (a mutation fuzzer with its own PRNG,
# seeded from tests/fixtures; see its header). Run by hand; results go in bench/README.md.
#
#   bash bench/fuzz.sh [SECONDS_PER_TARGET]      # default 300
#
# Environment: BENCH_PROFILE (dev or release; default dev: the fuzzer wants debug assertions and
# overflow checks), BENCH_OUT (default bench/out), FUZZ_SEED (default 17), FUZZ_TARGETS (default
# "selector yaml jinja"). Findings (the input and the panic message, or the input that hung) go to
# $BENCH_OUT/fuzz/<target>/; the script exits 1 when any target found a panic or a hang.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECS="${1:-300}"
PROFILE="${BENCH_PROFILE:-dev}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
SEED="${FUZZ_SEED:-17}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
source "$ROOT/bench/lib.sh"
bench_build "$PROFILE" --example fuzz >/dev/null || exit 2
status=0
for target in ${FUZZ_TARGETS:-selector yaml jinja}; do
    dir="$OUT/fuzz/$target"
    rm -rf "$dir" && mkdir -p "$dir"
    printf '==> fuzz %s for %s s (seed %s)\n' "$target" "$SECS" "$SEED" >&2
    "$BIN/examples/fuzz" "$target" "$SECS" --seed "$SEED" --out "$dir" | tee "$dir/summary.txt"
    code=${PIPESTATUS[0]}
    if [ "$code" != 0 ]; then
        echo "fuzz $target: findings in $dir (exit $code)" >&2
        status=1
    fi
done
exit $status
