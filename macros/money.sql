{#-
  Money in the demo warehouse is DECIMAL(18, 2) from the raw files to the board reports:

  - scale 2: amounts are billed, paid and reported in cents, so cents are exact and sums of them
    are exact (a DOUBLE makes 56,480.79 into 56,480.90000000001 after a few sums);
  - precision 18: 16 digits before the point (up to 10^16 USD, far beyond any total here) and
    the widest decimal that fits in a 64-bit integer, which DuckDB stores as an int64 and
    Trino/Athena handle as a "short" decimal (no 128-bit arithmetic);
  - sums are cast back to it (DuckDB and Trino widen sum(decimal(18, 2)) to decimal(38, 2)), so
    every money column of every model has the same type in the catalog.

  Ratios that are not money (margins, rates, retention) stay DOUBLE, from safe_divide.
-#}
{% macro money_type() -%}
decimal(18, 2)
{%- endmacro %}

{#- an expression as money: cast to money_type() (rounds half away from zero to the cent) -#}
{% macro to_money(expression) -%}
cast({{ expression }} as {{ money_type() }})
{%- endmacro %}

{#-
  divide_money(amount, count): money per unit (per account, per subscriber, per lead), as
  money_type(), rounded half away from zero to the cent; NULL when `count` is 0 or NULL. `count`
  is a whole number. Exact: no floating point on the way.
-#}
{% macro divide_money(amount, count) -%}
  {{ return(adapter.dispatch('divide_money')(amount, count)) }}
{%- endmacro %}

{#- Trino (Athena) divides decimals exactly, rounding half up to the result's scale -#}
{% macro default__divide_money(amount, count) -%}
cast(cast({{ amount }} as {{ money_type() }}) / nullif({{ count }}, 0) as {{ money_type() }})
{%- endmacro %}

{#- DuckDB divides decimals in DOUBLE, so divide whole cents instead:
    round(c / n) = sign(c) * ((2 * |c| + n) // (2 * n)) for n > 0 -#}
{% macro duckdb__divide_money(amount, count) -%}
cast(cast(
    sign(cast({{ to_money(amount) }} * 100 as hugeint))
        * ((2 * abs(cast({{ to_money(amount) }} * 100 as hugeint)) + cast(nullif({{ count }}, 0) as hugeint))
            // (2 * cast(nullif({{ count }}, 0) as hugeint)))
    as decimal(18, 0)
) * 0.01 as {{ money_type() }})
{%- endmacro %}

{#-
  allocate_money(total, row_order, partition_by): `total` split evenly over the rows of each
  `partition_by` group, to the cent, so that the shares add up to the total exactly (the largest
  remainder method): every row gets floor(total / n) cents, and the first (total mod n) rows in
  `row_order` get one cent more. For a total that is not negative. A window expression.
-#}
{% macro allocate_money(total, row_order, partition_by) -%}
cast(cast(
    {{ integer_divide('cast(' ~ to_money(total) ~ ' * 100 as bigint)', 'count(*) over (partition by ' ~ partition_by ~ ')') }}
    + case
        when row_number() over (partition by {{ partition_by }} order by {{ row_order }})
            <= cast({{ to_money(total) }} * 100 as bigint) % count(*) over (partition by {{ partition_by }})
            then 1
        else 0
    end
    as decimal(18, 0)
) * 0.01 as {{ money_type() }})
{%- endmacro %}

{#- integer_divide(a, b): a / b for whole numbers, truncated toward zero -#}
{% macro integer_divide(numerator, denominator) -%}
  {{ return(adapter.dispatch('integer_divide')(numerator, denominator)) }}
{%- endmacro %}

{#- Trino divides integers as integers -#}
{% macro default__integer_divide(numerator, denominator) -%}
({{ numerator }}) / ({{ denominator }})
{%- endmacro %}

{#- DuckDB's `/` is floating-point division; `//` divides integers -#}
{% macro duckdb__integer_divide(numerator, denominator) -%}
({{ numerator }}) // ({{ denominator }})
{%- endmacro %}
