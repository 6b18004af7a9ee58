#!/usr/bin/env bash
# Records dbt-core's behaviour on a copy of the demo warehouse, for the tests that hold kiln to it.
# Not run in CI (the tests read the recordings; they never need dbt). Re-run it when the demo's
# nodes change, with a Python environment that has dbt-core 1.11 and dbt-duckdb:
#
#   python3 -m venv /tmp/dbtenv && /tmp/dbtenv/bin/pip install "dbt-core~=1.11.0" dbt-duckdb
#   DBT=/tmp/dbtenv/bin/dbt bash tests/dbt_recorded/record.sh
#
# Each scenario of the demo writes `<scenario>.txt`: the run's `Done.` line, then
# `status unique_id` for every node the run visited, sorted; `source_freshness.txt` has one line
# per source checked. The log scenarios (`log_events_*`) record what dbt prints on
# tests/fixtures/log_events, as JSON events or as text with the timestamps and colours removed.
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
  (cd "$repo" && cp -r dbt_project.yml profiles.yml selectors.yml packages.yml packages models macros seeds snapshots analyses data "$dir/")
  cp -r "$repo/tests/data" "$dir/tests/"
  # kiln's quality checks (the `kiln` package, packages/kiln): built into kiln, installed for dbt.
  (cd "$dir" && "$dbt" deps --profiles-dir . > deps.log 2>&1)
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
# The build's manifest (step 5 writes it): `docs generate` below rewrites target/manifest.json
# without the compiled fields.
cp "$d/target/kiln/manifest.json" "$work/full_build_manifest.json"
# 1b. catalog.json of the built demo (tests/catalog.rs), then of a selection: the unique_ids it
# keeps (nodes, then sources).
(cd "$d" && "$dbt" docs generate --profiles-dir . > docs.log 2>&1)
cp "$d/target/kiln/catalog.json" "$out/catalog.json"
(cd "$d" && "$dbt" docs generate --profiles-dir . -s billing_plans +growth > docs_select.log 2>&1)
python3 - "$d/target/kiln/catalog.json" > "$out/catalog_select.txt" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for section in ("nodes", "sources"):
    for unique_id in c[section]:
        print(section, unique_id)
PY

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
sed "s#$work/full#<project>#g" "$work/full_build_manifest.json" > "$out/manifest.json"
# 6. dbt's log on a small project (tests/fixtures/log_events: a seed, a table and a view, a model
# failing at run time and one skipped, passing, warning and skipped tests, sources with freshness
# thresholds, a macro printing a table). The temp folder's path is replaced by <project>.
le="$work/log_events"
cp -r "$repo/tests/fixtures/log_events" "$le"
strip() { sed -e "s#$le#<project>#g" -e 's/\x1b\[[0-9;]*m//g' -e 's/^[0-9:]\{8\}  //' "$1"; }
(cd "$le" && "$dbt" build --profiles-dir . --log-format json > build.json 2>&1) || true
sed "s#$le#<project>#g" "$le/build.json" > "$out/log_events_build.json"
# At debug level: only the debug events kiln emits too (dbt's others are about its internals).
(cd "$le" && "$dbt" build --profiles-dir . --log-format json --log-level debug > debug.json 2>&1) || true
python3 - "$le/debug.json" <<'PY' | sed "s#$le#<project>#g" > "$out/log_events_build_debug.json"
import json, sys
keep = {"NodeStart", "NodeFinished", "SQLQuery", "SQLQueryStatus", "MainReportArgs", "CommandCompleted"}
for line in open(sys.argv[1]):
    if json.loads(line)["info"]["name"] in keep:
        print(line, end="")
PY
(cd "$le" && "$dbt" build --profiles-dir . --log-format json -q > quiet.json 2>&1) || true
sed "s#$le#<project>#g" "$le/quiet.json" > "$out/log_events_quiet.json"
(cd "$le" && "$dbt" build --profiles-dir . -q > quiet.txt 2>&1) || true
strip "$le/quiet.txt" > "$out/log_events_quiet.txt"
# The log file: dbt's debug lines (the first lines of each event only, without the tracking ones).
grep -a -E '^.\[0m[0-9:.]{15} \[(info |debug|warn |error)\] \[' "$le/logs/dbt.log" \
  | grep -v 'Sending event' | sed "s#$le#<project>#g" | sed -n 1,40p > "$out/log_events_dbt_log.txt"
