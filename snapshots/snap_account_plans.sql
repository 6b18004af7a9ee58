{#-
  SCD type 2 history of each account's plan, status and seats: one version per change, with
  dbt_valid_from / dbt_valid_to. Timestamp strategy: a new version is recorded when the account's
  updated_at (the later of the CRM account and its current subscription) moves forward.
-#}
{% snapshot snap_account_plans %}
{{
    config(
        unique_key='account_id',
        strategy='timestamp',
        updated_at='updated_at'
    )
}}

with current_subscription as (
    select
        subscriptions.*,
        row_number() over (
            partition by account_id
            order by started_at desc, updated_at desc
        ) as recency_rank
    from {{ ref('stg_billing__subscriptions') }} as subscriptions
)

select
    accounts.account_id,
    accounts.account_name,
    current_subscription.subscription_id,
    current_subscription.plan_code,
    current_subscription.status,
    current_subscription.seats,
    current_subscription.price_per_seat,
    current_subscription.monthly_recurring_revenue,
    greatest(accounts.updated_at, current_subscription.updated_at) as updated_at
from {{ ref('stg_crm__accounts') }} as accounts
inner join current_subscription
    on current_subscription.account_id = accounts.account_id
    and current_subscription.recency_rank = 1

{% endsnapshot %}
