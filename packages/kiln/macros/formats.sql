{#
  Format compliance checks of the `kiln` package: each fails with the non-conforming values of
  column_name and how many rows hold each (nulls are not checked: pair with not_null or
  kiln.not_null_proportion). Values are compared as text, so dates and numbers can be checked too.
#}

{#
  Plausible e-mail addresses: a local part, one @, a domain of dot-separated labels ending in a
  label of two or more characters; no whitespace anywhere (non-ASCII letters are allowed, as in
  internationalised addresses).
#}
{% test email_format(model, column_name) -%}
  {{- return(kiln.kiln_format_failures(model, column_name, kiln.regex_full_match(kiln.kiln_as_text(column_name), kiln.email_pattern()))) -}}
{%- endtest %}

{# Phone numbers in E.164: a plus sign, a country code not starting with 0, at most 15 digits. #}
{% test e164_phone(model, column_name) -%}
  {{- return(kiln.kiln_format_failures(model, column_name, kiln.regex_full_match(kiln.kiln_as_text(column_name), kiln.e164_pattern()))) -}}
{%- endtest %}

{#
  ISO 8601 dates (YYYY-MM-DD, month 01-12, day 01-31), optionally followed by a time of day
  (`T` or a space, hh:mm[:ss[.fff]], an optional `Z` or offset).
#}
{% test iso_date(model, column_name) -%}
  {{- return(kiln.kiln_format_failures(model, column_name, kiln.regex_full_match(kiln.kiln_as_text(column_name), kiln.iso_date_pattern()))) -}}
{%- endtest %}

{# Values matching `pattern` as a whole (anchored at both ends; RE2/Java syntax). #}
{% test matches_regex(model, column_name, pattern) -%}
  {%- if pattern is not string or pattern == '' -%}
    {{- exceptions.raise_compiler_error("kiln.matches_regex needs a pattern, e.g. pattern: '[A-Z]{3}-[0-9]+'") -}}
  {%- endif -%}
  {{- return(kiln.kiln_format_failures(model, column_name, kiln.regex_full_match(kiln.kiln_as_text(column_name), pattern))) -}}
{%- endtest %}

{# Values whose length (in characters) is within [min_length, max_length]; either bound may be left out. #}
{% test length_between(model, column_name, min_length=none, max_length=none) -%}
  {%- if min_length is none and max_length is none -%}
    {{- exceptions.raise_compiler_error("kiln.length_between needs min_length, max_length or both") -}}
  {%- endif -%}
  {%- set len = dbt.length(kiln.kiln_as_text(column_name)) -%}
  {%- set checks = [] -%}
  {%- if min_length is not none %}{% do checks.append(len ~ ' >= ' ~ min_length) %}{% endif -%}
  {%- if max_length is not none %}{% do checks.append(len ~ ' <= ' ~ max_length) %}{% endif -%}
  {{- return(kiln.kiln_format_failures(model, column_name, '(' ~ checks | join(' and ') ~ ')')) -}}
{%- endtest %}


{% macro email_pattern() -%}
[^@\s]+@([^@\s.]+[.])+[^@\s.]{2,}
{%- endmacro %}

{% macro e164_pattern() -%}
[+][1-9][0-9]{1,14}
{%- endmacro %}

{% macro iso_date_pattern() -%}
[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?
{%- endmacro %}


{# The failing rows of a format check: the values for which `condition` (SQL) is not true. #}
{% macro kiln_format_failures(model, column_name, condition) -%}
select
    {{ column_name }} as value_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
  and not coalesce({{ condition }}, false)
group by {{ column_name }}
{%- endmacro %}

{% macro kiln_as_text(expression) -%}
cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}


{#
  Whether the text `expression` matches `pattern` as a whole: true, false, or null for null.
  Regex functions differ between engines, hence the dispatch.
#}
{% macro regex_full_match(expression, pattern) -%}
  {{- return(adapter.dispatch('regex_full_match', 'kiln')(expression, pattern)) -}}
{%- endmacro %}

{% macro default__regex_full_match(expression, pattern) -%}
({{ expression }} ~ '^({{ pattern | replace("'", "''") }})$')
{%- endmacro %}

{% macro duckdb__regex_full_match(expression, pattern) -%}
regexp_full_match({{ expression }}, '{{ pattern | replace("'", "''") }}')
{%- endmacro %}

{% macro athena__regex_full_match(expression, pattern) -%}
regexp_like({{ expression }}, '^(?:{{ pattern | replace("'", "''") }})$')
{%- endmacro %}