(cd "$le" && "$dbt" source freshness --profiles-dir . > freshness.txt 2>&1) || true
strip "$le/freshness.txt" > "$out/log_events_source_freshness.txt"
(cd "$le" && "$dbt" run-operation show_people --profiles-dir . > operation.txt 2>&1) || true
strip "$le/operation.txt" > "$out/log_events_run_operation.txt"

# 7. Enforced contracts (tests/run/contracts.rs, tests/cli/errors.rs): dbt's messages, without
# timestamps and colours, from its first error line to the end of the run.
clean() { sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^[0-9:]\{8\}  //' "$@"; }
fixtures="$repo/tests/fixtures"
d="$work/contracts" && cp -r "$fixtures/contracts" "$d"
(cd "$d" && "$dbt" build --profiles-dir . > build.log 2>&1)
printf '%s\n' "{{ config(materialized='table') }}" \
  "select 'ada' as name, 1 as customer_id, 'high' as score, 3 as extra" > "$d/models/customers.sql"
(cd "$d" && "$dbt" run --profiles-dir . -s customers > mismatch.log 2>&1) || true
clean "$d/mismatch.log" | sed -n '/Compilation Error/,/^Done/p' > "$out/contract_mismatch.txt"
(cd "$d" && "$dbt" run --profiles-dir . -s events --vars '{event_id: 3, kind: 1}' > inc.log 2>&1) || true
clean "$d/inc.log" | sed -n '/Compilation Error/,/^Done/p' > "$out/contract_incremental.txt"
# Each YAML mistake alone (dbt stops at its first error): the fixture with one model left.
for model in untyped bad_type two_pks loose_incremental no_columns bad_fk eph checked_view money; do
  d="$work/yaml_$model" && cp -r "$fixtures/contract_yaml_error" "$d"
  find "$d/models" -type f ! -name "$model.sql" ! -name "$model.yml" -delete
  (cd "$d" && "$dbt" run --profiles-dir . > run.log 2>&1) || true
  clean "$d/run.log" | grep -v '^Running with\|^Registered adapter\|^Unable to do partial\|^Performance info\|^Concurrency\|^$' \
    | grep -v '^Found [0-9]' | sed '/^Traceback/,$d' > "$out/contract_yaml_$model.txt"
done

# 8. `dbt show` of one value of every DuckDB type (tests/run/types.rs): the JSON output whole, and
# the text table six columns at a time (agate prints at most six), for its layout.
d="$work/show" && mkdir -p "$d" && cp "$fixtures/contracts/profiles.yml" "$d/"
printf 'name: contracts\nversion: "1.0.0"\nconfig-version: 2\nprofile: contracts\n' > "$d/dbt_project.yml"
query="$(cat "$out/show_every_type.sql")"
(cd "$d" && "$dbt" show --profiles-dir . --inline "$query" --output json > json.log 2>&1)
clean "$d/json.log" | sed -n '/^{/,/^}/p' > "$out/show_every_type.json"
: > "$out/show_every_type.txt"
python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["show"][0]))' \
  "$out/show_every_type.json" | paste -d, - - - - - - | while read -r columns; do
  (cd "$d" && "$dbt" show --profiles-dir . --output text \
    --inline "select $columns from ($query) as every_type" > text.log 2>&1)
  clean "$d/text.log" | sed -n '/^Previewing/,$p' | sed '/^$/d' >> "$out/show_every_type.txt"
