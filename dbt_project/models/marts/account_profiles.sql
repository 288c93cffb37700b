-- One clean profile per account: the canonical `accounts` planning table
-- (docs/canonical-tables.md) in its exact column order, then extras.

-- Potential and workload come from the scoring assets (source `scores`, docs/scoring.md):
-- the validated model, or the documented rule (`rule_potential`) when the model is not
-- published. The factor contributions add up to the potential.

with

accounts as (
    select * from {{ ref('int_accounts_enriched') }}
),

scores as (
    select * from {{ source('scores', 'account_scores') }}
)

select
    accounts.account_id,
    parent_account_id,
    latitude,
    longitude,
    cast(coalesce(scores.potential, accounts.rule_potential) as double) as potential,
    -- no fallback: an account the scoring asset missed fails the not_null contract loudly
    cast(scores.workload_hours as double) as workload_hours,
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
    geo_precision,
    geo_flag,
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
    coalesce(scores.potential_method, 'rule_fallback') as potential_method,
    accounts.snapshot_date,
    -- explanation: the sentence and the factor contributions (they sum to potential)
    coalesce(scores.score_version, 'rule_v1') as score_version,
    scores.potential_explanation,
    cast(scores.contrib_industry_fit as double) as contrib_industry_fit,
    cast(scores.contrib_size as double) as contrib_size,
    cast(scores.contrib_growth as double) as contrib_growth,
    cast(scores.contrib_intent as double) as contrib_intent,
    cast(scores.contrib_engagement as double) as contrib_engagement,
    cast(scores.contrib_track_record as double) as contrib_track_record,
    cast(scores.contrib_base as double) as contrib_base,
    cast(accounts.rule_potential as double) as rule_potential,
from accounts
left join scores on scores.account_id = accounts.account_id
