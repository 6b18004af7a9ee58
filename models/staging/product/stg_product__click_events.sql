{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        table_type='iceberg'
    )
}}
{#-
  Product click events from the event queue, one row per event id.

  The queue delivers at least once (the same event id can arrive twice) and clients upload late
  (received_at days after occurred_at). Each incremental run re-reads the events received in the
  last `event_lookback_days` days before the newest received_at already loaded, de-duplicates
  them on event_id (the first copy received wins) and replaces those event ids in the table
  (delete+insert). Events whose first copy was loaded before the window are left as they are, so
  an incremental run gives the same table as a full refresh.

  `table_type='iceberg'` is for Athena, where only Iceberg tables take the delete of
  delete+insert (a Hive table is refused); DuckDB, and dbt-duckdb, ignore it.
-#}
{%- set lookback_days = var('event_lookback_days', 3) %}

with source as (
    select
        trim(cast(event_id as {{ dbt.type_string() }})) as event_id,
        trim(cast(user_id as {{ dbt.type_string() }})) as user_id,
        upper(trim(cast(account_id as {{ dbt.type_string() }}))) as account_id,
        trim(cast(session_id as {{ dbt.type_string() }})) as session_id,
        {{ normalize_code('event_type') }} as event_type,
        {{ normalize_code('feature') }} as feature_name,
        cast(occurred_at as timestamp) as occurred_at,
        cast(received_at as timestamp) as received_at
    from {{ source('product', 'click_events') }}
),

{% if is_incremental() %}
window_start as (
    select
        {{ dbt.dateadd('day', -1 * lookback_days, "coalesce(max(received_at), cast('1970-01-01' as timestamp))") }}
            as received_after
    from {{ this }}
),

{% endif %}
batch as (
    select source.*
    from source
    {% if is_incremental() %}
    where source.received_at >= (select received_after from window_start)
    {% endif %}
),

{% if is_incremental() %}
-- redeliveries of events whose first copy was loaded before the window: those rows stay as they
-- are. Joined from the batch's side, so the lookup is as big as the batch, not as the table.
loaded_before_window as (
    select distinct loaded.event_id
    from {{ this }} as loaded
    inner join batch
        on batch.event_id = loaded.event_id
    where loaded.received_at < (select received_after from window_start)
),

{% endif %}
deduplicated as (
    select
        batch.*,
        row_number() over (
            partition by batch.event_id
            order by batch.received_at, batch.occurred_at
        ) as copy_number
    from batch
    {% if is_incremental() %}
    left join loaded_before_window
        on loaded_before_window.event_id = batch.event_id
    where loaded_before_window.event_id is null
    {% endif %}
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
    {{ dbt.datediff('occurred_at', 'received_at', 'minute') }} as arrival_delay_minutes
from deduplicated
where copy_number = 1
