-- Opportunity history per (surviving) account as of the snapshot: open pipeline, late-stage
-- deals (which lock an account), and three years of wins and losses.

with

opportunities as (
    select
        opps.*,
        coalesce(ids.surviving_account_id, opps.account_id) as surviving_account_id,
    from {{ ref('stg_crm__opportunities') }} as opps
    left join {{ ref('int_accounts_deduplicated') }} as ids
        on ids.account_id = opps.account_id
),

windowed as (
    select
        *,
        close_date > snapshot_date - interval 3 year as closed_in_last_3y,
        stage_name in ('Proposal/Price Quote', 'Negotiation/Review') as is_late_stage,
    from opportunities
)

select
    surviving_account_id as account_id,
    count(*) filter (where not is_closed) as open_opportunity_count,
    coalesce(sum(amount) filter (where not is_closed), 0) as open_pipeline_amount,
    count(*) filter (where not is_closed and is_late_stage) as late_stage_opportunity_count,
    list(distinct owner_id) filter (where not is_closed and is_late_stage) as late_stage_owner_ids,
    count(*) filter (where is_closed and is_won and closed_in_last_3y) as won_count_3y,
    count(*) filter (where is_closed and not is_won and closed_in_last_3y) as lost_count_3y,
    coalesce(sum(amount) filter (where is_won and closed_in_last_3y), 0) as won_amount_3y,
    max(close_date) filter (where is_won) as last_won_date,
    list(distinct owner_id) filter (
        where is_won and close_date > snapshot_date - to_days({{ var('tenure_lock_days') }})
    ) as recent_winner_owner_ids,
from windowed
group by surviving_account_id
