-- Profit must account for every billed dollar, month by month: the sum of `profit.revenue` equals
-- the invoice lines billed, and the costs allocated to accounts add up to the company's costs
-- (within a cent per account, the rounding of the allocation). Returns the months that do not
-- reconcile.
with billed as (
    select billing_month as month_start, sum(amount) as billed_revenue
    from {{ ref('stg_billing__invoice_lines') }}
    group by billing_month
),

profit_totals as (
    select
        month_start,
        sum(revenue) as profit_revenue,
        sum(cost_per_account) as allocated_cost,
        max(company_cost) as company_cost,
        count(*) as accounts
    from {{ ref('profit') }}
    group by month_start
)

select
    coalesce(billed.month_start, profit_totals.month_start) as month_start,
    billed.billed_revenue,
    profit_totals.profit_revenue,
    profit_totals.allocated_cost,
    profit_totals.company_cost
from billed
full outer join profit_totals
    on profit_totals.month_start = billed.month_start
where billed.month_start is null
    or profit_totals.month_start is null
    or billed.billed_revenue <> profit_totals.profit_revenue
    or abs(profit_totals.allocated_cost - profit_totals.company_cost) > 0.01 * profit_totals.accounts
