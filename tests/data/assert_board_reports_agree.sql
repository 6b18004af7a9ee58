-- The board reads revenue and profit in three places: the CFO summary, the investor report and the
-- executive dashboard (exec_monthly). They must agree to the cent, month by month, and profit must
-- be revenue minus cost exactly: money is DECIMAL(18, 2) end to end and the cost allocation adds
-- up to the month's cost. Exact comparisons, no tolerance. Returns the months that disagree.
select
    monthly.month_start,
    monthly.revenue as exec_revenue,
    cfo.revenue as cfo_revenue,
    investor.revenue as investor_revenue,
    monthly.profit as exec_profit,
    cfo.profit as cfo_profit,
    investor.profit as investor_profit,
    monthly.company_cost
from {{ ref('exec_monthly') }} as monthly
full outer join {{ ref('rpt_cfo_summary') }} as cfo
    on cfo.month_start = monthly.month_start
full outer join {{ ref('rpt_investor_monthly') }} as investor
    on investor.month_start = monthly.month_start
where monthly.month_start is null
    or cfo.month_start is null
    or investor.month_start is null
    or cfo.revenue is distinct from monthly.revenue
    or investor.revenue is distinct from monthly.revenue
    or cfo.profit is distinct from monthly.profit
    or investor.profit is distinct from monthly.profit
    or monthly.profit is distinct from monthly.revenue - monthly.company_cost
