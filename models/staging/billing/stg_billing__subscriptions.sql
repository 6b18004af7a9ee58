-- One row per subscription: its latest version, with plan and status spellings normalised.
with source as (
    select * from {{ source('billing', 'subscriptions') }}
),

ranked as (
    select
        source.*,
        row_number() over (
            partition by trim(subscription_id)
            order by updated_at desc
        ) as recency_rank
    from source
)

select
    trim(subscription_id) as subscription_id,
    upper(trim(account_id)) as account_id,
    {{ normalize_code('plan') }} as plan_code,
    seats,
    price_per_seat,
    {{ to_money('seats * price_per_seat') }} as monthly_recurring_revenue,
    upper({{ clean_text('currency') }}) as currency,
    started_at,
    ended_at,
    case {{ normalize_code('status') }}
        when 'cancelled' then 'canceled'
        else {{ normalize_code('status') }}
    end as status,
    updated_at
from ranked
where recency_rank = 1
