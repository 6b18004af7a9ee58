#!/usr/bin/env bash
# kiln's column-lineage benchmark. Run by hand, never from CI or tests (see bench/README.md).
#
#   bash bench/lineage.sh [N] [SEED]   # default: 10000 queries, seed 42
#
# Runs `examples/lineage_bench.rs`: N generated dbt-like queries (six shapes: staging over a `*`
# CTE, join + GROUP BY ALL, window + QUALIFY, CTEs + UNION BY NAME, CASE + scalar subquery, CTEs
# joined with USING) against 500 upstream relations of 10 to 32 columns; times parsing them
# (sqlparser), then computing their column lineage from the parsed statements
# (`kiln::sql::lineage::analyze_statement`), each the best of three rounds.
# It fails if any query's lineage comes back incomplete.
#
# Environment:
#   BENCH_PROFILE=release  release (default: see bench/lib.sh for how DuckDB is linked) or dev
#   BENCH_BUNDLED=1        with release: compile DuckDB's bundled C++ instead of linking its library
#   CARGO_TARGET_DIR       honoured
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

N="${1:-10000}"
SEED="${2:-42}"
bench_build "${BENCH_PROFILE:-release}" --example lineage_bench || exit 1

echo "lineage benchmark: $N queries on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/examples/lineage_bench" "$N" "$SEED"
