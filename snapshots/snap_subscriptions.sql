{#-
  SCD type 2 history of every billing subscription (plan, seats, price, status, end date).
  Timestamp strategy on the billing system's updated_at.
-#}
{% snapshot snap_subscriptions %}
{{
    config(
        unique_key='subscription_id',
        strategy='timestamp',
        updated_at='updated_at'
    )
}}

select
    subscription_id,
    account_id,
    plan_code,
    seats,
    price_per_seat,
    monthly_recurring_revenue,
    status,
    started_at,
    ended_at,
    updated_at
from {{ ref('stg_billing__subscriptions') }}

{% endsnapshot %}
