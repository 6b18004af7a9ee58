#!/usr/bin/env bash
# kiln's seed benchmark. Run by hand, never from CI or tests (see bench/README.md).
#
#   bash bench/seed.sh [ROWS]          # default: 1000000
#
# Generates a CSV of ROWS rows and eight columns of mixed types (integer, text, decimal, date,
# timestamp, boolean, 64-bit integer, integer with NULLs; about 78 MB for a million rows) in a temp
# dir, then loads it three times as a seed into a DuckDB file: type inference (`seed::load`, one
# aggregate pass inside DuckDB) and the load plan (create, insert from read_csv, swap). Each run
# prints the time of both steps and rows per second. It is the ignored test
# `bench_seed_million_rows` in tests/seeds.rs.
#
# Environment:
#   BENCH_RELEASE=1       build with --release (a cold release build of DuckDB takes a while; the
#                         dev profile already compiles DuckDB with optimisations, see Cargo.toml)
#   CARGO_TARGET_DIR      honoured
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ROWS="${1:-1000000}"
PROFILE=()
if [ "${BENCH_RELEASE:-0}" = "1" ]; then PROFILE=(--release); fi

echo "seed benchmark: $ROWS rows on $(nproc) cores"
SEED_BENCH_ROWS="$ROWS" cargo test "${PROFILE[@]}" --test seeds -- \
    --ignored --exact bench_seed_million_rows --nocapture
