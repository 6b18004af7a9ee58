{#
  Date and time macros (dbt's cross-database macros): dateadd, datediff, date_trunc, last_day, date.

  `datepart` is one of year, quarter, month, week, day, hour, minute, second, millisecond,
  microsecond (not every engine has every part). Date and timestamp arguments are SQL expressions:
  a column name, a function call, or a quoted literal such as "'2016-03-09'".

  datediff counts the datepart boundaries crossed between the two values (so from 2016-01-31 to
  2016-02-01 is one month), as dbt's Postgres and Snowflake implementations do, with weeks starting
  on Monday. On DuckDB kiln uses the engine's date_diff, as dbt-duckdb does: it counts boundaries
  for every part but week, which it counts in whole 7-day spans.
#}

{#
  Neither DuckDB nor Trino casts a quoted literal to a date or timestamp implicitly, so the
  documented `dateadd('day', 1, "'2016-03-09'")` would be an error there: a bare quoted literal is
  cast to a timestamp first. Any other expression (a column, a function call) is left as it is,
  keeping its type.
#}
{% macro kiln_timestamp_literal(expression) -%}
  {%- set text = (expression ~ '') | trim -%}
  {%- if text | length > 1 and text[:1] == "'" and text[-1:] == "'" -%}
    cast({{ text }} as timestamp)
  {%- else -%}
    {{ expression }}
  {%- endif -%}
{%- endmacro %}


{# `interval` (an integer count, may be negative) datepart units added to a date or timestamp. #}
{% macro dateadd(datepart, interval, from_date_or_timestamp) -%}
  {{- return(adapter.dispatch('dateadd', 'dbt')(datepart, interval, from_date_or_timestamp)) -}}
{%- endmacro %}

{% macro default__dateadd(datepart, interval, from_date_or_timestamp) -%}
  {{ from_date_or_timestamp }} + ((interval '1 {{ datepart }}') * ({{ interval }}))
{%- endmacro %}

{% macro duckdb__dateadd(datepart, interval, from_date_or_timestamp) -%}
  {{ dbt.kiln_timestamp_literal(from_date_or_timestamp) }} + ((interval '1 {{ datepart }}') * ({{ interval }}))
{%- endmacro %}

{% macro athena__dateadd(datepart, interval, from_date_or_timestamp) -%}
  date_add('{{ datepart }}', {{ interval }}, {{ dbt.kiln_timestamp_literal(from_date_or_timestamp) }})
{%- endmacro %}


{# Number of datepart boundaries from first_date to second_date (negative when second is earlier). #}
{% macro datediff(first_date, second_date, datepart) -%}
  {{- return(adapter.dispatch('datediff', 'dbt')(first_date, second_date, datepart)) -}}
{%- endmacro %}

{#
  Postgres-like engines have no datediff: each part is built from differences of date_part()
  fields, on top of the next coarser part.
#}
{% macro default__datediff(first_date, second_date, datepart) -%}
  {%- set part = (datepart ~ '') | lower -%}
  {%- set a = '(' ~ first_date ~ ')' -%}
  {%- set b = '(' ~ second_date ~ ')' -%}
  {%- if part == 'year' -%}
    (date_part('year', {{ b }}::date) - date_part('year', {{ a }}::date))
  {%- elif part == 'quarter' -%}
    ({{ default__datediff(first_date, second_date, 'year') }} * 4 + date_part('quarter', {{ b }}::date) - date_part('quarter', {{ a }}::date))
  {%- elif part == 'month' -%}
    ({{ default__datediff(first_date, second_date, 'year') }} * 12 + date_part('month', {{ b }}::date) - date_part('month', {{ a }}::date))
  {%- elif part == 'week' -%}
    ((date_trunc('week', {{ b }}::timestamp)::date - date_trunc('week', {{ a }}::timestamp)::date) / 7)
  {%- elif part == 'day' -%}
    ({{ b }}::date - {{ a }}::date)
  {%- elif part == 'hour' -%}
    ({{ default__datediff(first_date, second_date, 'day') }} * 24 + date_part('hour', {{ b }}::timestamp) - date_part('hour', {{ a }}::timestamp))
  {%- elif part == 'minute' -%}
    ({{ default__datediff(first_date, second_date, 'hour') }} * 60 + date_part('minute', {{ b }}::timestamp) - date_part('minute', {{ a }}::timestamp))
  {%- elif part == 'second' -%}
    ({{ default__datediff(first_date, second_date, 'minute') }} * 60 + floor(date_part('second', {{ b }}::timestamp)) - floor(date_part('second', {{ a }}::timestamp)))
  {%- elif part == 'millisecond' -%}
    ({{ default__datediff(first_date, second_date, 'minute') }} * 60000 + floor(date_part('millisecond', {{ b }}::timestamp)) - floor(date_part('millisecond', {{ a }}::timestamp)))
  {%- elif part == 'microsecond' -%}
    ({{ default__datediff(first_date, second_date, 'minute') }} * 60000000 + floor(date_part('microsecond', {{ b }}::timestamp)) - floor(date_part('microsecond', {{ a }}::timestamp)))
  {%- else -%}
    {{ exceptions.raise_compiler_error("datediff: unsupported datepart '" ~ datepart ~ "'; use year, quarter, month, week, day, hour, minute, second, millisecond or microsecond") }}
  {%- endif -%}
{%- endmacro %}

{% macro duckdb__datediff(first_date, second_date, datepart) -%}
  date_diff('{{ datepart }}', cast({{ first_date }} as timestamp), cast({{ second_date }} as timestamp))
{%- endmacro %}

{#
  Trino's date_diff counts whole elapsed units (2016-01-31 to 2016-02-01 is 0 months); truncating
  both sides to the datepart first makes it count boundaries, like the other engines.
#}
{% macro athena__datediff(first_date, second_date, datepart) -%}
  date_diff('{{ datepart }}', date_trunc('{{ datepart }}', cast({{ first_date }} as timestamp)), date_trunc('{{ datepart }}', cast({{ second_date }} as timestamp)))
{%- endmacro %}


{# The first instant of the datepart holding `date`. #}
{% macro date_trunc(datepart, date) -%}
  {{- return(adapter.dispatch('date_trunc', 'dbt')(datepart, date)) -}}
{%- endmacro %}

{% macro default__date_trunc(datepart, date) -%}
  date_trunc('{{ datepart }}', {{ date }})
{%- endmacro %}

{% macro duckdb__date_trunc(datepart, date) -%}
  date_trunc('{{ datepart }}', {{ dbt.kiln_timestamp_literal(date) }})
{%- endmacro %}

{% macro athena__date_trunc(datepart, date) -%}
  date_trunc('{{ datepart }}', {{ dbt.kiln_timestamp_literal(date) }})
{%- endmacro %}


{#
  The last day (a date) of the datepart holding `date`: truncate, add one datepart, step back a
  day. A quarter is added as three months, which every engine's interval arithmetic accepts.
#}
{% macro last_day(date, datepart) -%}
  {{- return(adapter.dispatch('last_day', 'dbt')(date, datepart)) -}}
{%- endmacro %}

{% macro default__last_day(date, datepart) -%}
  {%- set part = (datepart ~ '') | lower -%}
  {%- set start = dbt.date_trunc(datepart, date) -%}
  {%- if part == 'quarter' -%}
    {%- set next_start = dbt.dateadd('month', '3', start) -%}
  {%- else -%}
    {%- set next_start = dbt.dateadd(datepart, '1', start) -%}
  {%- endif -%}
  cast({{ dbt.dateadd('day', '-1', next_start) }} as date)
{%- endmacro %}


{# A DATE from three integers: date(2024, 1, 31). #}
{% macro date(year, month, day) -%}
  {{- return(adapter.dispatch('date', 'dbt')(year, month, day)) -}}
{%- endmacro %}

{#- The date as YYYY-MM-DD; an impossible date (2023-02-30) is a compile error, as in dbt. -#}
{% macro kiln_iso_date(year, month, day) -%}
  {%- set y = year | int -%}
  {%- set m = month | int -%}
  {%- set d = day | int -%}
  {%- set leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 -%}
  {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
  {%- if y < 1 or y > 9999 or m < 1 or m > 12 or d < 1 or d > month_days[m - 1] -%}
    {{- exceptions.raise_compiler_error('date(' ~ year ~ ', ' ~ month ~ ', ' ~ day ~ ') is not a valid date: give a year, a month (1 to 12) and a day of that month') -}}
  {%- endif -%}
  {{- ('000' ~ y)[-4:] ~ '-' ~ ('0' ~ m)[-2:] ~ '-' ~ ('0' ~ d)[-2:] -}}
{%- endmacro %}

{% macro default__date(year, month, day) -%}
  to_date('{{ dbt.kiln_iso_date(year, month, day) }}', 'YYYY-MM-DD')
{%- endmacro %}

{% macro duckdb__date(year, month, day) -%}
  {%- set iso = dbt.kiln_iso_date(year, month, day) -%}
  make_date({{ year | int }}, {{ month | int }}, {{ day | int }})
{%- endmacro %}

{% macro athena__date(year, month, day) -%}
  date '{{ dbt.kiln_iso_date(year, month, day) }}'
{%- endmacro %}
