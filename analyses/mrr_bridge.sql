-- The MRR bridge finance presents at month close: opening MRR, each movement, closing MRR.
-- An analysis: compiled (`kiln compile`), never built; paste the SQL into the warehouse.
select
    month_start,
    ending_mrr - net_new_mrr as opening_mrr,
    new_mrr,
    expansion_mrr,
    -contraction_mrr as contraction_mrr,
    -churned_mrr as churned_mrr,
    reactivation_mrr,
    ending_mrr as closing_mrr
from {{ ref('growth') }}
order by month_start
