-- One row per CRM account: the latest record per account id, names and domains cleaned,
-- countries normalised to ISO codes.
with source as (
    select * from (select * from read_csv('data/crm/accounts.csv', header = true, columns = {'account_id': 'varchar', 'account_name': 'varchar', 'website_domain': 'varchar', 'billing_country': 'varchar', 'industry': 'varchar', 'employee_count': 'integer', 'account_type': 'varchar', 'created_at': 'timestamp', 'updated_at': 'timestamp'}) where false limit 0)
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
    select * from (select * from "demo"."main_raw"."country_aliases" where false limit 0)
)

select
    upper(trim(ranked.account_id)) as account_id,
    nullif(trim(cast(ranked.account_name as TEXT)), '') as account_name,
    nullif(
    regexp_replace(
        regexp_replace(lower(nullif(trim(cast(ranked.website_domain as TEXT)), '')), '^(https?://)?(www\.)?', ''),
        '/.*$', ''
    ),
    ''
) as account_domain,
    countries.country_code,
    countries.country_name,
    nullif(trim(cast(ranked.industry as TEXT)), '') as industry,
    ranked.employee_count,
    lower(nullif(trim(cast(ranked.account_type as TEXT)), '')) as account_type,
    ranked.created_at,
    ranked.updated_at
from ranked
left join countries
    on countries.alias = lower(trim(ranked.billing_country))
where ranked.recency_rank = 1