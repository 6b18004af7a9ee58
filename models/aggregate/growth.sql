-- Growth per month of the reporting period: new, expansion, contraction, churned and reactivated
-- MRR and accounts, renewals, the MRR and paying accounts at month end, and acquisition cost.
-- Money is DECIMAL(18, 2); a month its feed does not cover is NULL, not 0 (macros/coverage.sql).
with months as (
    select distinct cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start
    from (
        {{ day_spine("cast('" ~ var('reporting_start_month') ~ "' as date)", "cast('" ~ var('reporting_end_month') ~ "' as date)") }}
    ) as days
),

history as (
    select * from {{ ref('int_account_status_history') }}
),

movements as (
    select
        event_month as month_start,
        count(distinct case when mrr_movement = 'new' then account_id end) as new_accounts,
        {{ to_money("sum(case when mrr_movement = 'new' then mrr_change else 0 end)") }} as new_mrr,
        {{ to_money("sum(case when mrr_movement = 'expansion' then mrr_change else 0 end)") }} as expansion_mrr,
        {{ to_money("-sum(case when mrr_movement = 'contraction' then mrr_change else 0 end)") }} as contraction_mrr,
        count(distinct case when mrr_movement = 'churn' then account_id end) as churned_accounts,
        {{ to_money("-sum(case when mrr_movement = 'churn' then mrr_change else 0 end)") }} as churned_mrr,
        count(distinct case when mrr_movement = 'reactivation' then account_id end) as reactivated_accounts,
        {{ to_money("sum(case when mrr_movement = 'reactivation' then mrr_change else 0 end)") }} as reactivation_mrr,
        cast(sum(case when event_type = 'renew' then 1 else 0 end) as bigint) as renewals
    from history
    group by event_month
),

-- each account's last known state at the end of each month
state_at_month_end as (
    select
        months.month_start,
        history.account_id,
        history.mrr_after,
        row_number() over (
            partition by months.month_start, history.account_id
            order by history.event_sequence desc
        ) as recency_rank
    from months
    inner join history
        on history.event_at < {{ dbt.dateadd('month', 1, 'months.month_start') }}
),

month_end as (
    select
        month_start,
        {{ to_money('sum(mrr_after)') }} as ending_mrr,
        cast(sum(case when mrr_after > 0 then 1 else 0 end) as bigint) as paying_accounts
    from state_at_month_end
    where recency_rank = 1
    group by month_start
),

marketing as (
    select
        activity_month as month_start,
        {{ to_money('sum(spend_usd)') }} as marketing_spend,
        cast(sum(leads) as bigint) as leads,
        cast(sum(attributed_new_accounts) as bigint) as attributed_new_accounts
    from {{ ref('int_campaign_attribution_monthly') }}
    group by activity_month
),

-- the months each feed covers: a month without any billing event (or campaign data) outside
-- them is "no data" (NULL), inside them "nothing happened" (0)
coverage as (
    select
        (select min(event_month) from history) as first_billing_month,
        (select max(event_month) from history) as last_billing_month,
        (select min(month_start) from marketing) as first_marketing_month,
        (select max(month_start) from marketing) as last_marketing_month
),

covered_months as (
    select
        months.month_start,
        months.month_start between coverage.first_billing_month and coverage.last_billing_month
            as has_billing_data,
        months.month_start between coverage.first_marketing_month and coverage.last_marketing_month
            as has_marketing_data
    from months
    cross join coverage
)

select
    months.month_start,
    {{ zero_when_covered('movements.new_accounts', 'months.has_billing_data') }} as new_accounts,
    {{ to_money(zero_when_covered('movements.new_mrr', 'months.has_billing_data')) }} as new_mrr,
    {{ to_money(zero_when_covered('movements.expansion_mrr', 'months.has_billing_data')) }} as expansion_mrr,
    {{ to_money(zero_when_covered('movements.contraction_mrr', 'months.has_billing_data')) }} as contraction_mrr,
    {{ zero_when_covered('movements.churned_accounts', 'months.has_billing_data') }} as churned_accounts,
    {{ to_money(zero_when_covered('movements.churned_mrr', 'months.has_billing_data')) }} as churned_mrr,
    {{ zero_when_covered('movements.reactivated_accounts', 'months.has_billing_data') }} as reactivated_accounts,
    {{ to_money(zero_when_covered('movements.reactivation_mrr', 'months.has_billing_data')) }} as reactivation_mrr,
    {{ zero_when_covered('movements.renewals', 'months.has_billing_data') }} as renewals,
    {{ to_money(zero_when_covered(
        'movements.new_mrr + movements.expansion_mrr - movements.contraction_mrr - movements.churned_mrr + movements.reactivation_mrr',
        'months.has_billing_data'
    )) }} as net_new_mrr,
    {{ to_money(zero_when_covered('month_end.ending_mrr', 'months.has_billing_data')) }} as ending_mrr,
    {{ zero_when_covered('month_end.paying_accounts', 'months.has_billing_data') }} as paying_accounts,
    {{ to_money(zero_when_covered('marketing.marketing_spend', 'months.has_marketing_data')) }} as marketing_spend,
    {{ zero_when_covered('marketing.leads', 'months.has_marketing_data') }} as leads,
    {{ zero_when_covered('marketing.attributed_new_accounts', 'months.has_marketing_data') }} as attributed_new_accounts,
    {{ divide_money('marketing.marketing_spend', 'movements.new_accounts') }} as customer_acquisition_cost
from covered_months as months
left join movements on movements.month_start = months.month_start
left join month_end on month_end.month_start = months.month_start
left join marketing on marketing.month_start = months.month_start
