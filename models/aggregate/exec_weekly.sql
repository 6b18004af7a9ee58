-- The executive and investor weekly view: one row per week of the reporting period joining
-- profit, growth and engagement. Monthly figures (revenue, cost, profit, growth) are those of the
-- month the week starts in. Every metric is NULL- and zero-safe: a week with no activity reports 0.
with weeks as (
    select distinct cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start
    from (
        {{ day_spine("cast('" ~ var('reporting_start_month') ~ "' as date)", dbt.dateadd('day', -1, dbt.dateadd('month', 1, "cast('" ~ var('reporting_end_month') ~ "' as date)"))) }}
    ) as days
),

profit_monthly as (
    select
        month_start,
        sum(revenue) as revenue,
        max(company_cost) as company_cost,
        sum(profit) as profit,
        count(*) as billed_accounts,
        cast(sum(subscribers) as bigint) as subscribers
    from {{ ref('profit') }}
    group by month_start
),

engagement_weekly as (
    select
        week_start,
        count(*) as active_accounts,
        cast(sum(weekly_active_users) as bigint) as weekly_active_users,
        cast(sum(active_user_days) as bigint) as active_user_days,
        sum(hours_on_platform) as hours_on_platform
    from {{ ref('engagement') }}
    group by week_start
),

weeks_with_month as (
    select
        week_start,
        cast({{ dbt.dateadd('day', 6, 'week_start') }} as date) as week_end,
        cast({{ dbt.date_trunc('month', 'week_start') }} as date) as month_start
    from weeks
)

select
    weeks_with_month.week_start,
    weeks_with_month.week_end,
    weeks_with_month.month_start,
    coalesce(profit_monthly.revenue, 0) as month_revenue,
    coalesce(profit_monthly.company_cost, 0) as month_cost,
    coalesce(profit_monthly.profit, 0) as month_profit,
    coalesce(round({{ safe_divide('profit_monthly.profit', 'profit_monthly.revenue') }}, 4), 0) as month_profit_margin,
    coalesce(profit_monthly.billed_accounts, 0) as billed_accounts,
    coalesce(profit_monthly.subscribers, 0) as subscribers,
    coalesce(round({{ safe_divide('profit_monthly.profit', 'profit_monthly.subscribers') }}, 2), 0)
        as unit_profit_per_subscriber,
    coalesce(growth.ending_mrr, 0) as ending_mrr,
    coalesce(growth.ending_mrr, 0) * 12 as annual_run_rate,
    coalesce(growth.net_new_mrr, 0) as month_net_new_mrr,
    coalesce(growth.new_accounts, 0) as month_new_accounts,
    coalesce(growth.churned_accounts, 0) as month_churned_accounts,
    coalesce(engagement_weekly.active_accounts, 0) as active_accounts,
    coalesce(engagement_weekly.weekly_active_users, 0) as weekly_active_users,
    coalesce(engagement_weekly.hours_on_platform, 0) as hours_on_platform,
    coalesce(
        round({{ safe_divide('engagement_weekly.hours_on_platform', 'engagement_weekly.active_user_days') }}, 4),
        0
    ) as hours_per_active_user_per_day
from weeks_with_month
left join profit_monthly on profit_monthly.month_start = weeks_with_month.month_start
left join {{ ref('growth') }} as growth on growth.month_start = weeks_with_month.month_start
left join engagement_weekly on engagement_weekly.week_start = weeks_with_month.week_start
