{#
  dbt's four built-in generic data tests, and the helpers a test is compiled with.

  A generic test is a query returning the failing rows: it passes when that query returns none.
  Each test block below (`test unique(...)`) becomes the macro `test_unique`, which kiln calls with the arguments written
  in the properties YAML plus `model` (the tested relation, already wrapped by get_where_subquery)
  and `column_name` (for a column's test). The SQL lives in `default__test_x`, so a project or an
  adapter can replace it (`duckdb__test_unique`, or `default__test_unique` in the project).
#}

{# Non-null values of column_name found in more than one row. #}
{% test unique(model, column_name) -%}
  {{- return(adapter.dispatch('test_unique', 'dbt')(model, column_name)) -}}
{%- endtest %}

{% macro default__test_unique(model, column_name) -%}
select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1
{%- endmacro %}


{# Rows where column_name is null; whole rows when failures are stored, so they can be inspected. #}
{% test not_null(model, column_name) -%}
  {{- return(adapter.dispatch('test_not_null', 'dbt')(model, column_name)) -}}
{%- endtest %}

{% macro default__test_not_null(model, column_name) -%}
{%- set selected = '*' if dbt.should_store_failures() else column_name -%}
select {{ selected }}
from {{ model }}
where {{ column_name }} is null
{%- endmacro %}


{#
  Values of column_name outside `values`, with their row counts. NULL is not checked (pair the
  test with not_null for that). `quote=false` compares against the values as written, for numbers
  or booleans.
#}
{% test accepted_values(model, column_name, values, quote=true) -%}
  {{- return(adapter.dispatch('test_accepted_values', 'dbt')(model, column_name, values, quote)) -}}
{%- endtest %}

{% macro default__test_accepted_values(model, column_name, values, quote=true) -%}
with all_values as (
    select
        {{ column_name }} as value_field,
        count(*) as n_records
    from {{ model }}
    group by {{ column_name }}
)
select *
from all_values
where value_field not in (
    {% for value in values -%}
    {%- if quote -%}'{{ value }}'{%- else -%}{{ value }}{%- endif -%}
    {%- if not loop.last %}, {% endif -%}
    {%- endfor %}
)
{%- endmacro %}


{#
  Non-null values of column_name with no row in `to` (a ref() or source()) whose `field` equals
  them: each is an orphan.
#}
{% test relationships(model, column_name, to, field) -%}
  {{- return(adapter.dispatch('test_relationships', 'dbt')(model, column_name, to, field)) -}}
{%- endtest %}

{% macro default__test_relationships(model, column_name, to, field) -%}
with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
)

select
    from_field
from child
left join parent
    on child.from_field = parent.to_field
where parent.to_field is null
{%- endmacro %}


{#
  The relation a generic test reads: with a `where` config, a subquery of the rows it keeps,
  aliased dbt_subquery; else the relation itself.
#}
{% macro get_where_subquery(relation) -%}
  {{- return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -}}
{%- endmacro %}

{% macro default__get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if where -%}
    {{- return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -}}
  {%- else -%}
    {{- return(relation) -}}
  {%- endif -%}
{%- endmacro %}


{#
  Whether this test's failing rows are saved to a table: `store_failures_as` (table or view;
  ephemeral means no) wins over `store_failures`, which falls back to the --store-failures flag.
#}
{% macro should_store_failures() -%}
  {%- set store_as = config.get('store_failures_as') -%}
  {%- if store_as is not none -%}
    {{- return(((store_as ~ '') | lower) in ['table', 'view']) -}}
  {%- endif -%}
  {%- set store = config.get('store_failures') -%}
  {%- if store is none and flags is defined and flags.STORE_FAILURES is defined -%}
    {%- set store = flags.STORE_FAILURES -%}
  {%- endif -%}
  {{- return(true if store else false) -}}
{%- endmacro %}


{#
  The query that grades a test: its failure count (`fail_calc`, count(*) by default) and whether
  that count trips `warn_if` / `error_if` (e.g. '!= 0', '>10'). `limit` caps the failing rows read.
#}
{% macro get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
  {{- return(adapter.dispatch('get_test_sql', 'dbt')(main_sql, fail_calc, warn_if, error_if, limit)) -}}
{%- endmacro %}

{% macro default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
select
    {{ fail_calc }} as failures,
    {{ fail_calc }} {{ warn_if }} as should_warn,
    {{ fail_calc }} {{ error_if }} as should_error
from (
    {{ main_sql }}
    {%- if limit is not none %}
    limit {{ limit }}
    {%- endif %}
) dbt_internal_test
{%- endmacro %}