done
# 9-15. The flags of issue 11 (tests/demo/flags.rs reads these). Timestamps and colours are
# stripped from dbt's log lines.
unstyle() { sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^[0-9:]\{8\}  //'; }
flags="$out/flags"
mkdir -p "$flags"
d="$(demo_copy flags)"
# 9. A selector with a typo: dbt's warning, then the same under --warn-error-options (exit 2).
(cd "$d" && "$dbt" run --profiles-dir . -s agregate+ > typo.log 2>&1) || true
unstyle < "$d/typo.log" | grep -E "selection criterion|Nothing to do" > "$flags/selection_typo.txt"
set +e
(cd "$d" && "$dbt" run --profiles-dir . -s agregate+ \
  --warn-error-options '{"error": ["NoNodesForSelectionCriteria"]}' > typo_error.log 2>&1)
echo "exit $?" > "$flags/selection_typo_warn_error.txt"
set -e
unstyle < "$d/typo_error.log" | grep -A2 "Encountered an error" >> "$flags/selection_typo_warn_error.txt"
# 10. The demo's warn-severity runbook check under --warn-error-options LogTestResult: it fails.
# (Cautious: the relationships tests to unselected models stay out, so nothing else errors.)
set +e
(cd "$d" && "$dbt" build --profiles-dir . -s +assert_no_skipped_required_status_steps \
  --indirect-selection cautious --warn-error-options '{"error": ["LogTestResult"]}' > warn_test.log 2>&1)
code=$?
set -e
summarise "$d" "$d/warn_test.log" "$flags/warn_error_test.txt"
echo "exit $code" >> "$flags/warn_error_test.txt"
# 11. compile --empty: the SQL of a model reading refs, one reading seeds and an ephemeral-free
# staging model reading an external source.
(cd "$d" && "$dbt" compile --profiles-dir . --empty -s growth stg_crm__accounts stg_product__click_events > empty.log 2>&1)
for m in aggregate/growth staging/crm/stg_crm__accounts staging/product/stg_product__click_events; do
  cp "$d/target/kiln/compiled/kiln_demo/models/$m.sql" "$flags/empty_$(basename "$m").sql"
done
# 12. Unused config paths: none in the demo; three once dbt_project.yml configures folders that
# do not exist.
(cd "$d" && "$dbt" parse --profiles-dir . --no-partial-parse > parse.log 2>&1)
{ grep -c "unused configuration paths" "$d/parse.log" || true; } > "$flags/unused_config_demo.txt"
u="$(demo_copy unused)"
sed -i -e 's/^    reporting:$/    marts:\n      +tags: ["x"]\n    reporting:/' \
  -e 's/^    reference:$/    legacy:\n      +tags: ["old"]\n    reference:/' "$u/dbt_project.yml"
printf 'sources:\n  kiln_demo:\n    crm_v1:\n      +enabled: true\n' >> "$u/dbt_project.yml"
(cd "$u" && "$dbt" parse --profiles-dir . --no-partial-parse > parse.log 2>&1)
unstyle < "$u/parse.log" | awk '/Configuration paths exist/ {on = 1; sub(/^\[WARNING\]: /, ""); print; next}
  on && (/^There are/ || /^- /) {print; next} {on = 0}' > "$flags/unused_config_paths.txt"
# 13. result: selection after a build that broke experiment_daily (its state copied aside).
b="$(demo_copy result)"
break_model "$b" experiment_daily
(cd "$b" && "$dbt" build --profiles-dir . > build.log 2>&1) || true
cp -r "$b/target/kiln" "$b/last"
(cd "$b" && "$dbt" ls --profiles-dir . -q -s "result:error+" --state last) > "$flags/ls_result_error_plus.txt"
(cd "$b" && "$dbt" ls --profiles-dir . -q -s "result:skipped" --state last) > "$flags/ls_result_skipped.txt"
# 14. source_status: fresher after new click events arrive.
(cd "$d" && "$dbt" source freshness --profiles-dir . > fresh1.log 2>&1) || true
mkdir -p "$d/prev" && cp "$d/target/kiln/sources.json" "$d/prev/"
printf 'event_id,user_id,account_id,session_id,event_type,feature,occurred_at,received_at\nevt_999999,usr_0024,ACC-0010,ses_late,session_start,,2024-07-09 09:18:32,2024-07-09 09:19:06\n' \
  > "$d/data/product/click_events/received_2024-W28.csv"
(cd "$d" && "$dbt" source freshness --profiles-dir . > fresh2.log 2>&1) || true
(cd "$d" && "$dbt" ls --profiles-dir . -q -s source_status:fresher+ --state prev) \
  > "$flags/ls_source_status_fresher_plus.txt"
# 15. clone: the full build's relations as views in another schema.
c="$work/full"
cp -r "$c/target/kiln" "$c/prod"
printf '    clone:\n      type: duckdb\n      path: demo.duckdb\n      schema: dev_clone\n      threads: 4\n' >> "$c/profiles.yml"
(cd "$c" && "$dbt" clone --profiles-dir . --state prod --target clone > clone.log 2>&1)
summarise "$c" "$c/clone.log" "$flags/clone.txt"

# 16. `dbt deps` (tests/deps.rs): a local package, a git package from a bare repository made here
# (by tag, and a subdirectory at main), a tarball, and a hub package with a transitive dependency,
# the hub (its index, package pages and tarballs, in the hub API's shape) served by python's
# http.server on 127.0.0.1 as DBT_PACKAGE_HUB_URL. Recorded in deps/: the lock file, what the
# install folder holds (a link or a folder), and dbt's lines; the temp folder, the port and commit
# shas replaced.
dp="$out/deps"
mkdir -p "$dp"
w="$work/deps"
mkdir -p "$w"
# A package folder: dbt_project.yml and a macro, and optionally its own packages.yml.
deps_pkg() {
  mkdir -p "$1/macros"
  printf "name: '%s'\nversion: '1.0.0'\nconfig-version: 2\n" "$2" > "$1/dbt_project.yml"
  printf "{%% macro which_%s() %%}'%s'{%% endmacro %%}\n" "$2" "$1" > "$1/macros/m.sql"
  if [ -n "${3:-}" ]; then printf '%s\n' "$3" > "$1/packages.yml"; fi
}
deps_pkg "$w/local_src" local_pkg
deps_pkg "$w/gitwork" gitpkg
deps_pkg "$w/gitwork/sub/inner" gitsub
(cd "$w/gitwork" && git init -q -b main && git add -A \
  && git -c user.email=t@example.com -c user.name=t commit -qm one && git tag v1.0)
git init -q --bare -b main "$w/bare.git"
(cd "$w/gitwork" && git push -q "$w/bare.git" main --tags)
mkdir -p "$w/hub/api/v1/kiln-test" "$w/hub/tarballs" "$w/build"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
for v in 1.0.0 1.2.0 2.0.0; do
  deps_pkg "$w/build/hubpkg-$v" hubpkg "packages: [{package: kiln-test/dep, version: ['>=1.0.0', '<2.0.0']}]"
  tar czf "$w/hub/tarballs/hubpkg-$v.tar.gz" -C "$w/build" "hubpkg-$v"
done
for v in 1.0.0 1.1.0; do
  deps_pkg "$w/build/dep-$v" dep
  tar czf "$w/hub/tarballs/dep-$v.tar.gz" -C "$w/build" "dep-$v"
done
deps_pkg "$w/build/tb-src" tbpkg
tar czf "$w/hub/tarballs/tb.tar.gz" -C "$w/build" tb-src
python3 - "$w/hub" "http://127.0.0.1:$port/" <<'PY'
import json, sys
hub, base = sys.argv[1], sys.argv[2]
def page(name, versions, deps):
    return {"name": name, "namespace": "kiln-test", "description": "", "latest": versions[-1],
            "versions": {v: {"id": f"kiln-test/{name}/{v}", "name": name, "version": v,
                             "published_at": "2024-01-01T00:00:00Z", "packages": deps,
                             "works_with": [], "require_dbt_version": [">=1.0.0", "<3.0.0"],
                             "_source": {"type": "github", "url": "", "readme": ""},
                             "downloads": {"tarball": f"{base}tarballs/{name}-{v}.tar.gz",
                                           "format": "tgz", "sha1": ""}} for v in versions}}
dep = [{"package": "kiln-test/dep", "version": [">=1.0.0", "<2.0.0"]}]
json.dump(["kiln-test/hubpkg", "kiln-test/dep"], open(f"{hub}/api/v1/index.json", "w"))
json.dump(page("hubpkg", ["1.0.0", "1.2.0", "2.0.0"], dep), open(f"{hub}/api/v1/kiln-test/hubpkg.json", "w"))
json.dump(page("dep", ["1.0.0", "1.1.0"], []), open(f"{hub}/api/v1/kiln-test/dep.json", "w"))
PY
(cd "$w/hub" && exec python3 -m http.server "$port" --bind 127.0.0.1 > /dev/null 2>&1) &
hub_pid=$!
trap 'kill "$hub_pid" 2> /dev/null; rm -rf "$work"' EXIT
sleep 1
mkdir -p "$w/root"
printf "name: 'root'\nversion: '1.0.0'\nconfig-version: 2\nprofile: root\n" > "$w/root/dbt_project.yml"
printf "root:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: x.duckdb\n" > "$w/root/profiles.yml"
cat > "$w/root/packages.yml" <<YML
packages:
  - local: ../local_src
  - git: "file://$w/bare.git"
    revision: v1.0
  - git: "file://$w/bare.git"
    subdirectory: sub/inner
    revision: main
  - tarball: "http://127.0.0.1:$port/tarballs/tb.tar.gz"
    name: tb_name
  - package: kiln-test/hubpkg
    version: [">=1.0.0", "<2.0.0"]
YML
(cd "$w/root" && DO_NOT_TRACK=1 DBT_PACKAGE_HUB_URL="http://127.0.0.1:$port/" \
  "$dbt" deps --profiles-dir . > deps.log 2>&1)
kill "$hub_pid"
deps_norm() {
  sed -E -e "s#$w#<work>#g" -e "s#127\.0\.0\.1:$port#127.0.0.1:<port>#g" \
    -e 's/[0-9a-f]{40}/<sha>/g'
}
deps_norm < "$w/root/package-lock.yml" > "$dp/package-lock.yml"
(cd "$w/root/dbt_packages" && for f in *; do
  if [ -L "$f" ]; then echo "$f link"; else echo "$f folder"; fi
done) > "$dp/installed.txt"
sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^[0-9:]\{8\}  //' "$w/root/deps.log" | grep -v '^Running with dbt' \
  | deps_norm > "$dp/deps.txt"

# 17. Installed packages (tests/packages.rs): tests/fixtures/packages with its local package
# installed by `dbt deps`, then `dbt build`. Recorded in packages/: the run's `Done.` line and
# statuses (build.txt), and the manifest without dbt's and dbt-duckdb's own macros and docs (the
# temp folder's path replaced by <project>).
pk="$out/packages"
mkdir -p "$pk"
d="$work/packages" && cp -r "$fixtures/packages" "$d"
(cd "$d" && DO_NOT_TRACK=1 "$dbt" deps --profiles-dir . > deps.log 2>&1)
(cd "$d" && DO_NOT_TRACK=1 "$dbt" build --profiles-dir . > build.log 2>&1)
{
  grep -o 'Done\. PASS=.*' "$d/build.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -n 1
  python3 - "$d/target/run_results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for x in sorted(r["results"], key=lambda x: x["unique_id"]):
    print(x["status"], x["unique_id"])
PY
} > "$pk/build.txt"
python3 - "$d/target/manifest.json" <<'PY' | sed "s#$d#<project>#g" > "$pk/manifest.json"
import json, sys
m = json.load(open(sys.argv[1]))
internal = ("dbt", "dbt_duckdb")
m["macros"] = {k: v for k, v in m["macros"].items() if v["package_name"] not in internal}
m["docs"] = {k: v for k, v in m["docs"].items() if v["package_name"] not in internal}
print(json.dumps(m, indent=2))
PY

# 18. Unit tests (tests/unit_tests.rs): tests/fixtures/unit_tests seeded, then built. Recorded in
# unit_tests_build.txt: the run's status lines and its summary (timestamps, timings and colours
# removed), then `status failures unique_id` of every result; unit_tests_diff.txt: the message of
# the failed unit test as run_results.json holds it, colours removed.
d="$work/unit_tests" && cp -r "$fixtures/unit_tests" "$d"
(cd "$d" && "$dbt" seed --profiles-dir . > seed.log 2>&1)
(cd "$d" && "$dbt" build --profiles-dir . > build.log 2>&1) || true
{
  sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^[0-9:]\{8\}  //' -e 's/ in [0-9.]*s\]/ in [TIME]]/' "$d/build.log" \
    | grep -E '^[0-9]+ of [0-9]+ |^Finished running|^Done\.' | sed 's/ in [0-9 a-z.]*seconds ([0-9.]*s)\././'
  python3 - "$d/target/run_results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for x in sorted(r["results"], key=lambda x: x["unique_id"]):
    print(x["status"], x["failures"], x["unique_id"])
PY
} > "$out/unit_tests_build.txt"
python3 - "$d/target/run_results.json" <<'PY' | sed -e 's/\x1b\[[0-9;]*m//g' > "$out/unit_tests_diff.txt"
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["results"]:
    if x["status"] == "fail":
        print(x["message"].replace("\r\n", "\n"), end="")
PY

echo "recorded into $out"
