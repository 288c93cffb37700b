-- Every opportunity with the account it belongs to once duplicates are merged: a deal on a
-- merged duplicate record follows its surviving account. The one place this rule lives;
-- int_opportunities_rolled_up and the scoring assets (pipelines/scoring.py) read it.

with

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

surviving_ids as (
    select * from {{ ref('int_accounts_deduplicated') }}
)

select
    opportunities.* exclude (account_id),
    coalesce(surviving_ids.surviving_account_id, opportunities.account_id) as account_id,
    opportunities.account_id as source_account_id,
from opportunities
left join surviving_ids on surviving_ids.account_id = opportunities.account_id
