-- Growth per month of the reporting period: new, expansion, contraction, churned and reactivated
-- MRR and accounts, renewals, the MRR and paying accounts at month end, and acquisition cost.
-- Money is DECIMAL(18, 2); a month its feed does not cover is NULL, not 0 (macros/coverage.sql).
with months as (
    select distinct cast(date_trunc('month', date_day) as date) as month_start
    from (
        select cast(spine.generated_day as date) as date_day
from generate_series(
    cast(cast('2024-01-01' as date) as timestamp),
    cast(cast('2024-06-01' as date) as timestamp),
    interval '1 day'
) as spine(generated_day)
    ) as days
),

history as (
    select * from (select * from "demo"."main"."int_account_status_history" where false limit 0)
),

movements as (
    select
        event_month as month_start,
        count(distinct case when mrr_movement = 'new' then account_id end) as new_accounts,
        cast(sum(case when mrr_movement = 'new' then mrr_change else 0 end) as decimal(18, 2)) as new_mrr,
        cast(sum(case when mrr_movement = 'expansion' then mrr_change else 0 end) as decimal(18, 2)) as expansion_mrr,
        cast(-sum(case when mrr_movement = 'contraction' then mrr_change else 0 end) as decimal(18, 2)) as contraction_mrr,
        count(distinct case when mrr_movement = 'churn' then account_id end) as churned_accounts,
        cast(-sum(case when mrr_movement = 'churn' then mrr_change else 0 end) as decimal(18, 2)) as churned_mrr,
        count(distinct case when mrr_movement = 'reactivation' then account_id end) as reactivated_accounts,
        cast(sum(case when mrr_movement = 'reactivation' then mrr_change else 0 end) as decimal(18, 2)) as reactivation_mrr,
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
        on history.event_at < 

    (months.month_start + cast(1 as bigint) * interval 1 month)
),

month_end as (
    select
        month_start,
        cast(sum(mrr_after) as decimal(18, 2)) as ending_mrr,
        cast(sum(case when mrr_after > 0 then 1 else 0 end) as bigint) as paying_accounts
    from state_at_month_end
    where recency_rank = 1
    group by month_start
),

marketing as (
    select
        activity_month as month_start,
        cast(sum(spend_usd) as decimal(18, 2)) as marketing_spend,
        cast(sum(leads) as bigint) as leads,
        cast(sum(attributed_new_accounts) as bigint) as attributed_new_accounts
    from (select * from "demo"."main"."int_campaign_attribution_monthly" where false limit 0)
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
    case when months.has_billing_data then coalesce(movements.new_accounts, 0) end as new_accounts,
    cast(case when months.has_billing_data then coalesce(movements.new_mrr, 0) end as decimal(18, 2)) as new_mrr,
    cast(case when months.has_billing_data then coalesce(movements.expansion_mrr, 0) end as decimal(18, 2)) as expansion_mrr,
    cast(case when months.has_billing_data then coalesce(movements.contraction_mrr, 0) end as decimal(18, 2)) as contraction_mrr,
    case when months.has_billing_data then coalesce(movements.churned_accounts, 0) end as churned_accounts,
    cast(case when months.has_billing_data then coalesce(movements.churned_mrr, 0) end as decimal(18, 2)) as churned_mrr,
    case when months.has_billing_data then coalesce(movements.reactivated_accounts, 0) end as reactivated_accounts,
    cast(case when months.has_billing_data then coalesce(movements.reactivation_mrr, 0) end as decimal(18, 2)) as reactivation_mrr,
    case when months.has_billing_data then coalesce(movements.renewals, 0) end as renewals,
    cast(case when months.has_billing_data then coalesce(movements.new_mrr + movements.expansion_mrr - movements.contraction_mrr - movements.churned_mrr + movements.reactivation_mrr, 0) end as decimal(18, 2)) as net_new_mrr,
    cast(case when months.has_billing_data then coalesce(month_end.ending_mrr, 0) end as decimal(18, 2)) as ending_mrr,
    case when months.has_billing_data then coalesce(month_end.paying_accounts, 0) end as paying_accounts,
    cast(case when months.has_marketing_data then coalesce(marketing.marketing_spend, 0) end as decimal(18, 2)) as marketing_spend,
    case when months.has_marketing_data then coalesce(marketing.leads, 0) end as leads,
    case when months.has_marketing_data then coalesce(marketing.attributed_new_accounts, 0) end as attributed_new_accounts,
    cast(cast(
    sign(cast(cast(marketing.marketing_spend as decimal(18, 2)) * 100 as hugeint))
        * ((2 * abs(cast(cast(marketing.marketing_spend as decimal(18, 2)) * 100 as hugeint)) + cast(nullif(movements.new_accounts, 0) as hugeint))
            // (2 * cast(nullif(movements.new_accounts, 0) as hugeint)))
    as decimal(18, 0)
) * 0.01 as decimal(18, 2)) as customer_acquisition_cost
from covered_months as months
left join movements on movements.month_start = months.month_start
left join month_end on month_end.month_start = months.month_start
left join marketing on marketing.month_start = months.month_start