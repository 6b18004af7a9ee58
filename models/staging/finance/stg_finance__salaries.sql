-- One row per team and payroll month.
select
    salary_month,
    {{ normalize_code('team') }} as team,
    headcount,
    total_salary
from {{ source('finance', 'salaries') }}
