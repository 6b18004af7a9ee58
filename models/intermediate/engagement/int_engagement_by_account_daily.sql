-- Product engagement per account and day: active users and hours on the platform per user.
select
    account_id,
    activity_date,
    count(*) as active_users,
    cast(sum(case when licence_type = 'full' then 1 else 0 end) as bigint) as active_full_licence_users,
    cast(sum(sessions) as bigint) as sessions,
    cast(sum(events) as bigint) as events,
    cast(sum(feature_uses) as bigint) as feature_uses,
    sum(hours_on_platform) as hours_on_platform,
    round({{ safe_divide('sum(hours_on_platform)', 'count(*)', 0) }}, 4) as hours_per_active_user
from {{ ref('int_engagement_by_user_daily') }}
group by account_id, activity_date
