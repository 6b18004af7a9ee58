{#-
  No data is not zero. A figure is 0 when its feed covers the period and nothing happened, and
  NULL when the feed has no data for the period at all (before it starts, after its latest
  delivery, or a gap): a dashboard must show "no data", not a drop to zero.

  zero_when_covered(expression, covered): `expression`, 0 when it is NULL in a covered period,
  NULL in a period that is not covered (`covered` is a boolean SQL expression).
-#}
{% macro zero_when_covered(expression, covered) -%}
case when {{ covered }} then coalesce({{ expression }}, 0) end
{%- endmacro %}
