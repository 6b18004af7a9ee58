-- The executive weekly view of product engagement: one row per ISO week of the reporting period.
-- Every figure is the week's own (weekly active users and hours are not additive across weeks
-- either: a user active in two weeks counts in both). The month's figures (revenue, profit, MRR)
-- are in exec_monthly, one row per month, joined on `month_start` (the month the week starts in),
-- so a BI tool cannot add a month's revenue up once per week. A week without any product data is
-- NULL, not 0.
with weeks as (
    select distinct cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start
    from (
        {{ day_spine("cast('" ~ var('reporting_start_month') ~ "' as date)", dbt.dateadd('day', -1, dbt.dateadd('month', 1, "cast('" ~ var('reporting_end_month') ~ "' as date)"))) }}
    ) as days
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
)

select
    weeks.week_start,
    cast({{ dbt.dateadd('day', 6, 'weeks.week_start') }} as date) as week_end,
    cast({{ dbt.date_trunc('month', 'weeks.week_start') }} as date) as month_start,
    engagement_weekly.active_accounts,
    engagement_weekly.weekly_active_users,
    engagement_weekly.active_user_days,
    round(engagement_weekly.hours_on_platform, 4) as hours_on_platform,
    round({{ safe_divide('engagement_weekly.hours_on_platform', 'engagement_weekly.active_user_days') }}, 4)
        as hours_per_active_user_per_day
from weeks
left join engagement_weekly on engagement_weekly.week_start = weeks.week_start
