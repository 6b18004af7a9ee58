-- The investor monthly report: revenue, run rate, growth, retention, profitability and product
-- engagement per month of the reporting period. Revenue, profit and MRR come from exec_monthly,
-- as in every board report, so they agree to the cent. A month without data is NULL, not 0.
with engagement_monthly as (
    select
        cast({{ dbt.date_trunc('month', 'week_start') }} as date) as month_start,
        cast(sum(weekly_active_users) as bigint) as weekly_active_user_weeks,
        count(*) as weeks
    from {{ ref('exec_weekly') }}
    where weekly_active_users is not null
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
    monthly.month_start,
    monthly.revenue,
    monthly.ending_mrr,
    monthly.annual_run_rate,
    monthly.net_new_mrr,
    monthly.new_accounts,
    monthly.churned_accounts,
    monthly.paying_accounts,
    round({{ safe_divide('growth.churned_accounts', 'growth.paying_accounts_at_start') }}, 4) as logo_churn_rate,
    round(
        {{ safe_divide(
            'growth.mrr_at_start + growth.expansion_mrr - growth.contraction_mrr - growth.churned_mrr',
            'growth.mrr_at_start'
        ) }},
        4
    ) as net_revenue_retention,
    monthly.profit,
    monthly.profit_margin,
    growth.customer_acquisition_cost,
    round({{ safe_divide('engagement_monthly.weekly_active_user_weeks', 'engagement_monthly.weeks') }}, 2)
        as avg_weekly_active_users
from {{ ref('exec_monthly') }} as monthly
inner join growth on growth.month_start = monthly.month_start
left join engagement_monthly on engagement_monthly.month_start = monthly.month_start
