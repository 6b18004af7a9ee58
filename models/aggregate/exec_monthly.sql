-- The executive and board figures per month of the reporting period: revenue, cost and profit,
-- unit economics, MRR and accounts. The one place the board reports (rpt_cfo_summary,
-- rpt_investor_monthly) and the executive dashboard take these figures from, so they agree to the
-- cent. Money is DECIMAL(18, 2); a month the billing export does not cover is NULL, not 0.
with profit_monthly as (
    select
        month_start,
        {{ to_money('sum(revenue)') }} as revenue,
        {{ to_money('sum(seat_revenue)') }} as seat_revenue,
        {{ to_money('sum(other_revenue)') }} as other_revenue,
        -- the same on every account's row of the month
        max(company_cost) as company_cost,
        -- the allocated costs add up to company_cost exactly, so this is revenue - company_cost
        {{ to_money('sum(profit)') }} as profit,
        count(*) as billed_accounts,
        cast(sum(subscribers) as bigint) as subscribers
    from {{ ref('profit') }}
    group by month_start
),

coverage as (
    select min(month_start) as first_month, max(month_start) as last_month
    from profit_monthly
),

months as (
    select
        growth.*,
        growth.month_start between coverage.first_month and coverage.last_month as has_billing_data
    from {{ ref('growth') }} as growth
    cross join coverage
)

select
    months.month_start,
    {{ to_money(zero_when_covered('profit_monthly.revenue', 'months.has_billing_data')) }} as revenue,
    {{ to_money(zero_when_covered('profit_monthly.seat_revenue', 'months.has_billing_data')) }} as seat_revenue,
    {{ to_money(zero_when_covered('profit_monthly.other_revenue', 'months.has_billing_data')) }} as other_revenue,
    profit_monthly.company_cost,
    profit_monthly.profit,
    round({{ safe_divide('profit_monthly.profit', 'profit_monthly.revenue') }}, 4) as profit_margin,
    {{ zero_when_covered('profit_monthly.billed_accounts', 'months.has_billing_data') }} as billed_accounts,
    {{ zero_when_covered('profit_monthly.subscribers', 'months.has_billing_data') }} as subscribers,
    {{ divide_money('profit_monthly.company_cost', 'profit_monthly.billed_accounts') }} as cost_per_account,
    {{ divide_money('profit_monthly.profit', 'profit_monthly.subscribers') }} as unit_profit_per_subscriber,
    months.ending_mrr,
    {{ to_money('months.ending_mrr * 12') }} as annual_run_rate,
    months.net_new_mrr,
    months.new_accounts,
    months.churned_accounts,
    months.paying_accounts
from months
left join profit_monthly on profit_monthly.month_start = months.month_start
