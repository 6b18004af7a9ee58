-- The experiment statistics, checked against values computed by hand.
--
-- 1. The confidence-interval macro on a textbook case: 60 of 100 against 50 of 100.
--    diff = 0.6 - 0.5 = 0.1; se = sqrt(0.6 * 0.4 / 100 + 0.5 * 0.5 / 100) = sqrt(0.0049) = 0.07;
--    95% CI = 0.1 -/+ 1.959963985 * 0.07 = 0.1 -/+ 0.137197479 = [-0.037197479, 0.237197479].
--
-- 2. experiment_summary on the committed data (exp_onboarding_checklist, 14-day window):
--    control 1 of 9 units converted, treatment 7 of 13.
--    p_c = 1/9 = 0.111111; p_t = 7/13 = 0.538462; absolute lift = 0.427350;
--    relative lift = 0.427350 / 0.111111 = 3.846154;
--    se = sqrt((7/13)(6/13)/13 + (1/9)(8/9)/9) = sqrt(42/2197 + 8/729) = sqrt(0.030090914)
--       = 0.173467328; z * se = 0.339989683;
--    95% CI = [0.087361, 0.767340]: it excludes 0 (significant), but control has only 1
--    conversion (fewer than 5), so the normal approximation does not hold.
-- Returns the checks that fail.
with textbook as (
    select
        {{ diff_of_proportions_ci('60', '100', '50', '100', 'lower') }} as lower_bound,
        {{ diff_of_proportions_ci('60', '100', '50', '100', 'upper') }} as upper_bound
),

checks as (
    select 'textbook lower bound' as check_name, lower_bound as actual, -0.037197479 as expected, 1e-9 as tolerance
    from textbook
    union all
    select 'textbook upper bound', upper_bound, 0.237197479, 1e-9 from textbook
    {%- set expected = {
        'control': {'units': 9, 'converted_units': 1, 'conversion_rate': 0.111111},
        'treatment': {'units': 13, 'converted_units': 7, 'conversion_rate': 0.538462,
                      'control_conversion_rate': 0.111111, 'absolute_lift': 0.427350,
                      'relative_lift': 3.846154, 'lift_ci_95_lower': 0.087361,
                      'lift_ci_95_upper': 0.767340},
    } %}
    {%- for variant, columns in expected.items() %}
    {%- for column, value in columns.items() %}
    union all
    select
        '{{ variant }} {{ column }}',
        (select cast({{ column }} as double) from {{ ref('experiment_summary') }}
         where experiment_id = 'exp_onboarding_checklist' and variant = '{{ variant }}'),
        {{ value }},
        0.0000005
    {%- endfor %}
    {%- endfor %}
    union all
    select
        'treatment is significant, without the normal approximation holding',
        (select case when is_significant and not normal_approximation_holds then 1 else 0 end
         from {{ ref('experiment_summary') }}
         where experiment_id = 'exp_onboarding_checklist' and variant = 'treatment'),
        1,
        0
)

select check_name, actual, expected
from checks
where actual is null or abs(actual - expected) > tolerance
