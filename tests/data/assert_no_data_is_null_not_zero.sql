-- No data is not zero usage. A period a feed does not cover must report NULL (a gap on the
-- dashboard), and a period it covers must report its figures, never a NULL and never a zero that
-- stands in for missing data:
-- - exec_weekly: a week's engagement figures are NULL exactly when no product data exists for the
--   week, and a week with data never shows 0 active users (its data is its active users);
-- - exec_monthly: a month's revenue is NULL exactly when the billing export has nothing for it;
-- - rpt_investor_monthly: average weekly active users is NULL exactly when the month has no week
--   with product data.
-- Returns the offending periods.
with weekly_data as (
    select distinct week_start from {{ ref('engagement') }}
),

monthly_data as (
    select distinct month_start from {{ ref('profit') }}
),

weeks as (
    select
        weekly.week_start,
        weekly.month_start,
        weekly.weekly_active_users,
        weekly.active_accounts,
        weekly.hours_per_active_user_per_day,
        weekly_data.week_start is not null as has_data
    from {{ ref('exec_weekly') }} as weekly
    left join weekly_data on weekly_data.week_start = weekly.week_start
)

select 'exec_weekly' as model, week_start as period_start, has_data, 'weekly_active_users' as metric
from weeks
where (has_data and (weekly_active_users is null or weekly_active_users = 0
        or active_accounts is null or hours_per_active_user_per_day is null))
    or (not has_data and (weekly_active_users is not null or active_accounts is not null
        or hours_per_active_user_per_day is not null))

union all

select 'exec_monthly', monthly.month_start, monthly_data.month_start is not null, 'revenue'
from {{ ref('exec_monthly') }} as monthly
left join monthly_data on monthly_data.month_start = monthly.month_start
where (monthly_data.month_start is null) <> (monthly.revenue is null)

union all

select 'rpt_investor_monthly', investor.month_start, months_with_data.month_start is not null, 'avg_weekly_active_users'
from {{ ref('rpt_investor_monthly') }} as investor
left join (select distinct month_start from weeks where has_data) as months_with_data
    on months_with_data.month_start = investor.month_start
where (months_with_data.month_start is null) <> (investor.avg_weekly_active_users is null)
