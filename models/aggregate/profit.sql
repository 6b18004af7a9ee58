-- Profit per account and month: billed revenue minus the account's share of the month's company
-- costs, with unit economics that stay defined when an account has no subscribers. Money is
-- DECIMAL(18, 2) throughout (macros/money.sql).
with revenue as (
    select * from {{ ref('int_revenue_by_account_monthly') }}
),

costs as (
    select * from {{ ref('int_costs_monthly') }}
),

allocated as (
    select
        revenue.account_id,
        revenue.billing_month as month_start,
        revenue.total_revenue as revenue,
        revenue.seat_revenue,
        {{ to_money('revenue.addon_revenue + revenue.support_revenue + revenue.credits') }} as other_revenue,
        revenue.billed_seats as subscribers,
        count(*) over (partition by revenue.billing_month) as billed_accounts,
        -- NULL when the ledger has no costs for the month: no data is not zero cost
        costs.total_cost as company_cost,
        -- each billed account's equal share, to the cent; the shares add up to the month's cost
        -- exactly (the first accounts by id carry the leftover cents)
        {{ allocate_money('costs.total_cost', 'revenue.account_id', 'revenue.billing_month') }} as cost_per_account
    from revenue
    left join costs
        on costs.cost_month = revenue.billing_month
)

select
    account_id,
    month_start,
    revenue,
    seat_revenue,
    other_revenue,
    subscribers,
    billed_accounts,
    company_cost,
    cost_per_account,
    {{ to_money('revenue - cost_per_account') }} as profit,
    round({{ safe_divide('revenue - cost_per_account', 'revenue') }}, 4) as profit_margin,
    {{ divide_money('revenue - cost_per_account', 'subscribers') }} as unit_profit_per_subscriber,
    {{ divide_money('revenue', 'subscribers') }} as revenue_per_subscriber
from allocated
