-- One row per experiment and account: the first logged assignment (re-logs are ignored).
with ranked as (
    select
        raw.*,
        row_number() over (
            partition by trim(raw.experiment_id), upper(trim(raw.account_id))
            order by raw.assigned_at
        ) as assignment_rank
    from {{ source('experiments', 'assignments') }} as raw
)

select
    {{ normalize_code('experiment_id') }} as experiment_id,
    upper(trim(account_id)) as account_id,
    {{ normalize_code('variant') }} as variant,
    assigned_at,
    cast(assigned_at as date) as assigned_date
from ranked
where assignment_rank = 1
