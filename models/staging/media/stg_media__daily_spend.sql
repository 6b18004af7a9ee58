-- One row per campaign and delivery day: spend, impressions and clicks.
select
    spend_date,
    cast({{ dbt.date_trunc('month', 'spend_date') }} as date) as spend_month,
    upper({{ clean_text('campaign_id') }}) as campaign_id,
    {{ clean_text('campaign_name') }} as campaign_name,
    {{ normalize_code('channel') }} as channel,
    {{ to_money('spend_usd') }} as spend_usd,
    impressions,
    clicks
from {{ source('media', 'daily_spend') }}
