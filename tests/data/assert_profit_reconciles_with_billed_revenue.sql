-- Profit must account for every billed cent, month by month: the sum of `profit.revenue` equals
-- the invoice lines billed, and the costs allocated to accounts add up to the company's costs
-- exactly (the allocation hands out the leftover cents). Exact comparisons: money is
-- DECIMAL(18, 2), so there is no rounding noise to tolerate. Returns the months that do not
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
        sum(profit) as profit,
        count(*) as accounts
    from {{ ref('profit') }}
    group by month_start
)

select
    coalesce(billed.month_start, profit_totals.month_start) as month_start,
    billed.billed_revenue,
    profit_totals.profit_revenue,
    profit_totals.allocated_cost,
    profit_totals.company_cost,
    profit_totals.profit
from billed
full outer join profit_totals
    on profit_totals.month_start = billed.month_start
where billed.month_start is null
    or profit_totals.month_start is null
    or billed.billed_revenue <> profit_totals.profit_revenue
    or profit_totals.allocated_cost is distinct from profit_totals.company_cost
    or profit_totals.profit is distinct from profit_totals.profit_revenue - profit_totals.company_cost
