-- The per-variant summary of each A/B test: units, conversions and conversion rate, and for each
-- treatment variant its lift over control with a 95% confidence interval for the difference in
-- conversion rates (normal approximation, unpooled Wald interval: macros/statistics.sql). Only
-- units whose conversion window the product data fully covers count; the others are `pending`.
with units as (
    select * from {{ ref('int_experiment_units') }}
),

variants as (
    select
        experiment_id,
        variant,
        bool_and(is_control) as is_control,
        count(case when is_window_complete then 1 end) as units,
        count(case when is_window_complete and is_converted then 1 end) as converted_units,
        count(case when not is_window_complete then 1 end) as pending_units
    from units
    group by experiment_id, variant
),

compared as (
    select
        variants.*,
        control.units as control_units,
        control.converted_units as control_converted_units
    from variants
    left join variants as control
        on control.experiment_id = variants.experiment_id
        and control.is_control
)

select
    experiment_id,
    variant,
    is_control,
    units,
    converted_units,
    pending_units,
    round({{ proportion('converted_units', 'units') }}, 6) as conversion_rate,
    round({{ proportion('control_converted_units', 'control_units') }}, 6) as control_conversion_rate,
    case when not is_control then
        round({{ proportion('converted_units', 'units') }} - {{ proportion('control_converted_units', 'control_units') }}, 6)
    end as absolute_lift,
    case when not is_control then
        round({{ safe_divide(
            proportion('converted_units', 'units') ~ ' - ' ~ proportion('control_converted_units', 'control_units'),
            proportion('control_converted_units', 'control_units')
        ) }}, 6)
    end as relative_lift,
    case when not is_control then
        round({{ diff_of_proportions_ci('converted_units', 'units', 'control_converted_units', 'control_units', 'lower') }}, 6)
    end as lift_ci_95_lower,
    case when not is_control then
        round({{ diff_of_proportions_ci('converted_units', 'units', 'control_converted_units', 'control_units', 'upper') }}, 6)
    end as lift_ci_95_upper,
    case when not is_control then
        {{ diff_of_proportions_ci('converted_units', 'units', 'control_converted_units', 'control_units', 'lower') }} > 0
        or {{ diff_of_proportions_ci('converted_units', 'units', 'control_converted_units', 'control_units', 'upper') }} < 0
    end as is_significant,
    case when not is_control then
        {{ normal_approximation_holds('converted_units', 'units', 'control_converted_units', 'control_units') }}
    end as normal_approximation_holds
from compared
