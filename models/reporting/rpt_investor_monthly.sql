-- The investor monthly report: revenue, run rate, growth, retention, profitability and product
-- engagement per month of the reporting period.
with profit_monthly as (
    select
        month_start,
        sum(revenue) as revenue,
        sum(profit) as profit,
        count(*) as billed_accounts
    from {{ ref('profit') }}
    group by month_start
),

engagement_monthly as (
    select
        cast({{ dbt.date_trunc('month', 'week_start') }} as date) as month_start,
        cast(sum(weekly_active_users) as bigint) as weekly_active_user_weeks,
        count(distinct week_start) as weeks
    from {{ ref('engagement') }}
    group by 1
),

growth as (
    select
        growth.*,
        lag(paying_accounts) over (order by month_start) as paying_accounts_at_start,
        lag(ending_mrr) over (order by month_start) as mrr_at_start
    from {{ ref('growth') }} as growth
)

select
    growth.month_start,
    coalesce(profit_monthly.revenue, 0) as revenue,
    growth.ending_mrr,
    growth.ending_mrr * 12 as annual_run_rate,
    growth.net_new_mrr,
    growth.new_accounts,
    growth.churned_accounts,
    growth.paying_accounts,
    round({{ safe_divide('growth.churned_accounts', 'growth.paying_accounts_at_start') }}, 4) as logo_churn_rate,
    round(
        {{ safe_divide(
            'growth.mrr_at_start + growth.expansion_mrr - growth.contraction_mrr - growth.churned_mrr',
            'growth.mrr_at_start'
        ) }},
        4
    ) as net_revenue_retention,
    coalesce(profit_monthly.profit, 0) as profit,
    round({{ safe_divide('profit_monthly.profit', 'profit_monthly.revenue') }}, 4) as profit_margin,
    growth.customer_acquisition_cost,
    round({{ safe_divide('engagement_monthly.weekly_active_user_weeks', 'engagement_monthly.weeks') }}, 2)
        as avg_weekly_active_users
from growth
left join profit_monthly on profit_monthly.month_start = growth.month_start
left join engagement_monthly on engagement_monthly.month_start = growth.month_start
