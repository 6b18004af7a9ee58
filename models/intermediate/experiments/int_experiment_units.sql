-- One row per experiment and unit (account): its variant, its conversion window (from the
-- experiment registry seed), whether the product data covers the whole window yet, and whether
-- and when any of its users used the experiment's goal feature within the window.
with assignments as (
    select * from {{ ref('stg_experiments__assignments') }}
),

experiments as (
    select
        {{ normalize_code('experiment_id') }} as experiment_id,
        {{ normalize_code('goal_feature') }} as goal_feature,
        conversion_window_days,
        {{ normalize_code('control_variant') }} as control_variant
    from {{ ref('experiments') }}
),

units as (
    select
        assignments.experiment_id,
        assignments.variant,
        assignments.variant = experiments.control_variant as is_control,
        assignments.account_id,
        assignments.assigned_at,
        {{ dbt.dateadd('day', 'experiments.conversion_window_days', 'assignments.assigned_at') }}
            as window_ends_at,
        experiments.goal_feature
    from assignments
    inner join experiments
        on experiments.experiment_id = assignments.experiment_id
),

goal_events as (
    select account_id, feature_name, occurred_at
    from {{ ref('stg_product__click_events') }}
    where event_type = 'feature_used'
),

data_end as (
    select max(occurred_at) as last_event_at
    from {{ ref('stg_product__click_events') }}
)

select
    units.experiment_id,
    units.variant,
    units.is_control,
    units.account_id,
    units.assigned_at,
    units.window_ends_at,
    units.window_ends_at <= data_end.last_event_at as is_window_complete,
    min(goal_events.occurred_at) as converted_at,
    count(goal_events.occurred_at) > 0 as is_converted
from units
cross join data_end
left join goal_events
    on goal_events.account_id = units.account_id
    and goal_events.feature_name = units.goal_feature
    and goal_events.occurred_at >= units.assigned_at
    and goal_events.occurred_at < units.window_ends_at
group by
    units.experiment_id,
    units.variant,
    units.is_control,
    units.account_id,
    units.assigned_at,
    units.window_ends_at,
    data_end.last_event_at
