

with source as (
    select
        trim(cast(event_id as TEXT)) as event_id,
        trim(cast(user_id as TEXT)) as user_id,
        upper(trim(cast(account_id as TEXT))) as account_id,
        trim(cast(session_id as TEXT)) as session_id,
        lower(nullif(trim(cast(event_type as TEXT)), '')) as event_type,
        lower(nullif(trim(cast(feature as TEXT)), '')) as feature_name,
        cast(occurred_at as timestamp) as occurred_at,
        cast(received_at as timestamp) as received_at
    from (select * from 'data/product/click_events/*.csv' where false limit 0)
),


batch as (
    select source.*
    from source
    
),


deduplicated as (
    select
        batch.*,
        row_number() over (
            partition by batch.event_id
            order by batch.received_at, batch.occurred_at
        ) as copy_number
    from batch
    
)

select
    event_id,
    user_id,
    account_id,
    session_id,
    event_type,
    feature_name,
    occurred_at,
    received_at,
    cast(occurred_at as date) as event_date,
    
        (date_diff('minute', occurred_at::timestamp, received_at::timestamp ))
     as arrival_delay_minutes
from deduplicated
where copy_number = 1