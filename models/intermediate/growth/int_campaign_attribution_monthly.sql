-- Campaign performance per month: media spend and delivery, web hits and leads it produced, and
-- the new paying accounts attributed to it (first-touch attribution, counted in the month the
-- account first paid).
with spend as (
    select
        campaign_id,
        spend_month as activity_month,
        min(campaign_name) as campaign_name,
        min(channel) as channel,
        {{ to_money('sum(spend_usd)') }} as spend_usd,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks
    from {{ ref('stg_media__daily_spend') }}
    group by campaign_id, spend_month
),

web as (
    select
        campaign_id,
        cast({{ dbt.date_trunc('month', 'hit_at') }} as date) as activity_month,
        count(*) as web_hits
    from {{ ref('stg_web__pageviews') }}
    where campaign_id is not null
    group by 1, 2
),

leads as (
    select
        campaign_id,
        cast({{ dbt.date_trunc('month', 'created_at') }} as date) as activity_month,
        count(*) as leads
    from {{ ref('stg_marketing__leads') }}
    where campaign_id is not null
    group by 1, 2
),

new_accounts as (
    select
        accounts.first_touch_campaign_id as campaign_id,
        history.event_month as activity_month,
        count(distinct history.account_id) as attributed_new_accounts,
        {{ to_money('sum(history.mrr_after)') }} as attributed_new_mrr
    from {{ ref('int_account_status_history') }} as history
    inner join {{ ref('int_accounts_validated') }} as accounts
        on accounts.account_id = history.account_id
    where history.mrr_movement = 'new'
        and accounts.first_touch_campaign_id is not null
    group by 1, 2
),

keys as (
    select campaign_id, activity_month from spend
    union
    select campaign_id, activity_month from web
    union
    select campaign_id, activity_month from leads
    union
    select campaign_id, activity_month from new_accounts
),

campaigns as (
    select campaign_id, min(campaign_name) as campaign_name, min(channel) as channel
    from spend
    group by campaign_id
)

select
    keys.campaign_id,
    keys.activity_month,
    campaigns.campaign_name,
    coalesce(campaigns.channel, 'unknown') as channel,
    coalesce(spend.spend_usd, 0) as spend_usd,
    coalesce(spend.impressions, 0) as impressions,
    coalesce(spend.clicks, 0) as clicks,
    coalesce(web.web_hits, 0) as web_hits,
    coalesce(leads.leads, 0) as leads,
    coalesce(new_accounts.attributed_new_accounts, 0) as attributed_new_accounts,
    coalesce(new_accounts.attributed_new_mrr, 0) as attributed_new_mrr,
    {{ safe_divide('spend.clicks', 'spend.impressions') }} as click_through_rate,
    {{ divide_money('spend.spend_usd', 'leads.leads') }} as cost_per_lead
from keys
left join campaigns on campaigns.campaign_id = keys.campaign_id
left join spend
    on spend.campaign_id = keys.campaign_id and spend.activity_month = keys.activity_month
left join web
    on web.campaign_id = keys.campaign_id and web.activity_month = keys.activity_month
left join leads
    on leads.campaign_id = keys.campaign_id and leads.activity_month = keys.activity_month
left join new_accounts
    on new_accounts.campaign_id = keys.campaign_id and new_accounts.activity_month = keys.activity_month
