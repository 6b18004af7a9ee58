{#
  Checks of the `kiln` package that compare this run with earlier runs. kiln keeps their history
  (`kiln_quality_state`, a JSON file: target/kiln_quality_state.json by default, or
  `vars: {kiln: {quality: {state_path: ...}}}`); it is recorded by `kiln build` and `kiln test`.
  Without that history (under dbt, or when only compiling) they pass and log why.
#}

{#
  Row-count outliers. Without event_time: the table's row count is compared with the counts of
  the last `lookback` runs; the first `min_history` runs only collect history. With event_time:
  the rows per day, each day no earlier run saw compared with the `lookback` most recent days
  already seen (on the first run, with no history yet, every day with all the table's days).
  The band is median ± max(k × MAD, min_band_fraction × median); a period outside it fails with
  its count and the band. Set `severity: warn` to warn rather than fail.
#}
{% test volume_anomaly(model, event_time=none, k=3, lookback=28, min_history=3, min_band_fraction=0.1) -%}
  {{- return(adapter.dispatch('test_volume_anomaly', 'kiln')(model, event_time, k, lookback, min_history, min_band_fraction)) -}}
{%- endtest %}

{% macro default__test_volume_anomaly(model, event_time, k, lookback, min_history, min_band_fraction) -%}
{%- set counts -%}
    {%- if event_time is none %}
    select 'all' as period, count(*) as row_count
    from {{ model }}
    {%- else %}
    select cast(cast({{ event_time }} as date) as {{ dbt.type_string() }}) as period, count(*) as row_count
    from {{ model }}
    where {{ event_time }} is not null
    group by cast(cast({{ event_time }} as date) as {{ dbt.type_string() }})
    {%- endif %}
{%- endset -%}
{%- set band = none -%}
{%- if execute and kiln_quality_state is defined -%}
  {%- set current = {} -%}
  {%- for row in run_query(counts).rows -%}
    {%- do current.update({row[0] | string: row[1]}) -%}
  {%- endfor -%}
  {%- set band = kiln_quality_state.volume_band(current, k=k, lookback=lookback, min_history=min_history, min_band_fraction=min_band_fraction, per_day=(event_time is not none)) -%}
  {{- log("kiln.volume_anomaly on " ~ model ~ ": " ~ band.note, info=true) -}}
{%- elif execute -%}
  {{- log("kiln.volume_anomaly on " ~ model ~ ": not checked, the history of earlier runs is kept by kiln only", info=true) -}}
{%- endif -%}
with counts as (
{{ counts }}
)

select
    period,
    row_count,
    {{ band.lower if band and band.ready else 'null' }} as lower_bound,
    {{ band.upper if band and band.ready else 'null' }} as upper_bound
from counts
{%- if band and band.ready and band.periods | length > 0 %}
where period in ({% for p in band.periods %}'{{ p }}'{% if not loop.last %}, {% endif %}{% endfor %})
  and (row_count < {{ band.lower }} or row_count > {{ band.upper }})
{%- else %}
where 1 = 0
{%- endif %}
{%- endmacro %}


{#
  Columns added, removed or changed type since the previous run that ran this test: one row per
  change, with its level (`added`, `removed`, `type_changed`: each `warn`, `error` or `ignore`;
  defaults warn, error, error). Ignored kinds are left out; each change is logged with its level.
  The test's status is the worst level among the changes: its `error_if` (set here, as dbt's
  config) errors only when an `error` change is among them, and its `warn_if` warns on any
  change, so added columns alone warn. `severity: warn` turns every change into a warning, and a
  config of the test's own (`error_if`, `warn_if`) replaces these. The first run records the
  columns and passes.
#}
{% test schema_change(model, added='warn', removed='error', type_changed='error') -%}
  {{- config(error_if="!= 0 and count(case when change_level = 'error' then 1 end) > 0") -}}
  {{- return(adapter.dispatch('test_schema_change', 'kiln')(model, added, removed, type_changed)) -}}
{%- endtest %}

{% macro default__test_schema_change(model, added, removed, type_changed) -%}
{%- set changes = [] -%}
{%- if execute and kiln_quality_state is defined -%}
  {%- set columns = [] -%}
  {%- for c in adapter.get_columns_in_relation(model) -%}
    {%- do columns.append([c.name, c.data_type]) -%}
  {%- endfor -%}
  {%- set changes = kiln_quality_state.schema_changes(columns, added=added, removed=removed, type_changed=type_changed) -%}
  {%- for c in changes -%}
    {{- log("kiln.schema_change on " ~ model ~ ": column " ~ c.column_name ~ " " ~ c.change | replace('_', ' ') ~ " (" ~ (c.old_type or '') ~ (" -> " if c.old_type and c.new_type else '') ~ (c.new_type or '') ~ "), " ~ c.level, info=true) -}}
  {%- endfor -%}
{%- elif execute -%}
  {{- log("kiln.schema_change on " ~ model ~ ": not checked, the columns of earlier runs are kept by kiln only", info=true) -}}
{%- endif -%}
{%- if changes | length == 0 -%}
select
    cast(null as {{ dbt.type_string() }}) as change,
    cast(null as {{ dbt.type_string() }}) as column_name,
    cast(null as {{ dbt.type_string() }}) as old_type,
    cast(null as {{ dbt.type_string() }}) as new_type,
    cast(null as {{ dbt.type_string() }}) as change_level
where 1 = 0
{%- else -%}
{%- for c in changes %}
select
    '{{ c.change }}' as change,
    '{{ c.column_name | replace("'", "''") }}' as column_name,
    {% if c.old_type %}'{{ c.old_type | replace("'", "''") }}'{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as old_type,
    {% if c.new_type %}'{{ c.new_type | replace("'", "''") }}'{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as new_type,
    '{{ c.level }}' as change_level
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{%- endif %}
{%- endmacro %}
