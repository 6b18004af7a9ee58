-- One row per page-view hit, with the visitor's company domain normalised (NULL when unknown).
select
    hit_id,
    trim(visitor_id) as visitor_id,
    case
        when {{ normalize_domain('account_domain') }} in ('unknown', '-', 'n/a') then null
        else {{ normalize_domain('account_domain') }}
    end as account_domain,
    lower({{ clean_text('page_url') }}) as page_path,
    upper({{ clean_text('campaign_code') }}) as campaign_id,
    hit_at,
    cast(hit_at as date) as hit_date
from {{ source('web', 'pageviews') }}
