-- Product engagement per user and day: sessions, events, feature use and hours on the platform.
-- A session's time is from its first to its last event, counted on the day it started.
with events as (
    select * from {{ ref('stg_product__click_events') }}
),

sessions as (
    select
        session_id,
        user_id,
        account_id,
        min(occurred_at) as session_started_at,
        max(occurred_at) as session_ended_at,
        count(*) as events,
        cast(sum(case when event_type = 'feature_used' then 1 else 0 end) as bigint) as feature_uses
    from events
    group by session_id, user_id, account_id
)

select
    sessions.user_id,
    sessions.account_id,
    cast(sessions.session_started_at as date) as activity_date,
    users.licence_type,
    count(*) as sessions,
    cast(sum(sessions.events) as bigint) as events,
    cast(sum(sessions.feature_uses) as bigint) as feature_uses,
    round(
        sum({{ dbt.datediff('sessions.session_started_at', 'sessions.session_ended_at', 'second') }}) / 3600.0,
        4
    ) as hours_on_platform
from sessions
left join {{ ref('stg_product__users') }} as users
    on users.user_id = sessions.user_id
group by 1, 2, 3, 4
