#!/usr/bin/env bash
# Runs real dbt projects under kiln and under dbt-core side by side, and compares them:
# dbt-labs/jaffle-shop (with its packages dbt_utils, dbt_date, audit_helper) and dbt_utils's own
# integration-test project, both on DuckDB. Run by hand; results go in bench/README.md.
#
#   bench/compat.sh SRC [WORK]
#
# SRC holds the sources, never committed here: SRC/jaffle-shop, SRC/dbt-utils, SRC/dbt-date
# (godatadriven/dbt-date) and SRC/dbt-audit-helper (e.g. `git clone` or the snapshots of those
# repositories). WORK (default: a new folder under /tmp) receives two copies of each project,
# kiln/ and dbt/, each with its own DuckDB file, and the logs.
#
# Environment: KILN (a kiln binary; default: `cargo build` of this checkout, dev profile), DBT
# (default /work/dbtenv/bin/dbt), PY (a Python with the duckdb module, default the one beside
# DBT), KILN_EXTRA (extra flags for `kiln build`, e.g. `--exclude-resource-type unit_test`),
# ONLY (jaffle or utils: run one project), KILN_EXTENSION_DIR (a DuckDB extension directory
# holding v<version>/<platform>/icu.duckdb_extension, e.g. ~/.cache/kiln/duckdb-extensions as
# .ci/run lays it out: given to kiln's copies as the DuckDB setting `extension_directory`, so the
# default build, which does not link ICU, loads it offline; dbt-duckdb's DuckDB has ICU built in).
#
# jaffle-shop's raw_orders.csv and raw_items.csv are large files a snapshot may lack; when absent
# they are generated (deterministic, consistent with the project's tests), so both tools read
# the same data.

set -u
here="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "${1:?usage: bench/compat.sh SRC [WORK]}" && pwd)"
WORK="${2:-$(mktemp -d /tmp/kiln-compat.XXXXXX)}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
DBT="${DBT:-/work/dbtenv/bin/dbt}"
PY="${PY:-$(dirname "$DBT")/python}"
if [ -z "${KILN:-}" ]; then
    # shellcheck source=bench/lib.sh
    source "$here/lib.sh"
    (cd "$here/.." && bench_build dev --bin kiln) || exit 1
    KILN="$(cd "$here/.." && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/kiln"
fi
for d in jaffle-shop dbt-utils dbt-date dbt-audit-helper; do
    [ -d "$SRC/$d" ] || { echo "compat: $SRC/$d is missing" >&2; exit 2; }
done

# The last summary line of a log (`Done. PASS=.. WARN=.. ERROR=.. SKIP=.. NO-OP=.. TOTAL=..`).
summary() { grep -a "Done\. PASS=" "$1" | tail -1 | sed 's/.*Done\. //; s/\x1b\[[0-9;]*m//g'; }

# `tool dir args...`: runs kiln or dbt in dir, logging to $WORK/logs/<tool>-<label>.log.
run() {
    local tool="$1" dir="$2" label="$3"; shift 3
    local log="$WORK/logs/$tool-$label.log"
    mkdir -p "$WORK/logs"
    printf '==> %s %s (in %s)\n' "$tool" "$*" "$dir" >&2
    if [ "$tool" = kiln ]; then
        (cd "$dir" && "$KILN" "$@" --profiles-dir . >"$log" 2>&1)
    else
        (cd "$dir" && "$DBT" "$@" --profiles-dir . >"$log" 2>&1)
    fi
    printf '    exit %s  %s\n' "$?" "$(summary "$log")" >&2
}

# Each node's status from run_results.json: `unique_id status`, sorted.
statuses() {
    "$PY" - "$1/target/run_results.json" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except OSError:
    sys.exit(0)
for x in sorted(r["results"], key=lambda x: x["unique_id"]):
    print(x["unique_id"], x["status"])
EOF
}

