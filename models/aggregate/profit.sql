-- Profit per account and month: billed revenue minus the account's equal share of the month's
-- company costs, with unit economics that stay defined when an account has no subscribers.
with revenue as (
    select * from {{ ref('int_revenue_by_account_monthly') }}
),

costs as (
    select * from {{ ref('int_costs_monthly') }}
),

billed_accounts as (
    select billing_month, count(*) as billed_accounts
    from revenue
    group by billing_month
),

allocated as (
    select
        revenue.account_id,
        revenue.billing_month as month_start,
        revenue.total_revenue as revenue,
        revenue.seat_revenue,
        revenue.addon_revenue + revenue.support_revenue + revenue.credits as other_revenue,
        revenue.billed_seats as subscribers,
        billed_accounts.billed_accounts,
        coalesce(costs.total_cost, 0) as company_cost,
        round({{ safe_divide('coalesce(costs.total_cost, 0)', 'billed_accounts.billed_accounts', 0) }}, 2)
            as cost_per_account
    from revenue
    inner join billed_accounts
        on billed_accounts.billing_month = revenue.billing_month
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
    round(revenue - cost_per_account, 2) as profit,
    round({{ safe_divide('revenue - cost_per_account', 'revenue') }}, 4) as profit_margin,
    round({{ safe_divide('revenue - cost_per_account', 'subscribers') }}, 2) as unit_profit_per_subscriber,
    round({{ safe_divide('revenue', 'subscribers') }}, 2) as revenue_per_subscriber
from allocated
