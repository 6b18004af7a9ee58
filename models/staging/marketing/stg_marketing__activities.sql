-- One row per marketing-automation activity, types lower-cased.
select
    activity_id,
    lead_id,
    {{ normalize_code('activity_type') }} as activity_type,
    upper({{ clean_text('campaign_id') }}) as campaign_id,
    activity_at
from {{ source('marketing', 'activities') }}
