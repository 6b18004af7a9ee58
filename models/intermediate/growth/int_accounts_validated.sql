-- CRM accounts checked against the other feeds: web analytics and marketing activity matched on
-- the company domain, the first-touch campaign (and its media channel), billing presence, and a
-- validation status saying what, if anything, is wrong with the account.
with accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

pageviews as (
    select * from {{ ref('stg_web__pageviews') }}
    where account_domain is not null
),

leads as (
    select * from {{ ref('stg_marketing__leads') }}
    where company_domain is not null
),

web_activity as (
    select
        account_domain,
        count(*) as web_hits,
        count(distinct visitor_id) as web_visitors,
        min(hit_at) as first_web_hit_at
    from pageviews
    group by account_domain
),

lead_activity as (
    select
        company_domain,
        count(*) as leads,
        min(created_at) as first_lead_at
    from leads
    group by company_domain
),

touches as (
    select account_domain as domain, campaign_id, hit_at as touched_at, 'web' as touch_source
    from pageviews
    where campaign_id is not null
    union all
    select company_domain as domain, campaign_id, created_at as touched_at, 'lead' as touch_source
    from leads
    where campaign_id is not null
),

first_touch as (
    select
        domain,
        campaign_id,
        touched_at,
        row_number() over (partition by domain order by touched_at, touch_source) as touch_rank
    from touches
),

campaigns as (
    select
        campaign_id,
        min(campaign_name) as campaign_name,
        min(channel) as channel
    from {{ ref('stg_media__daily_spend') }}
    group by campaign_id
),

billing as (
    select
        account_id,
        count(*) as subscriptions,
        min(started_at) as first_subscription_started_at
    from {{ ref('stg_billing__subscriptions') }}
    group by account_id
),

contacts as (
    select account_id, count(*) as contacts
    from {{ ref('stg_crm__contacts') }}
    group by account_id
)

select
    accounts.account_id,
    accounts.account_name,
    accounts.account_domain,
    accounts.country_code,
    accounts.industry,
    accounts.employee_count,
    accounts.account_type,
    coalesce(contacts.contacts, 0) as contacts,
    coalesce(web_activity.web_hits, 0) as web_hits,
    coalesce(web_activity.web_visitors, 0) as web_visitors,
    web_activity.first_web_hit_at,
    coalesce(lead_activity.leads, 0) as leads,
    lead_activity.first_lead_at,
    first_touch.campaign_id as first_touch_campaign_id,
    first_touch.touched_at as first_touch_at,
    campaigns.channel as first_touch_channel,
    coalesce(billing.subscriptions, 0) as subscriptions,
    billing.first_subscription_started_at,
    billing.account_id is not null as has_billing,
    case
        when accounts.account_domain is null or accounts.account_domain not like '%.%' then 'invalid_domain'
        when accounts.country_code is null then 'unknown_country'
        when billing.account_id is null then 'no_billing'
        when web_activity.account_domain is null and lead_activity.company_domain is null
            then 'no_marketing_activity'
        else 'valid'
    end as validation_status
from accounts
left join web_activity
    on web_activity.account_domain = accounts.account_domain
left join lead_activity
    on lead_activity.company_domain = accounts.account_domain
left join first_touch
    on first_touch.domain = accounts.account_domain
    and first_touch.touch_rank = 1
left join campaigns
    on campaigns.campaign_id = first_touch.campaign_id
left join billing
    on billing.account_id = accounts.account_id
left join contacts
    on contacts.account_id = accounts.account_id
