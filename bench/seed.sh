#!/usr/bin/env bash
# kiln's seed benchmark. Run by hand, never from CI or tests (see bench/README.md).
#
#   bash bench/seed.sh [ROWS]          # default: 1000000
#
# Runs `examples/seed_load.rs`: a CSV of ROWS rows and eight columns of mixed types (integer,
# text, decimal, date, timestamp, boolean, 64-bit integer, integer with NULLs; about 78 MB for a
# million rows) in a temp dir, loaded three times as a seed into a DuckDB file: type inference
# (`seed::load`, one aggregate pass inside DuckDB) and the load plan (create, insert from
# read_csv, swap). Each run prints the time of both steps and rows per second.
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

ROWS="${1:-1000000}"
bench_build "${BENCH_PROFILE:-release}" --example seed_load || exit 1

echo "seed benchmark: $ROWS rows on $(nproc) cores"
"$BIN/examples/seed_load" "$ROWS"
