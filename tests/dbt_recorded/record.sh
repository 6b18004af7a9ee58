#!/usr/bin/env bash
# Records dbt-core's behaviour on a copy of the demo warehouse, for the tests that hold kiln to it.
# Not run in CI (the tests read the recordings; they never need dbt). Re-run it when the demo's
# nodes change, with a Python environment that has dbt-core 1.11 and dbt-duckdb:
#
#   python3 -m venv /tmp/dbtenv && /tmp/dbtenv/bin/pip install "dbt-core~=1.11.0" dbt-duckdb
#   DBT=/tmp/dbtenv/bin/dbt bash tests/dbt_recorded/record.sh
#
# Each build scenario writes `<scenario>.txt`: the run's `Done.` line, then `status unique_id` for
# every node the run visited, sorted; `source_freshness.txt` has one line per source checked.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
out="$repo/tests/dbt_recorded"
dbt="${DBT:-dbt}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A fresh copy of the demo's project files (what dbt_project.yml reads).
demo_copy() {
  local dir="$work/$1"
  rm -rf "$dir" && mkdir -p "$dir/tests"
  (cd "$repo" && cp -r dbt_project.yml profiles.yml selectors.yml models macros seeds snapshots analyses data "$dir/")
  cp -r "$repo/tests/data" "$dir/tests/"
  echo "$dir"
}

# `Done.` line and statuses of the last run in $1.
summarise() {
  local dir="$1" log="$2" dest="$3"
  {
    grep -o 'Done\. PASS=.*' "$log" | sed 's/\x1b\[[0-9;]*m//g' | tail -n 1
    python3 - "$dir/target/kiln/run_results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for x in sorted(r["results"], key=lambda x: x["unique_id"]):
    print(x["status"], x["unique_id"])
PY
  } > "$dest"
}

# Breaks a model at run time: its SQL reads a table that does not exist.
break_model() {
  local dir="$1" model="$2"
  local f
  f="$(find "$dir/models" -name "$model.sql")"
  printf 'select * from table_that_does_not_exist\n' > "$f"
}

# 1. The whole demo.
d="$(demo_copy full)"
(cd "$d" && "$dbt" build --profiles-dir . > build.log 2>&1)
summarise "$d" "$d/build.log" "$out/build_full.txt"

# 2-3. A leaf and a mid-graph model broken: what build skips; then what retry re-runs.
for model in experiment_daily int_costs_monthly; do
  d="$(demo_copy "broken_$model")"
  break_model "$d" "$model"
  (cd "$d" && "$dbt" build --profiles-dir . > build.log 2>&1) || true
  summarise "$d" "$d/build.log" "$out/build_broken_$model.txt"
  (cd "$d" && "$dbt" retry --profiles-dir . > retry.log 2>&1) || true
  summarise "$d" "$d/retry.log" "$out/retry_broken_$model.txt"
  # --quiet still prints errors: its whole stdout, timestamps and colours removed.
  (cd "$d" && "$dbt" build --profiles-dir . -q -s "$model" > quiet.log 2>&1) || true
  sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^[0-9:]\{8\}  //' "$d/quiet.log" > "$out/quiet_broken_$model.txt"
done

# 4. Source freshness of the whole demo: `status unique_id warn_after error_after` per source
# checked (the committed data is from 2024, so every one is stale; dbt exits 1).
d="$(demo_copy freshness)"
(cd "$d" && "$dbt" source freshness --profiles-dir . > freshness.log 2>&1) || true
python3 - "$d/target/kiln/sources.json" > "$out/source_freshness.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def after(c):
    return f"{c['count']}{c['period'][0]}" if c and c.get("count") else "-"
for x in sorted(r["results"], key=lambda x: x["unique_id"]):
    c = x["criteria"]
    print(x["status"], x["unique_id"], after(c.get("warn_after")), after(c.get("error_after")))
PY

# 5. The manifest of the whole demo, for the node-by-node comparison (tests/manifest_dbt.rs).
# The temp folder's path (root_path) is replaced, so re-recording gives a stable file.
sed "s#$work/full#<project>#g" "$work/full/target/kiln/manifest.json" > "$out/manifest.json"
echo "recorded into $out"
