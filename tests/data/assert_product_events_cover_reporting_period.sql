{{ config(severity='warn') }}
-- The product click events cover the whole reporting period (vars reporting_start_month to the end
-- of reporting_end_month): every week has events, so the executive figures for engagement are
-- measured, not missing. Returns the weeks without any event. Warn severity: a gap in the
-- deliveries must not hold back the rest of the board's figures; the weeks it leaves show NULL
-- (assert_no_data_is_null_not_zero) and this warning names them.
with weeks as (
    select distinct cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start
    from (
        {{ day_spine("cast('" ~ var('reporting_start_month') ~ "' as date)", dbt.dateadd('day', -1, dbt.dateadd('month', 1, "cast('" ~ var('reporting_end_month') ~ "' as date)"))) }}
    ) as days
),

event_weeks as (
    select cast({{ dbt.date_trunc('week', 'event_date') }} as date) as week_start, count(*) as events
    from {{ ref('stg_product__click_events') }}
    group by 1
)

select weeks.week_start
from weeks
left join event_weeks on event_weeks.week_start = weeks.week_start
where event_weeks.week_start is null
