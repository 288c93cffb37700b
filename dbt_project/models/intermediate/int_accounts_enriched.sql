-- One row per surviving account with everything planning needs: location, family,
-- firmographics, intent, opportunity history, segment, required skill and locks.
-- rule_potential (rule_v1) is the revenue core of the documented fallback rule, kept here
-- next to the data as a cross-check of territory_ops/scoring/rules.py (rule_v1_potential; the
-- published fallback completes it from other inputs). Its parameters are the `rule_v1` var,
-- which rules.py reads too (tests assert both agree on the sample; docs/scoring.md).
{%- set rule = var('rule_v1') %}

with

accounts as (
    select * from {{ ref('int_accounts_families_resolved') }}
),

firmographics as (
    select * from {{ ref('stg_firmographics__companies') }}
    qualify row_number() over (partition by domain order by source_row_number) = 1
),

intent as (
    select * from {{ ref('int_intent_signals_summarized') }}
),

opportunities as (
    select * from {{ ref('int_opportunities_rolled_up') }}
),

requirements as (
    select * from {{ ref('industry_requirements') }}
),

joined as (
    select
        accounts.*,
        firmographics.employees as firmographic_employees,
        firmographics.revenue_usd as firmographic_revenue_usd,
        firmographics.revenue_growth_pct,
        firmographics.naics_code,
        firmographics.funding_total_usd,
        firmographics.technologies,
        firmographics.domain is not null as has_firmographics,
        coalesce(intent.intent_score_recent, 0) as intent_score_recent,
        coalesce(intent.intent_score_avg, 0) as intent_score_avg,
        coalesce(intent.surging_topic_count, 0) as surging_topic_count,
        intent.weeks_since_last_surge,
        coalesce(opportunities.open_opportunity_count, 0) as open_opportunity_count,
        coalesce(opportunities.open_pipeline_amount, 0) as open_pipeline_amount,
        coalesce(opportunities.late_stage_opportunity_count, 0) as late_stage_opportunity_count,
        coalesce(opportunities.won_count_3y, 0) as won_count_3y,
        coalesce(opportunities.lost_count_3y, 0) as lost_count_3y,
        coalesce(opportunities.won_amount_3y, 0) as won_amount_3y,
        opportunities.last_won_date,
        coalesce(list_contains(opportunities.late_stage_owner_ids, accounts.owner_id), false)
            as owner_has_late_stage_deal,
        coalesce(list_contains(opportunities.recent_winner_owner_ids, accounts.owner_id), false)
            as owner_won_recently,
        requirements.required_skill,
    from accounts
    left join firmographics on firmographics.domain = accounts.domain
    left join intent on intent.domain = accounts.domain
    left join opportunities on opportunities.account_id = accounts.account_id
    left join requirements on requirements.industry = accounts.industry
),

sized as (
    select
        *,
        coalesce(employees, firmographic_employees) as effective_employees,
        coalesce(firmographic_revenue_usd, annual_revenue) as company_revenue,
    from joined
),

sized_segments as (
    select
        *,
        case
            when effective_employees >= {{ var('enterprise_min_employees') }} then 'enterprise'
            when effective_employees >= {{ var('mid_market_min_employees') }} then 'mid_market'
            else 'smb'
        end as own_segment,
    from sized
),

segmented as (
    select
        *,
        -- A family is covered by one rep, so it takes its ultimate parent's segment: a
        -- 300-person subsidiary of an enterprise is worked by the enterprise team.
        first_value(own_segment) over (
            partition by family_id order by (account_id = family_id) desc, account_id
        ) as segment,
        -- Wallet: 0.2% of company revenue (capped), scaled by growth and recent intent.
        least(coalesce(company_revenue, 0) * {{ rule.wallet_share_of_revenue }}, {{ rule.wallet_cap }})
            * (1 + greatest({{ rule.growth_clamp_pct[0] / 100 }}, least({{ rule.growth_clamp_pct[1] / 100 }}, coalesce(revenue_growth_pct, 0) / 100)))
            * (1 + {{ rule.intent_uplift }} * intent_score_recent / 100) as wallet_estimate,
    from sized_segments
)

select
    *,
    round(
        case
            when won_count_3y > 0
                then {{ 1 - rule.win_blend }} * wallet_estimate
                    + {{ rule.win_blend }} * won_amount_3y / {{ rule.win_years }}
            else wallet_estimate
        end,
        2
    ) as rule_potential,
    case
        when is_manually_locked then 'manual_pin'
        when owner_has_late_stage_deal then 'open_late_stage_opportunity'
        when owner_won_recently then 'tenure_recent_win'
    end as lock_reason,
from segmented
