-- One row per CRM user in the sales organisation: account executives, overlay reps and
-- managers at every level, with the manager each reports to. Levels, teams and roll-ups are
-- computed from it in Python (territory_ops.org.OrgChart), where a broken chain is reported by
-- name rather than recursed into.

with

users as (
    select * from {{ ref('stg_crm__users') }}
)

select
    user_id,
    user_name,
    email,
    manager_id,
    sales_role,
    is_active,
    title,
    slack_user_id,
    segments,
    snapshot_date,
from users
