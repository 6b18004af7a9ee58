-- One row per non-payroll expense, categories normalised.
select
    trim(expense_id) as expense_id,
    expense_date,
    cast({{ dbt.date_trunc('month', 'expense_date') }} as date) as expense_month,
    {{ normalize_code('category') }} as expense_category,
    {{ clean_text('vendor') }} as vendor,
    {{ clean_text('description') }} as expense_description,
    amount,
    upper({{ clean_text('currency') }}) as currency
from {{ source('finance', 'expenses') }}
