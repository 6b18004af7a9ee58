{#
  Data types, casts and the current timestamp (dbt's cross-database macros).

  The default__ types are the ones dbt documents (its Postgres sample output). DuckDB accepts every
  one of them under the same meaning (TEXT is VARCHAR, INT is INTEGER, numeric(28,6) is
  DECIMAL(28,6)), so it has no overrides here; note that DuckDB's FLOAT is a 4-byte float, as it is
  under dbt-duckdb. Athena (Trino) has no TEXT, FLOAT or NUMERIC, and Hive tables cannot hold a
  timestamp with time zone, hence its overrides.
#}

{% macro type_string() -%}
  {{- return(adapter.dispatch('type_string', 'dbt')()) -}}
{%- endmacro %}

{% macro default__type_string() -%}
  TEXT
{%- endmacro %}

{% macro athena__type_string() -%}
  varchar
{%- endmacro %}


{% macro type_int() -%}
  {{- return(adapter.dispatch('type_int', 'dbt')()) -}}
{%- endmacro %}

{% macro default__type_int() -%}
  INT
{%- endmacro %}

{% macro athena__type_int() -%}
  integer
{%- endmacro %}


{% macro type_bigint() -%}
  {{- return(adapter.dispatch('type_bigint', 'dbt')()) -}}
{%- endmacro %}

{% macro default__type_bigint() -%}
  bigint
{%- endmacro %}


{% macro type_float() -%}
  {{- return(adapter.dispatch('type_float', 'dbt')()) -}}
{%- endmacro %}

{% macro default__type_float() -%}
  FLOAT
{%- endmacro %}

{% macro athena__type_float() -%}
  double
{%- endmacro %}


{% macro type_numeric() -%}
  {{- return(adapter.dispatch('type_numeric', 'dbt')()) -}}
{%- endmacro %}

{% macro default__type_numeric() -%}
  numeric(28,6)
{%- endmacro %}

{% macro athena__type_numeric() -%}
  decimal(38,6)
{%- endmacro %}


{% macro type_boolean() -%}
  {{- return(adapter.dispatch('type_boolean', 'dbt')()) -}}
{%- endmacro %}

{% macro default__type_boolean() -%}
  BOOLEAN
{%- endmacro %}

{% macro athena__type_boolean() -%}
  boolean
{%- endmacro %}


{#
  A timestamp without time zone. On Athena an Iceberg table stores microseconds (timestamp(6)),
  a Hive table milliseconds (plain timestamp, which is timestamp(3)).
#}
{% macro type_timestamp() -%}
  {{- return(adapter.dispatch('type_timestamp', 'dbt')()) -}}
{%- endmacro %}

{% macro default__type_timestamp() -%}
  TIMESTAMP
{%- endmacro %}

{% macro athena__type_timestamp() -%}
  {%- if (config.get('table_type', 'hive') ~ '') | lower == 'iceberg' -%}
    timestamp(6)
  {%- else -%}
    timestamp
  {%- endif -%}
{%- endmacro %}


{% macro current_timestamp() -%}
  {{- return(adapter.dispatch('current_timestamp', 'dbt')()) -}}
{%- endmacro %}

{% macro default__current_timestamp() -%}
  current_timestamp
{%- endmacro %}

{# Trino's current_timestamp carries a time zone, which Athena cannot write to a table. #}
{% macro athena__current_timestamp() -%}
  cast(current_timestamp as {{ dbt.type_timestamp() }})
{%- endmacro %}


{# `cast(field as type)`: the cast every engine spells the ANSI way. #}
{% macro cast(field, type) -%}
  {{- return(adapter.dispatch('cast', 'dbt')(field, type)) -}}
{%- endmacro %}

{% macro default__cast(field, type) -%}
  cast({{ field }} as {{ type }})
{%- endmacro %}


{# A cast that yields NULL instead of failing, where the engine has one. #}
{% macro safe_cast(field, type) -%}
  {{- return(adapter.dispatch('safe_cast', 'dbt')(field, type)) -}}
{%- endmacro %}

{% macro default__safe_cast(field, type) -%}
  cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro duckdb__safe_cast(field, type) -%}
  try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro athena__safe_cast(field, type) -%}
  try_cast({{ field }} as {{ type }})
{%- endmacro %}


{# true / false as the text 'true' / 'false'. #}
{% macro cast_bool_to_text(field) -%}
  {{- return(adapter.dispatch('cast_bool_to_text', 'dbt')(field)) -}}
{%- endmacro %}

{% macro default__cast_bool_to_text(field) -%}
  cast({{ field }} as {{ dbt.type_string() }})
{%- endmacro %}
