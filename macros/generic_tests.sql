{#-
  Generic data tests used by the demo's properties files (dbt ships unique, not_null,
  accepted_values and relationships; these are the project's own).
-#}

{#- fails with one row per combination of the columns that occurs more than once -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- fails with one row per value below zero -#}
{% test not_negative(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
