-- One row per invoice line: the billed revenue (seats, add-ons, support, credits).
select
    trim(invoice_line_id) as invoice_line_id,
    trim(invoice_id) as invoice_id,
    upper(trim(account_id)) as account_id,
    {{ clean_text('subscription_id') }} as subscription_id,
    billing_period_start as billing_month,
    issued_at,
    {{ normalize_code('line_type') }} as line_type,
    {{ clean_text('description') }} as line_description,
    quantity,
    unit_amount,
    amount,
    upper({{ clean_text('currency') }}) as currency
from {{ source('billing', 'invoice_lines') }}
