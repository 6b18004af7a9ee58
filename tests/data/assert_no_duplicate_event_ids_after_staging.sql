-- The event queue delivers at least once; after staging every event id must appear exactly once,
-- whether the table was built in full or incrementally.
select
    event_id,
    count(*) as copies
from {{ ref('stg_product__click_events') }}
group by event_id
having count(*) > 1
