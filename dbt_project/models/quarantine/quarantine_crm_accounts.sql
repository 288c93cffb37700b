{{ config(schema='quarantine', alias='crm_accounts', materialized='table') }}
-- Duplicate account records (same company by name and website/ZIP) whose records disagree
-- on the owner. dbt still merges them into the oldest record and keeps its owner; every
-- record of such a group is listed here so RevOps can settle the ownership in the CRM.
-- Also every account row the quality gate held back (a created date after the snapshot, a
-- negative number, a coordinate out of range...): staging never saw them.

with

deduplicated as (
    select * from {{ ref('int_accounts_deduplicated') }}
),

groups as (
    select
        *,
        count(distinct owner_id) over (partition by dedup_key) as owner_count,
    from deduplicated
    where records_in_group > 1
),

held as (
    {{ held_by_gate('crm_accounts', 'account_id') }}
),

held_accounts as (
    select
        * exclude (row_values),
        nullif(trim(row_values ->> 'Name'), '') as account_name,
        nullif(trim(row_values ->> 'OwnerId'), '') as owner_id,
    from held
),

duplicates as (
    select
        account_id,
        surviving_account_id,
        is_survivor,
        account_name,
        owner_id,
        records_in_group,
        'duplicate_conflicting_owner' as reason,
        snapshot_date,
        source_file,
        source_row_number,
    from groups
    where owner_count > 1
)

select * from duplicates
union all by name
select * from held_accounts
