{#
  String macros (dbt's cross-database macros). Arguments are SQL expressions: a column name, or a
  quoted literal written inside the Jinja string, e.g. concat(["first_name", "' '", "last_name"]).
  escape_single_quotes and string_literal are the exceptions: they take a Jinja string.
#}

{# The fields, a list, joined with ||: NULL if any field is NULL. #}
{% macro concat(fields) -%}
  {{- return(adapter.dispatch('concat', 'dbt')(fields)) -}}
{%- endmacro %}

{% macro default__concat(fields) -%}
  {{ fields | join(' || ') }}
{%- endmacro %}


{# The md5 of the field as text, as 32 lower-case hex digits. #}
{% macro hash(field) -%}
  {{- return(adapter.dispatch('hash', 'dbt')(field)) -}}
{%- endmacro %}

{% macro default__hash(field) -%}
  md5(cast({{ field }} as {{ dbt.type_string() }}))
{%- endmacro %}

{# Trino's md5 hashes bytes and returns bytes. #}
{% macro athena__hash(field) -%}
  lower(to_hex(md5(to_utf8(cast({{ field }} as {{ dbt.type_string() }})))))
{%- endmacro %}


{# Number of characters. #}
{% macro length(expression) -%}
  {{- return(adapter.dispatch('length', 'dbt')(expression)) -}}
{%- endmacro %}

{% macro default__length(expression) -%}
  length({{ expression }})
{%- endmacro %}


{# 1-based position of the first substring_text in string_text, 0 when absent. #}
{% macro position(substring_text, string_text) -%}
  {{- return(adapter.dispatch('position', 'dbt')(substring_text, string_text)) -}}
{%- endmacro %}

{% macro default__position(substring_text, string_text) -%}
  position({{ substring_text }} in {{ string_text }})
{%- endmacro %}


{# Every occurrence of old_chars in field replaced by new_chars. #}
{% macro replace(field, old_chars, new_chars) -%}
  {{- return(adapter.dispatch('replace', 'dbt')(field, old_chars, new_chars)) -}}
{%- endmacro %}

{% macro default__replace(field, old_chars, new_chars) -%}
  replace({{ field }}, {{ old_chars }}, {{ new_chars }})
{%- endmacro %}


{# The length_expression rightmost characters of string_text. #}
{% macro right(string_text, length_expression) -%}
  {{- return(adapter.dispatch('right', 'dbt')(string_text, length_expression)) -}}
{%- endmacro %}

{% macro default__right(string_text, length_expression) -%}
  right({{ string_text }}, {{ length_expression }})
{%- endmacro %}

{#
  Trino has no right(); substr from length - n + 1, never before the first character, so that
  asking for more characters than there are returns the whole string and asking for 0 returns ''.
#}
{% macro athena__right(string_text, length_expression) -%}
  substr({{ string_text }}, greatest(length({{ string_text }}) - ({{ length_expression }}) + 1, 1))
{%- endmacro %}


{#
  The part_number-th part (1-based) of string_text split on delimiter_text; a negative
  part_number counts from the end (-1 is the last part).
#}
{% macro split_part(string_text, delimiter_text, part_number) -%}
  {{- return(adapter.dispatch('split_part', 'dbt')(string_text, delimiter_text, part_number)) -}}
{%- endmacro %}

{% macro default__split_part(string_text, delimiter_text, part_number) -%}
  split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}

{# Trino's split_part takes only positive indexes; element_at counts negative ones from the end. #}
{% macro athena__split_part(string_text, delimiter_text, part_number) -%}
  {%- if ((part_number ~ '') | trim) is startingwith('-') -%}
    element_at(split({{ string_text }}, {{ delimiter_text }}), {{ part_number }})
  {%- else -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
  {%- endif -%}
{%- endmacro %}


{#
  A Jinja string with each single quote doubled, ready to sit between quotes in SQL. dbt documents
  the argument as `value` and names it `expression` in its code; both keywords work here.
#}
{% macro escape_single_quotes(expression=none, value=none) -%}
  {%- set text = expression if expression is not none else value -%}
  {{- return(adapter.dispatch('escape_single_quotes', 'dbt')(text)) -}}
{%- endmacro %}

{% macro default__escape_single_quotes(expression) -%}
  {{ (expression ~ '') | replace("'", "''") }}
{%- endmacro %}


{# A Jinja string as a SQL string literal: 'value'. The value is not escaped (see escape_single_quotes). #}
{% macro string_literal(value) -%}
  {{- return(adapter.dispatch('string_literal', 'dbt')(value)) -}}
{%- endmacro %}

{% macro default__string_literal(value) -%}
  '{{ value }}'
{%- endmacro %}
