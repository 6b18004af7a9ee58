-- One row per CRM account: the latest record per account id, names and domains cleaned,
-- countries normalised to ISO codes.
with source as (
    select * from {{ source('crm', 'accounts') }}
),

ranked as (
    select
        source.*,
        row_number() over (
            partition by upper(trim(account_id))
            order by updated_at desc, created_at desc
        ) as recency_rank
    from source
),

countries as (
    select * from {{ ref('country_aliases') }}
)

select
    upper(trim(ranked.account_id)) as account_id,
    {{ clean_text('ranked.account_name') }} as account_name,
    {{ normalize_domain('ranked.website_domain') }} as account_domain,
    countries.country_code,
    countries.country_name,
    {{ clean_text('ranked.industry') }} as industry,
    ranked.employee_count,
    {{ normalize_code('ranked.account_type') }} as account_type,
    ranked.created_at,
    ranked.updated_at
from ranked
left join countries
    on countries.alias = lower(trim(ranked.billing_country))
where ranked.recency_rank = 1
