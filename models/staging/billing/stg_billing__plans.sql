-- One row per billing plan, with its position in the upgrade path.
select
    {{ normalize_code('plan_code') }} as plan_code,
    {{ clean_text('plan_name') }} as plan_name,
    tier_rank,
    list_price_per_seat
from {{ ref('billing_plans') }}
