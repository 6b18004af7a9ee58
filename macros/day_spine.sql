{#-
  day_spine(start_date, end_date): a SELECT returning one row per calendar day, column `date_day`
  (type date), from start_date to end_date inclusive. Both arguments are SQL expressions, e.g.
  "cast('2024-01-01' as date)" or "(select min(d) from t)". Used to give aggregates one row per
  day or week even when nothing happened (so zero is reported, not a missing row).
-#}
{% macro day_spine(start_date, end_date) -%}
  {{ return(adapter.dispatch('day_spine')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__day_spine(start_date, end_date) -%}
select cast(spine.generated_day as date) as date_day
from generate_series(
    cast({{ start_date }} as timestamp),
    cast({{ end_date }} as timestamp),
    interval '1 day'
) as spine(generated_day)
{%- endmacro %}

{% macro athena__day_spine(start_date, end_date) -%}
select spine.date_day
from unnest(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), interval '1' day)) as spine(date_day)
{%- endmacro %}
