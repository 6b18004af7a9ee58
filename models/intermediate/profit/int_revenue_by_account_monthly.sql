-- Billed revenue per account and month, split by what was sold (money as DECIMAL(18, 2)).
select
    account_id,
    billing_month,
    count(distinct invoice_id) as invoices,
    cast(sum(case when line_type = 'seats' then quantity else 0 end) as bigint) as billed_seats,
    {{ to_money("sum(case when line_type = 'seats' then amount else 0 end)") }} as seat_revenue,
    {{ to_money("sum(case when line_type = 'addon' then amount else 0 end)") }} as addon_revenue,
    {{ to_money("sum(case when line_type = 'support' then amount else 0 end)") }} as support_revenue,
    {{ to_money("sum(case when line_type = 'credit' then amount else 0 end)") }} as credits,
    {{ to_money('sum(amount)') }} as total_revenue
from {{ ref('stg_billing__invoice_lines') }}
group by account_id, billing_month
