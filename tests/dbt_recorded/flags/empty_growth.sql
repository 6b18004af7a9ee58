-- Growth per month of the reporting period: new, expansion, contraction, churned and reactivated
-- MRR and accounts, renewals, the MRR and paying accounts at month end, and acquisition cost.
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
        sum(case when mrr_movement = 'new' then mrr_change else 0 end) as new_mrr,
        sum(case when mrr_movement = 'expansion' then mrr_change else 0 end) as expansion_mrr,
        -sum(case when mrr_movement = 'contraction' then mrr_change else 0 end) as contraction_mrr,
        count(distinct case when mrr_movement = 'churn' then account_id end) as churned_accounts,
        -sum(case when mrr_movement = 'churn' then mrr_change else 0 end) as churned_mrr,
        count(distinct case when mrr_movement = 'reactivation' then account_id end) as reactivated_accounts,
        sum(case when mrr_movement = 'reactivation' then mrr_change else 0 end) as reactivation_mrr,
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
        sum(mrr_after) as ending_mrr,
        cast(sum(case when mrr_after > 0 then 1 else 0 end) as bigint) as paying_accounts
    from state_at_month_end
    where recency_rank = 1
    group by month_start
),

marketing as (
    select
        activity_month as month_start,
        sum(spend_usd) as marketing_spend,
        cast(sum(leads) as bigint) as leads,
        cast(sum(attributed_new_accounts) as bigint) as attributed_new_accounts
    from (select * from "demo"."main"."int_campaign_attribution_monthly" where false limit 0)
    group by activity_month
)

select
    months.month_start,
    coalesce(movements.new_accounts, 0) as new_accounts,
    coalesce(movements.new_mrr, 0) as new_mrr,
    coalesce(movements.expansion_mrr, 0) as expansion_mrr,
    coalesce(movements.contraction_mrr, 0) as contraction_mrr,
    coalesce(movements.churned_accounts, 0) as churned_accounts,
    coalesce(movements.churned_mrr, 0) as churned_mrr,
    coalesce(movements.reactivated_accounts, 0) as reactivated_accounts,
    coalesce(movements.reactivation_mrr, 0) as reactivation_mrr,
    coalesce(movements.renewals, 0) as renewals,
    coalesce(movements.new_mrr, 0)
        + coalesce(movements.expansion_mrr, 0)
        - coalesce(movements.contraction_mrr, 0)
        - coalesce(movements.churned_mrr, 0)
        + coalesce(movements.reactivation_mrr, 0) as net_new_mrr,
    coalesce(month_end.ending_mrr, 0) as ending_mrr,
    coalesce(month_end.paying_accounts, 0) as paying_accounts,
    coalesce(marketing.marketing_spend, 0) as marketing_spend,
    coalesce(marketing.leads, 0) as leads,
    coalesce(marketing.attributed_new_accounts, 0) as attributed_new_accounts,
    round(cast(marketing.marketing_spend as double) / nullif(cast(movements.new_accounts as double), 0), 2) as customer_acquisition_cost
from months
left join movements on movements.month_start = months.month_start
left join month_end on month_end.month_start = months.month_start
left join marketing on marketing.month_start = months.month_start