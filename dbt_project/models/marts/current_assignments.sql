-- Who owns each account today, and whether that owner can still own it.

with

accounts as (
    select account_id, current_rep_id, locked, lock_reason, potential, snapshot_date
    from {{ ref('account_profiles') }}
),

reps as (
    select rep_id, active, status from {{ ref('rep_roster') }}
)

select
    accounts.account_id,
    accounts.current_rep_id as rep_id,
    case
        when accounts.current_rep_id is null then 'unassigned'
        when reps.rep_id is null then 'owner_not_a_rep'
        when not reps.active then 'owner_' || reps.status
        else 'assigned'
    end as assignment_status,
    accounts.locked,
    accounts.lock_reason,
    accounts.potential,
    accounts.snapshot_date,
from accounts
left join reps on reps.rep_id = accounts.current_rep_id
