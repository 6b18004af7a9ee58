-- One row per subscription lifecycle event, event types normalised to lower case.
select
    trim(event_id) as subscription_event_id,
    trim(subscription_id) as subscription_id,
    upper(trim(account_id)) as account_id,
    {{ normalize_code('event_type') }} as event_type,
    event_at,
    cast(event_at as date) as event_date,
    {{ normalize_code('plan') }} as plan_code,
    seats,
    price_per_seat
from {{ source('billing', 'subscription_events') }}
