-- A table, not a view like the other staging models: the PII hashes are computed once, on the
-- run's connection, which holds the key (macros/hash_pii.sql); a view would hash at query time on
-- a reader's connection, which does not.
{{ config(materialized='table') }}
-- One row per product user (a licensed seat holder): the latest record per user id, PII hashed.
with source as (
    select * from {{ source('product', 'users') }}
),

ranked as (
    select
        source.*,
        row_number() over (
            partition by trim(cast(user_id as {{ dbt.type_string() }}))
            order by cast(updated_at as timestamp) desc
        ) as recency_rank
    from source
)

select
    trim(cast(user_id as {{ dbt.type_string() }})) as user_id,
    upper(trim(cast(account_id as {{ dbt.type_string() }}))) as account_id,
    {{ hash_pii(normalize_email('email')) }} as email_hash,
    {{ hash_pii("lower(" ~ clean_text('full_name') ~ ")") }} as full_name_hash,
    {{ normalize_code('licence_type') }} as licence_type,
    cast(licensed_at as timestamp) as licensed_at,
    cast(deactivated_at as timestamp) as deactivated_at,
    deactivated_at is null as is_active,
    cast(updated_at as timestamp) as updated_at
from ranked
where recency_rank = 1
