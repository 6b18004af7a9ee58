{#
  Aggregate functions (dbt's cross-database macros): any_value, bool_or, listagg.
#}

{# Some value of expression from the group; which one is up to the engine. #}
{% macro any_value(expression) -%}
  {{- return(adapter.dispatch('any_value', 'dbt')(expression)) -}}
{%- endmacro %}

{% macro default__any_value(expression) -%}
  any_value({{ expression }})
{%- endmacro %}

{% macro athena__any_value(expression) -%}
  arbitrary({{ expression }})
{%- endmacro %}


{# True when expression is true for at least one row of the group (NULLs ignored). #}
{% macro bool_or(expression) -%}
  {{- return(adapter.dispatch('bool_or', 'dbt')(expression)) -}}
{%- endmacro %}

{% macro default__bool_or(expression) -%}
  bool_or({{ expression }})
{%- endmacro %}


{#
  The group's values of `measure` joined by `delimiter_text` (a SQL expression, so "','" for a
  comma). `measure` may start with DISTINCT. `order_by_clause` is the whole clause
  ("order by created_at"); `limit_num` keeps only the first values.

  The default is Postgres' spelling, which DuckDB shares: string_agg, or array_agg sliced to
  limit_num and joined with array_to_string.
#}
{% macro listagg(measure, delimiter_text="','", order_by_clause=none, limit_num=none) -%}
  {{- return(adapter.dispatch('listagg', 'dbt')(measure, delimiter_text, order_by_clause, limit_num)) -}}
{%- endmacro %}

{% macro default__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  {%- if limit_num -%}
    array_to_string((array_agg({{ measure }}{% if order_by_clause %} {{ order_by_clause }}{% endif %}))[1:{{ limit_num }}], {{ delimiter_text }})
  {%- else -%}
    string_agg({{ measure }}, {{ delimiter_text }}{% if order_by_clause %} {{ order_by_clause }}{% endif %})
  {%- endif -%}
{%- endmacro %}

{# Trino: array_agg (which takes an ORDER BY), sliced to limit_num, joined with array_join. #}
{% macro athena__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  {%- set agg = 'array_agg(' ~ measure ~ ((' ' ~ order_by_clause) if order_by_clause else '') ~ ')' -%}
  {%- if limit_num -%}
    array_join(slice({{ agg }}, 1, {{ limit_num }}), {{ delimiter_text }})
  {%- else -%}
    array_join({{ agg }}, {{ delimiter_text }})
  {%- endif -%}
{%- endmacro %}
