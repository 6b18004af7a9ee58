{#-
  Statistics for A/B tests, as SQL expressions over counts.

  diff_of_proportions_ci(successes, units, control_successes, control_units, bound, z=1.959963984540054):
  one bound ('lower' or 'upper') of the confidence interval for the difference of two independent
  proportions, p - p_control, by the normal approximation (the unpooled Wald interval):

      p - p_c  +/-  z * sqrt(p (1 - p) / n  +  p_c (1 - p_c) / n_c)

  with z = 1.959963984540054 (the 97.5th percentile of the standard normal) for a two-sided 95%
  interval. NULL when either group has no units. The approximation needs enough successes and
  failures in each group (at least 5 of each is the usual rule; see
  normal_approximation_holds): with fewer, the interval is too narrow and the experiment team
  reads it as a rough guide only.
-#}
{% macro proportion(successes, units) -%}
(cast({{ successes }} as double) / nullif(cast({{ units }} as double), 0))
{%- endmacro %}

{% macro diff_of_proportions_se(successes, units, control_successes, control_units) -%}
{%- set p = proportion(successes, units) -%}
{%- set p_c = proportion(control_successes, control_units) -%}
sqrt({{ p }} * (1 - {{ p }}) / nullif(cast({{ units }} as double), 0) + {{ p_c }} * (1 - {{ p_c }}) / nullif(cast({{ control_units }} as double), 0))
{%- endmacro %}

{% macro diff_of_proportions_ci(successes, units, control_successes, control_units, bound, z=1.959963984540054) -%}
{%- if bound not in ['lower', 'upper'] -%}
  {{ exceptions.raise_compiler_error("diff_of_proportions_ci: bound must be 'lower' or 'upper', not '" ~ bound ~ "'") }}
{%- endif -%}
({{ proportion(successes, units) }} - {{ proportion(control_successes, control_units) }}
    {{ '-' if bound == 'lower' else '+' }} {{ z }} * {{ diff_of_proportions_se(successes, units, control_successes, control_units) }})
{%- endmacro %}

{#- normal_approximation_holds(successes, units, ...): true when both groups have at least
    `minimum` successes and `minimum` failures, the usual condition for the normal approximation -#}
{% macro normal_approximation_holds(successes, units, control_successes, control_units, minimum=5) -%}
({{ successes }} >= {{ minimum }} and {{ units }} - {{ successes }} >= {{ minimum }}
    and {{ control_successes }} >= {{ minimum }} and {{ control_units }} - {{ control_successes }} >= {{ minimum }})
{%- endmacro %}
