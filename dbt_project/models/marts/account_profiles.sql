-- One clean profile per account: the canonical `accounts` planning table
-- (shared/contracts/canonical-tables.md) in its exact column order, then extras.

with

accounts as (
    select * from {{ ref('int_accounts_enriched') }}
)

select
    account_id,
    parent_account_id,
    latitude,
    longitude,
    cast(rule_potential as double) as potential,
    cast(workload_hours as double) as workload_hours,
    segment,
    industry,
    required_skill,
    owner_id as current_rep_id,
    lock_reason is not null as locked,
    -- extras (readers ignore what they don't know)
    account_name,
    family_id,
    family_size,
    domain,
    lock_reason,
    geocode_source,
    billing_city,
    billing_state,
    billing_postal_code,
    effective_employees as employees,
    company_revenue,
    revenue_growth_pct,
    intent_score_recent,
    surging_topic_count,
    open_opportunity_count,
    open_pipeline_amount,
    late_stage_opportunity_count,
    won_count_3y,
    won_amount_3y,
    records_in_group - 1 as merged_duplicate_count,
    has_unknown_parent,
    'rule_v1' as potential_method,
    snapshot_date,
from accounts
