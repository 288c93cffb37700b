-- One row per overlay rep (Sales_Role__c se, csm or specialist): the reps who cover whole
-- account-executive territories (pods) in the second planning layer (territory_ops/optimize/
-- overlay.py, docs/overlays.md). They own no accounts, so they are not in marts.rep_roster.
-- Capacity is the CRM's planned hours, else var('overlay_default_capacity_hours'); a rep who
-- left or is on leave is inactive (covers no pod in a new plan).

with

users as (
    select * from {{ ref('stg_crm__users') }}
),

centroids as (
    select * from {{ ref('stg_reference__postal_centroids') }}
),

overlays as (
    select
        users.*,
        users.home_latitude between -90 and 90
            and users.home_longitude between -180 and 180 as has_home,
        centroids.latitude as postal_latitude,
        centroids.longitude as postal_longitude,
    from users
    left join centroids on centroids.postal_code = left(trim(users.home_postal_code), 5)
    where users.sales_role in {{ sql_string_list(var('overlay_roles')) }}
)

select
    user_id as rep_id,
    sales_role as role,
    case when has_home then home_latitude else postal_latitude end as latitude,
    case when has_home then home_longitude else postal_longitude end as longitude,
    cast(coalesce(planned_capacity_hours, {{ var('overlay_default_capacity_hours') }}) as double)
        as capacity_hours,
    coalesce(certifications, '') as skills,
    manager_id,
    coalesce(is_active and (leave_until is null or leave_until <= snapshot_date), false) as active,
    user_name as rep_name,
    email,
    title,
    segments,
    leave_until,
    slack_user_id,
    snapshot_date,
from overlays
