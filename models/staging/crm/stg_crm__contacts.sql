-- A table, not a view like the other staging models: the PII hashes are computed once, on the
-- run's connection, which holds the key (macros/hash_pii.sql); a view would hash at query time on
-- a reader's connection, which does not.
{{ config(materialized='table') }}
-- One row per CRM contact: the latest record per contact id, without the contacts who asked to
-- be deleted (GDPR/CCPA), and with every PII column replaced by its keyed hash (macros/hash_pii.sql).
with source as (
    select * from {{ source('crm', 'contacts') }}
),

deletion_requests as (
    -- a request on any version of the record stands, even if a later sync lost the flag
    select trim(contact_id) as contact_id
    from source
    group by trim(contact_id)
    having {{ dbt.bool_or(parse_flag('gdpr_deletion_requested')) }}
),

ranked as (
    select
        source.*,
        row_number() over (
            partition by trim(contact_id)
            order by updated_at desc, created_at desc
        ) as recency_rank
    from source
),

latest as (
    select
        trim(contact_id) as contact_id,
        upper(trim(account_id)) as account_id,
        lower({{ clean_text('first_name') }}) as first_name,
        lower({{ clean_text('last_name') }}) as last_name,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone') }} as phone,
        {{ clean_text('title') }} as title,
        created_at,
        updated_at
    from ranked
    where recency_rank = 1
)

select
    latest.contact_id,
    latest.account_id,
    {{ hash_pii('latest.email') }} as email_hash,
    {{ hash_pii('latest.first_name') }} as first_name_hash,
    {{ hash_pii('latest.last_name') }} as last_name_hash,
    {{ hash_pii('latest.phone') }} as phone_hash,
    {{ dbt.split_part('latest.email', "'@'", 2) }} as email_domain,
    latest.title,
    latest.created_at,
    latest.updated_at
from latest
where latest.contact_id not in (select contact_id from deletion_requests)
