-- The CFO's monthly summary: revenue, costs, profit and unit economics per month (from
-- exec_monthly, as every board figure), the MRR movements behind them, and year-to-date totals.
-- Money is DECIMAL(18, 2); a month without data is NULL, not 0.
select
    monthly.month_start,
    monthly.revenue,
    monthly.seat_revenue,
    monthly.other_revenue,
    monthly.company_cost,
    monthly.profit,
    monthly.profit_margin,
    monthly.billed_accounts,
    monthly.subscribers,
    monthly.cost_per_account,
    monthly.unit_profit_per_subscriber,
    growth.new_mrr,
    growth.expansion_mrr,
    growth.contraction_mrr,
    growth.churned_mrr,
    growth.reactivation_mrr,
    growth.net_new_mrr,
    growth.marketing_spend,
    {{ to_money("sum(monthly.revenue) over (
        partition by extract(year from monthly.month_start)
        order by monthly.month_start
        rows between unbounded preceding and current row
    )") }} as revenue_ytd,
    {{ to_money("sum(monthly.profit) over (
        partition by extract(year from monthly.month_start)
        order by monthly.month_start
        rows between unbounded preceding and current row
    )") }} as profit_ytd
from {{ ref('exec_monthly') }} as monthly
inner join {{ ref('growth') }} as growth on growth.month_start = monthly.month_start
