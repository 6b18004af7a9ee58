-- The company's costs per month: ledger expenses by category plus payroll.
with expenses as (
    select
        expense_month as cost_month,
        {{ to_money("sum(case when expense_category = 'infrastructure' then amount else 0 end)") }} as infrastructure_cost,
        {{ to_money("sum(case when expense_category = 'services' then amount else 0 end)") }} as services_cost,
        {{ to_money("sum(case when expense_category = 'assets' then amount else 0 end)") }} as assets_cost
    from {{ ref('stg_finance__expenses') }}
    group by expense_month
),

salaries as (
    select
        salary_month as cost_month,
        cast(sum(headcount) as bigint) as headcount,
        {{ to_money('sum(total_salary)') }} as salary_cost
    from {{ ref('stg_finance__salaries') }}
    group by salary_month
),

months as (
    select cost_month from expenses
    union
    select cost_month from salaries
)

select
    months.cost_month,
    coalesce(expenses.infrastructure_cost, 0) as infrastructure_cost,
    coalesce(expenses.services_cost, 0) as services_cost,
    coalesce(expenses.assets_cost, 0) as assets_cost,
    coalesce(salaries.salary_cost, 0) as salary_cost,
    coalesce(salaries.headcount, 0) as headcount,
    {{ to_money('coalesce(expenses.infrastructure_cost, 0) + coalesce(expenses.services_cost, 0) + coalesce(expenses.assets_cost, 0) + coalesce(salaries.salary_cost, 0)') }}
        as total_cost
from months
left join expenses on expenses.cost_month = months.cost_month
left join salaries on salaries.cost_month = months.cost_month
