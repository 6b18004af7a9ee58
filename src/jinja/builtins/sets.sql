{#
  Set operators (dbt's cross-database macros), for engines that spell them differently
  (BigQuery wants `except distinct`). DuckDB and Athena take the ANSI keywords.
#}

{% macro except() -%}
  {{- return(adapter.dispatch('except', 'dbt')()) -}}
{%- endmacro %}

{% macro default__except() -%}
  except
{%- endmacro %}


{% macro intersect() -%}
  {{- return(adapter.dispatch('intersect', 'dbt')()) -}}
{%- endmacro %}

{% macro default__intersect() -%}
  intersect
{%- endmacro %}
