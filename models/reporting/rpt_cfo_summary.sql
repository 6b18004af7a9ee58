-- The CFO's monthly summary: revenue, costs, profit and unit economics per month, the MRR
-- movements behind them, and year-to-date totals.
with profit_monthly as (
    select
        month_start,
        sum(revenue) as revenue,
        sum(seat_revenue) as seat_revenue,
        sum(other_revenue) as other_revenue,
        max(company_cost) as company_cost,
        count(*) as billed_accounts,
        cast(sum(subscribers) as bigint) as subscribers
    from {{ ref('profit') }}
    group by month_start
)

select
    growth.month_start,
    coalesce(profit_monthly.revenue, 0) as revenue,
    coalesce(profit_monthly.seat_revenue, 0) as seat_revenue,
    coalesce(profit_monthly.other_revenue, 0) as other_revenue,
    coalesce(profit_monthly.company_cost, 0) as company_cost,
    coalesce(profit_monthly.revenue, 0) - coalesce(profit_monthly.company_cost, 0) as profit,
    round({{ safe_divide('profit_monthly.revenue - profit_monthly.company_cost', 'profit_monthly.revenue') }}, 4)
        as profit_margin,
    coalesce(profit_monthly.billed_accounts, 0) as billed_accounts,
    coalesce(profit_monthly.subscribers, 0) as subscribers,
    round({{ safe_divide('profit_monthly.company_cost', 'profit_monthly.billed_accounts') }}, 2) as cost_per_account,
    round({{ safe_divide('profit_monthly.revenue - profit_monthly.company_cost', 'profit_monthly.subscribers') }}, 2)
        as unit_profit_per_subscriber,
    growth.new_mrr,
    growth.expansion_mrr,
    growth.contraction_mrr,
    growth.churned_mrr,
    growth.reactivation_mrr,
    growth.net_new_mrr,
    growth.marketing_spend,
    sum(coalesce(profit_monthly.revenue, 0)) over (
        partition by extract(year from growth.month_start)
        order by growth.month_start
        rows between unbounded preceding and current row
    ) as revenue_ytd,
    sum(coalesce(profit_monthly.revenue, 0) - coalesce(profit_monthly.company_cost, 0)) over (
        partition by extract(year from growth.month_start)
        order by growth.month_start
        rows between unbounded preceding and current row
    ) as profit_ytd
from {{ ref('growth') }} as growth
left join profit_monthly on profit_monthly.month_start = growth.month_start
