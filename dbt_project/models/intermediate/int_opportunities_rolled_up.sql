-- Opportunity history per (surviving) account as of the snapshot: open pipeline, late-stage
-- deals (which lock an account), and three years of wins and losses.

with

opportunities as (
    select * from {{ ref('int_opportunities_reassigned') }}
),

windowed as (
    select
        *,
        close_date > snapshot_date - interval 3 year as closed_in_last_3y,
        stage_name in {{ sql_string_list(var('late_stages')) }} as is_late_stage,
    from opportunities
)

select
    account_id,
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
group by account_id
