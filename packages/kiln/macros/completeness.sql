{#
  Completeness and uniqueness checks of the `kiln` package.
  House rules as in kiln's built-in macros: each test dispatches to `default__`/`<adapter>__`
  implementations so a project or an engine can replace one, and other macros are called through
  their package (`dbt.`, `kiln.`).
#}

{#
  The share of non-null values of column_name is at least `at_least` (and at most `at_most`).
  Fails with one row (the counts and the proportion) when it is outside; an empty table passes.
#}
{% test not_null_proportion(model, column_name, at_least, at_most=1.0) -%}
  {{- return(adapter.dispatch('test_not_null_proportion', 'kiln')(model, column_name, at_least, at_most)) -}}
{%- endtest %}

{% macro default__test_not_null_proportion(model, column_name, at_least, at_most=1.0) -%}
with counted as (
    select
        count({{ column_name }}) as not_null_rows,
        count(*) as total_rows
    from {{ model }}
),

proportion as (
    select
        not_null_rows,
        total_rows,
        cast(not_null_rows as {{ dbt.type_float() }}) / total_rows as not_null_proportion
    from counted
    where total_rows > 0
)

select *
from proportion
where not_null_proportion < {{ at_least }}
   or not_null_proportion > {{ at_most }}
{%- endmacro %}


{#
  No two rows share the same values of `combination_of_columns` (a list of column names or
  expressions). Rows where every one of them is null are not compared. Fails with each repeated
  combination and its row count.
#}
{% test unique_combination(model, combination_of_columns) -%}
  {{- return(adapter.dispatch('test_unique_combination', 'kiln')(model, combination_of_columns)) -}}
{%- endtest %}

{% macro default__test_unique_combination(model, combination_of_columns) -%}
{%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
  {{- exceptions.raise_compiler_error("kiln.unique_combination needs combination_of_columns, a list of column names, e.g. [account_id, month]") -}}
{%- endif -%}
select
    {% for c in combination_of_columns -%}
    {{ c }},
    {% endfor -%}
    count(*) as n_records
from {{ model }}
where not ({% for c in combination_of_columns %}{{ c }} is null{% if not loop.last %} and {% endif %}{% endfor %})
group by {% for c in combination_of_columns %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{%- endmacro %}
