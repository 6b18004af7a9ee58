-- The subscription status history of every account: one row per lifecycle event, with the status
-- and MRR before and after it, the MRR movement it represents, and a flag when the event skipped
-- a required step (see docs: int_account_status_history).
with events as (
    select * from {{ ref('stg_billing__subscription_events') }}
),

sequenced as (
    select
        events.*,
        row_number() over (
            partition by account_id
            order by event_at, subscription_event_id
        ) as event_sequence,
        case event_type
            when 'trial_start' then 'trialing'
            when 'cancel' then 'canceled'
            else 'active'
        end as status_after,
        case
            when event_type in ('trial_start', 'cancel') then cast(0 as {{ money_type() }})
            else {{ to_money('seats * price_per_seat') }}
        end as mrr_after
    from events
),

with_previous as (
    select
        sequenced.*,
        lag(status_after) over (partition by account_id order by event_sequence) as status_before,
        coalesce(
            lag(mrr_after) over (partition by account_id order by event_sequence),
            cast(0 as {{ money_type() }})
        ) as mrr_before,
        lead(event_at) over (partition by account_id order by event_sequence) as next_event_at
    from sequenced
),

checked as (
    select
        with_previous.*,
        -- the step the lifecycle requires before this event, when it is missing
        case
            when event_type = 'trial_start'
                and status_before is not null and status_before <> 'canceled' then 'cancel'
            when event_type = 'subscribe' and status_before = 'active' then 'cancel'
            when event_type in ('renew', 'upgrade', 'downgrade')
                and (status_before is null or status_before <> 'active') then 'subscribe'
            when event_type = 'cancel'
                and (status_before is null or status_before = 'canceled') then 'subscribe'
        end as missing_step,
        -- the first event that made the account a paying customer
        sum(case when status_after = 'active' then 1 else 0 end) over (
            partition by account_id
            order by event_sequence
            rows between unbounded preceding and current row
        ) as paid_events_so_far
    from with_previous
)

select
    subscription_event_id,
    account_id,
    subscription_id,
    event_sequence,
    event_type,
    event_at,
    event_date,
    cast({{ dbt.date_trunc('month', 'event_at') }} as date) as event_month,
    next_event_at as valid_until,
    status_before,
    status_after,
    plan_code,
    seats,
    price_per_seat,
    mrr_before,
    mrr_after,
    {{ to_money('mrr_after - mrr_before') }} as mrr_change,
    case
        when status_after = 'active' and paid_events_so_far = 1 then 'new'
        when event_type = 'cancel' and mrr_before > 0 then 'churn'
        when mrr_after > mrr_before and status_before = 'active' then 'expansion'
        when mrr_after < mrr_before and status_before = 'active' then 'contraction'
        when mrr_after > mrr_before then 'reactivation'
        else 'none'
    end as mrr_movement,
    missing_step is not null as is_missing_required_step,
    missing_step
from checked
