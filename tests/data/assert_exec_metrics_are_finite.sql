-- exec_weekly and exec_monthly go to the board: no figure may be infinite or NaN (what a division
-- by zero produces in floating point). NULL is "no data" and is checked by
-- assert_no_data_is_null_not_zero. Returns the offending periods and metrics.
{%- set metrics = {
    'exec_weekly': ['active_accounts', 'weekly_active_users', 'active_user_days', 'hours_on_platform',
                    'hours_per_active_user_per_day'],
    'exec_monthly': ['revenue', 'seat_revenue', 'other_revenue', 'company_cost', 'profit',
                     'profit_margin', 'billed_accounts', 'subscribers', 'cost_per_account',
                     'unit_profit_per_subscriber', 'ending_mrr', 'annual_run_rate', 'net_new_mrr',
                     'new_accounts', 'churned_accounts', 'paying_accounts'],
} %}
{%- set period = {'exec_weekly': 'week_start', 'exec_monthly': 'month_start'} %}

{% for model, columns in metrics.items() %}
{% for metric in columns %}
select
    '{{ model }}' as model,
    {{ period[model] }} as period_start,
    '{{ metric }}' as metric,
    cast({{ metric }} as double) as metric_value
from {{ ref(model) }}
where not {{ is_finite_number('cast(' ~ metric ~ ' as double)') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% if not loop.last %}union all{% endif %}
{% endfor %}
