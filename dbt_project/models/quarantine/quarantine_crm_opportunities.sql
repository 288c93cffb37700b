{{ config(schema='quarantine', alias='crm_opportunities', materialized='table') }}
-- Opportunities of the current snapshot whose account is not in the account export:
-- they cannot count towards any account's pipeline or lock it, so they are held here
-- (with the snapshot and source line they came from) instead of vanishing in a join.
-- Also every opportunity row the quality gate held back (a created date after the snapshot,
-- a negative amount...): staging never saw them; and the opportunities of an account the
-- gate held back (account_quarantined).

with

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

accounts as (
    select account_id from {{ ref('stg_crm__accounts') }}
),

held_accounts as (
    {{ held_by_gate('crm_accounts', 'account_id') }}
),

held as (
    {{ held_by_gate('crm_opportunities', 'opportunity_id') }}
),

held_opportunities as (
    select
        * exclude (row_values),
        nullif(trim(row_values ->> 'AccountId'), '') as account_id,
        nullif(trim(row_values ->> 'OwnerId'), '') as owner_id,
        nullif(trim(row_values ->> 'StageName'), '') as stage_name,
    from held
),

orphans as (
    select
        opportunities.opportunity_id,
        opportunities.account_id,
        opportunities.owner_id,
        opportunities.stage_name,
        opportunities.amount,
        opportunities.is_closed,
        case
            when opportunities.account_id is null then 'missing_account_id'
            when opportunities.account_id in (select account_id from held_accounts)
                then 'account_quarantined'
            else 'unknown_account'
        end as reason,
        opportunities.snapshot_date,
        opportunities.source_file,
        opportunities.source_row_number,
    from opportunities
    left join accounts on accounts.account_id = opportunities.account_id
    where accounts.account_id is null
)

select * from orphans
union all by name
select * from held_opportunities
