-- Unit-level daily metrics for A/B tests: one row per experiment, assigned account (the unit) and
-- day from its assignment to the last day of product data, with zeros on days without activity
-- so per-variant means are not biased towards active units.
with assignments as (
    select * from {{ ref('stg_experiments__assignments') }}
),

engagement as (
    select * from {{ ref('int_engagement_by_account_daily') }}
),

days as (
    {{ day_spine('(select min(assigned_date) from assignments)', '(select max(activity_date) from engagement)') }}
)

select
    assignments.experiment_id,
    assignments.variant,
    assignments.account_id,
    days.date_day as activity_date,
    {{ dbt.datediff('assignments.assigned_date', 'days.date_day', 'day') }} as days_since_assignment,
    coalesce(engagement.active_users, 0) > 0 as is_active,
    coalesce(engagement.active_users, 0) as active_users,
    coalesce(engagement.sessions, 0) as sessions,
    coalesce(engagement.events, 0) as events,
    coalesce(engagement.feature_uses, 0) as feature_uses,
    coalesce(engagement.hours_on_platform, 0) as hours_on_platform,
    coalesce(engagement.hours_per_active_user, 0) as hours_per_active_user
from assignments
inner join days
    on days.date_day >= assignments.assigned_date
left join engagement
    on engagement.account_id = assignments.account_id
    and engagement.activity_date = days.date_day
