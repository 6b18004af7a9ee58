{#- Small cleansing helpers shared by the staging models. Each returns a SQL expression. -#}

{#- trimmed text, NULL when empty -#}
{% macro clean_text(expression) -%}
nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- e-mail address as the mail system compares it: trimmed, lower-case, NULL when empty -#}
{% macro normalize_email(expression) -%}
lower({{ clean_text(expression) }})
{%- endmacro %}

{#- a bare host name from a website or e-mail domain: lower-case, no scheme, no "www.", no path -#}
{% macro normalize_domain(expression) -%}
nullif(
    regexp_replace(
        regexp_replace(lower({{ clean_text(expression) }}), '^(https?://)?(www\.)?', ''),
        '/.*$', ''
    ),
    ''
)
{%- endmacro %}

{#- a phone number reduced to "+" and digits, so formatting differences do not change its hash -#}
{% macro normalize_phone(expression) -%}
  {{ return(adapter.dispatch('normalize_phone')(expression)) }}
{%- endmacro %}

{% macro default__normalize_phone(expression) -%}
nullif(regexp_replace({{ clean_text(expression) }}, '[^0-9+]', '', 'g'), '')
{%- endmacro %}

{#- Trino's regexp_replace replaces every match and takes no flags -#}
{% macro athena__normalize_phone(expression) -%}
nullif(regexp_replace({{ clean_text(expression) }}, '[^0-9+]', ''), '')
{%- endmacro %}

{#- a lower-case code ("Active " -> "active"); NULL when empty -#}
{% macro normalize_code(expression) -%}
lower({{ clean_text(expression) }})
{%- endmacro %}

{#- the many spellings of a yes/no flag in CRM exports; NULL/empty means false -#}
{% macro parse_flag(expression) -%}
coalesce(lower({{ clean_text(expression) }}) in ('true', 't', 'yes', 'y', '1'), false)
{%- endmacro %}
