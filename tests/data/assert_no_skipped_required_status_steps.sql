{{ config(severity='warn') }}
-- Runbook check: no account skips a required subscription lifecycle step (for example a renewal
-- with no subscribe before it, when a status change was forgotten in billing). Warn severity:
-- the build goes on, and the failing rows list the accounts for revenue operations to fix.
select
    account_id,
    subscription_id,
    subscription_event_id,
    event_at,
    event_type,
    status_before,
    missing_step
from {{ ref('int_account_status_history') }}
where is_missing_required_step
