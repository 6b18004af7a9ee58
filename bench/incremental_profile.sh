#!/usr/bin/env bash
# Profiles the plain incremental run of bench/incremental.sh (issue 17): where its time goes.
# Run by hand, never from CI.
#
#   BENCH_SNAPSHOT=1 bash bench/incremental.sh        # once: the project, kept before that run
#   bash bench/incremental_profile.sh TOOL            # TOOL: timings, time, strace-c, strace-tt, callgrind
#
# Each call puts the project back as it was before the plain run (database and target/), then runs
# `kiln run --select events_plain` once under TOOL:
#   timings     KILN_TIMINGS=1 (stage and statement timings, stderr)
#   time        /usr/bin/time -v (user and system CPU against wall)
#   strace-c    strace -f -c (system calls by count and time)
#   strace-tt   strace -f -tt on fsync, fdatasync, openat, rename, unlink (what is written, when)
#   callgrind   valgrind --tool=callgrind (instructions: stable under load); the output file is
#               printed, read it with callgrind_annotate --inclusive=yes
# Environment: BENCH_OUT and BENCH_PROFILE as for bench/incremental.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOL="${1:-timings}"
PROFILE="${BENCH_PROFILE:-release}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
P="$OUT/incremental"
[ -f "$P/before_plain.duckdb" ] || {
    echo "no snapshot in $P: run BENCH_SNAPSHOT=1 bash bench/incremental.sh first" >&2
    exit 2
}
source "$ROOT/bench/lib.sh"
bench_build "$PROFILE" --bin kiln >/dev/null
cp "$P/before_plain.duckdb" "$P/incr.duckdb"
rm -f "$P/incr.duckdb.wal"
rm -rf "$P/target"
# cp -a: the lineage cache is read only while lineage.json keeps the time it was written with.
cp -a "$P/before_plain_target" "$P/target"
cd "$P"
run=("$BIN/kiln" run --select events_plain)
case "$TOOL" in
timings) KILN_TIMINGS=1 "${run[@]}" ;;
time) /usr/bin/time -v "${run[@]}" ;;
strace-c) strace -f -c -o "$P/strace-c.txt" "${run[@]}" >/dev/null && cat "$P/strace-c.txt" ;;
strace-tt)
    strace -f -tt -e trace=fsync,fdatasync,openat,rename,unlink -o "$P/strace-tt.txt" "${run[@]}" >/dev/null
    grep -v -e ENOENT -e '/proc/' -e '/sys/' -e '\.so' "$P/strace-tt.txt"
    ;;
callgrind)
    valgrind --tool=callgrind --callgrind-out-file="$P/callgrind.out" "${run[@]}" >/dev/null
    echo "$P/callgrind.out"
    ;;
*)
    echo "unknown tool '$TOOL': timings, time, strace-c, strace-tt or callgrind" >&2
    exit 2
    ;;
esac
