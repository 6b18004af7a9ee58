-- exec_weekly goes to the board: no metric may be NULL, and none may be infinite or NaN (what a
-- division by zero produces in floating point). Returns the offending weeks and metrics.
{%- set metrics = [
    'month_revenue', 'month_cost', 'month_profit', 'month_profit_margin', 'billed_accounts',
    'subscribers', 'unit_profit_per_subscriber', 'ending_mrr', 'annual_run_rate',
    'month_net_new_mrr', 'month_new_accounts', 'month_churned_accounts', 'active_accounts',
    'weekly_active_users', 'hours_on_platform', 'hours_per_active_user_per_day'
] %}

{% for metric in metrics %}
select
    week_start,
    '{{ metric }}' as metric,
    cast({{ metric }} as double) as metric_value
from {{ ref('exec_weekly') }}
where {{ metric }} is null
    or not {{ is_finite_number('cast(' ~ metric ~ ' as double)') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
