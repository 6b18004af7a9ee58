-- Weekly product engagement per account: weekly and average daily active users, and hours on the
-- platform per active user per day.
with daily as (
    select
        user_id,
        account_id,
        activity_date,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as week_start,
        sessions,
        events,
        feature_uses,
        hours_on_platform
    from {{ ref('int_engagement_by_user_daily') }}
)

select
    account_id,
    week_start,
    count(distinct activity_date) as active_days,
    count(distinct user_id) as weekly_active_users,
    count(*) as active_user_days,
    round(count(*) / 7.0, 4) as avg_daily_active_users,
    cast(sum(sessions) as bigint) as sessions,
    cast(sum(events) as bigint) as events,
    cast(sum(feature_uses) as bigint) as feature_uses,
    round(sum(hours_on_platform), 4) as hours_on_platform,
    round({{ safe_divide('sum(hours_on_platform)', 'count(*)', 0) }}, 4) as hours_per_active_user_per_day
from daily
group by account_id, week_start