# Every table and view of a DuckDB file with its row count and a digest of its sorted rows.
tables() {
    "$PY" - "$1" <<'EOF'
import duckdb, hashlib, sys
con = duckdb.connect(sys.argv[1], read_only=True)
rels = con.execute("""select table_schema, table_name from information_schema.tables
    where table_schema not in ('information_schema', 'pg_catalog') order by 1, 2""").fetchall()
for schema, name in rels:
    q = f'select * from "{schema}"."{name}"'
    try:
        rows = con.execute(q).fetchall()
    except Exception as e:
        print(f"{schema}.{name} ERROR {str(e).splitlines()[0]}")
        continue
    digest = hashlib.sha1("\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()[:12]
    print(f"{schema}.{name} rows={len(rows)} sha1={digest}")
EOF
}

compare() {
    local label="$1" kdir="$2" ddir="$3" db="$4"
    statuses "$kdir" >"$WORK/logs/kiln-$label.status"
    statuses "$ddir" >"$WORK/logs/dbt-$label.status"
    echo "--- $label: node statuses (dbt | kiln), where they differ"
    join -a1 -a2 -e missing -o 0,1.2,2.2 "$WORK/logs/dbt-$label.status" "$WORK/logs/kiln-$label.status" |
        awk '$2 != $3 { print "  " $0 }'
    echo "--- $label: passing under dbt-core, and under kiln too"
    awk '$2 == "pass" || $2 == "success" { print $1 }' "$WORK/logs/dbt-$label.status" | sort >"$WORK/logs/dbt-$label.ok"
    awk '$2 == "pass" || $2 == "success" { print $1 }' "$WORK/logs/kiln-$label.status" | sort >"$WORK/logs/kiln-$label.ok"
    printf '  dbt-core: %s of %s   kiln: %s of %s   passing under both: %s\n' \
        "$(wc -l <"$WORK/logs/dbt-$label.ok")" "$(wc -l <"$WORK/logs/dbt-$label.status")" \
        "$(wc -l <"$WORK/logs/kiln-$label.ok")" "$(wc -l <"$WORK/logs/kiln-$label.status")" \
        "$(comm -12 "$WORK/logs/dbt-$label.ok" "$WORK/logs/kiln-$label.ok" | wc -l)"
    if [ -n "$db" ]; then
        tables "$kdir/$db" >"$WORK/logs/kiln-$label.tables"
        tables "$ddir/$db" >"$WORK/logs/dbt-$label.tables"
        echo "--- $label: tables (name, rows, digest of the sorted rows): diff dbt kiln"
        if diff "$WORK/logs/dbt-$label.tables" "$WORK/logs/kiln-$label.tables" >"$WORK/logs/$label.tables.diff"; then
            echo "  identical: $(wc -l <"$WORK/logs/dbt-$label.tables") relations"
        else
            sed 's/^/  /' "$WORK/logs/$label.tables.diff"
        fi
    fi
}

profile() { # name schema
    cat <<EOF
$1:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: compat.duckdb
      schema: $2
      threads: 4
EOF
}

# kiln's DuckDB settings, appended to its copies' profiles (see KILN_EXTENSION_DIR above).
kiln_settings() {
    [ -n "${KILN_EXTENSION_DIR:-}" ] || return 0
    printf '      settings:\n        extension_directory: %s\n' "$KILN_EXTENSION_DIR"
}

# Copies of the packages with their own packages.yml pointing at the local copies (no hub).
packages() {
    local p="$WORK/packages"
    rm -rf "$p" && mkdir -p "$p"
    for d in dbt-utils dbt-date dbt-audit-helper; do cp -r "$SRC/$d" "$p/$d"; done
    for d in dbt-date dbt-audit-helper; do
        printf 'packages:\n  - local: %s\n' "$p/dbt-utils" >"$p/$d/packages.yml"
    done
}

jaffle() {
    packages
    for tool in kiln dbt; do
        local d="$WORK/$tool/jaffle-shop"
        rm -rf "$d" && mkdir -p "$WORK/$tool" && cp -r "$SRC/jaffle-shop" "$d"
        rm -rf "$d/dbt_packages" "$d/package-lock.yml" "$d/target"
        cat >"$d/packages.yml" <<EOF
packages:
  - local: $WORK/packages/dbt-utils
  - local: $WORK/packages/dbt-date
  - local: $WORK/packages/dbt-audit-helper
EOF
        profile default main >"$d/profiles.yml"
        if [ "$tool" = kiln ]; then kiln_settings >>"$d/profiles.yml"; fi
        "$PY" - "$d/seeds/jaffle-data" <<'EOF'
# raw_orders.csv and raw_items.csv, when the snapshot lacks them: orders of the customers at
# the stores, each with 1-4 products; subtotal = the items' prices, tax at the store's rate.
import csv, os, random, sys, uuid
d = sys.argv[1]
if os.path.exists(f"{d}/raw_orders.csv") and os.path.exists(f"{d}/raw_items.csv"):
    sys.exit(0)
rnd = random.Random(13)
customers = [r["id"] for r in csv.DictReader(open(f"{d}/raw_customers.csv"))]
stores = [(r["id"], float(r["tax_rate"]), r["opened_at"][:10]) for r in csv.DictReader(open(f"{d}/raw_stores.csv"))]
products = [(r["sku"], int(r["price"])) for r in csv.DictReader(open(f"{d}/raw_products.csv"))]
uid = lambda: str(uuid.UUID(int=rnd.getrandbits(128), version=4))
with open(f"{d}/raw_orders.csv", "w", newline="") as fo, open(f"{d}/raw_items.csv", "w", newline="") as fi:
    o, i = csv.writer(fo), csv.writer(fi)
    o.writerow(["id", "customer", "ordered_at", "store_id", "subtotal", "tax_paid", "order_total"])
    i.writerow(["id", "order_id", "sku"])
    for n in range(6000):
        store, rate, opened = rnd.choice(stores)
        day = rnd.randrange(0, 365)
        y, doy = 2024, day
        month, mday = 1 + doy // 31, 1 + doy % 28
        oid = uid()
        items = [rnd.choice(products) for _ in range(rnd.randint(1, 4))]
        subtotal = sum(p for _, p in items)
        tax = round(subtotal * rate)
        o.writerow([oid, rnd.choice(customers), f"{y}-{min(month, 12):02d}-{mday:02d}T{rnd.randint(7, 19):02d}:{rnd.randint(0, 59):02d}:00", store, subtotal, tax, subtotal + tax])
        for sku, _ in items:
            i.writerow([uid(), oid, sku])
EOF
    done
    local k="$WORK/kiln/jaffle-shop" b="$WORK/dbt/jaffle-shop"
    local seedvars='{"load_source_data": true}'
    run kiln "$k" jaffle-deps deps
    run dbt "$b" jaffle-deps deps
    run kiln "$k" jaffle-seed seed --full-refresh --vars "$seedvars"
    run dbt "$b" jaffle-seed seed --full-refresh --vars "$seedvars"
    # shellcheck disable=SC2086
    run kiln "$k" jaffle-build build ${KILN_EXTRA:-}
    run dbt "$b" jaffle-build build
    compare jaffle "$k" "$b" compat.duckdb
}

utils() {
    for tool in kiln dbt; do
        local d="$WORK/$tool/dbt-utils"
        rm -rf "$d" && mkdir -p "$WORK/$tool" && cp -r "$SRC/dbt-utils" "$d"
        local it="$d/integration_tests"
        rm -rf "$it/dbt_packages" "$it/package-lock.yml" "$it/target"
        profile integration_tests main >"$it/profiles.yml"
        if [ "$tool" = kiln ]; then kiln_settings >>"$it/profiles.yml"; fi
    done
    local k="$WORK/kiln/dbt-utils/integration_tests" b="$WORK/dbt/dbt-utils/integration_tests"
    run kiln "$k" utils-deps deps
    run dbt "$b" utils-deps deps
    run kiln "$k" utils-seed seed --full-refresh
    run dbt "$b" utils-seed seed --full-refresh
    # shellcheck disable=SC2086
    run kiln "$k" utils-build build ${KILN_EXTRA:-}
    run dbt "$b" utils-build build
    compare utils "$k" "$b" ""
}

case "${ONLY:-all}" in
    jaffle) jaffle ;;
    utils) utils ;;
    *) jaffle; utils ;;
esac
echo "logs: $WORK/logs"
