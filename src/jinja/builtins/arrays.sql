{#
  Array functions (dbt's cross-database macros): array_construct, array_append, array_concat.
  The defaults are Postgres' spelling, which DuckDB accepts as is (array[...], array_append,
  array_cat); Athena (Trino) concatenates arrays with concat() and types an empty array by cast.
#}

{#
  An array of the `inputs` (a list of SQL expressions, all of one type). With no inputs, an empty
  array of `data_type`.
#}
{% macro array_construct(inputs=[], data_type='integer') -%}
  {{- return(adapter.dispatch('array_construct', 'dbt')(inputs, data_type)) -}}
{%- endmacro %}

{% macro default__array_construct(inputs, data_type) -%}
  {%- if inputs | length > 0 -%}
    array[ {{ inputs | join(' , ') }} ]
  {%- else -%}
    array[]::{{ data_type }}[]
  {%- endif -%}
{%- endmacro %}

{% macro athena__array_construct(inputs, data_type) -%}
  {%- if inputs | length > 0 -%}
    array[ {{ inputs | join(' , ') }} ]
  {%- else -%}
    cast(array[] as array({{ data_type }}))
  {%- endif -%}
{%- endmacro %}


{# `array` with `new_element` added at its end. #}
{% macro array_append(array, new_element) -%}
  {{- return(adapter.dispatch('array_append', 'dbt')(array, new_element)) -}}
{%- endmacro %}

{% macro default__array_append(array, new_element) -%}
  array_append({{ array }}, {{ new_element }})
{%- endmacro %}

{% macro athena__array_append(array, new_element) -%}
  concat({{ array }}, array[{{ new_element }}])
{%- endmacro %}


{# The elements of array_1 followed by those of array_2. #}
{% macro array_concat(array_1, array_2) -%}
  {{- return(adapter.dispatch('array_concat', 'dbt')(array_1, array_2)) -}}
{%- endmacro %}

{% macro default__array_concat(array_1, array_2) -%}
  array_cat({{ array_1 }}, {{ array_2 }})
{%- endmacro %}

{% macro athena__array_concat(array_1, array_2) -%}
  concat({{ array_1 }}, {{ array_2 }})
{%- endmacro %}
