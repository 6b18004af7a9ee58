{#-
  safe_divide(numerator, denominator, default=none): numerator / denominator as a double, or
  `default` (NULL unless given) when the denominator is zero or NULL. Never a division by zero,
  never Infinity or NaN. For ratios (margins, rates, hours per user); money divided by a count
  stays exact with divide_money (macros/money.sql).
-#}
{% macro safe_divide(numerator, denominator, default=none) -%}
{%- if default is none -%}
cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0)
{%- else -%}
coalesce(cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0), {{ default }})
{%- endif -%}
{%- endmacro %}

{#- is_finite_number(expression): true when a double is neither infinite nor NaN -#}
{% macro is_finite_number(expression) -%}
  {{ return(adapter.dispatch('is_finite_number')(expression)) }}
{%- endmacro %}

{% macro default__is_finite_number(expression) -%}
isfinite({{ expression }})
{%- endmacro %}

{% macro athena__is_finite_number(expression) -%}
is_finite({{ expression }})
{%- endmacro %}
