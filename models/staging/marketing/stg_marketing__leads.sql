-- A table, not a view like the other staging models: the PII hashes are computed once, on the
-- run's connection, which holds the key (macros/hash_pii.sql); a view would hash at query time on
-- a reader's connection, which does not.
{{ config(materialized='table') }}
-- One row per marketing lead, PII hashed, domains and countries normalised.
with source as (
    select * from {{ source('marketing', 'leads') }}
),

ranked as (
    select
        source.*,
        row_number() over (partition by lead_id order by created_at desc) as recency_rank
    from source
),

countries as (
    select * from {{ ref('country_aliases') }}
)

select
    ranked.lead_id,
    {{ hash_pii(normalize_email('ranked.email')) }} as email_hash,
    {{ hash_pii("lower(" ~ clean_text('ranked.first_name') ~ ")") }} as first_name_hash,
    {{ hash_pii("lower(" ~ clean_text('ranked.last_name') ~ ")") }} as last_name_hash,
    {{ dbt.split_part(normalize_email('ranked.email'), "'@'", 2) }} as email_domain,
    {{ clean_text('ranked.company') }} as company_name,
    {{ normalize_domain('ranked.company_domain') }} as company_domain,
    countries.country_code,
    {{ normalize_code('ranked.lead_source') }} as lead_source,
    upper({{ clean_text('ranked.campaign_id') }}) as campaign_id,
    {{ normalize_code('ranked.lead_status') }} as lead_status,
    upper({{ clean_text('ranked.converted_account_id') }}) as converted_account_id,
    ranked.created_at
from ranked
left join countries
    on countries.alias = lower(trim(ranked.country))
where ranked.recency_rank = 1
