-- One row per sales rep: the canonical `reps` planning table in its exact column order,
-- then extras. Managers are not reps. A rep on leave or departed is inactive (owns nothing
-- in a new plan). Capacity, status and ramp-up come from the `rep_capacity` scoring asset
-- (territory_ops.capacity, docs/scoring.md): zero while departed or on leave, a new hire
-- ramps up over `ramp_months`, and each rep's history adjusts a full book's hours.

with

users as (
    select * from {{ ref('stg_crm__users') }}
),

centroids as (
    select * from {{ ref('stg_reference__postal_centroids') }}
),

capacity as (
    select * from {{ source('scores', 'rep_capacity') }}
),

reps as (
    select
        users.*,
        case
            when users.home_latitude between -90 and 90 and users.home_longitude between -180 and 180
                then users.home_latitude
            else centroids.latitude
        end as latitude,
        case
            when users.home_latitude between -90 and 90 and users.home_longitude between -180 and 180
                then users.home_longitude
            else centroids.longitude
        end as longitude,
        case
            when users.home_latitude between -90 and 90 and users.home_longitude between -180 and 180
                then coalesce(users.mapped_geo_precision, 'exact')
            when centroids.latitude is not null then 'postal'
            else 'none'
        end as geo_precision,
        date_diff('month', cast(users.created_at as date), users.snapshot_date) as tenure_months,
    from users
    left join centroids on centroids.postal_code = left(trim(users.home_postal_code), 5)
    where users.sales_role = 'rep'
),

statused as (
    select
        reps.*,
        capacity.status,
        capacity.ramp_factor,
        capacity.full_capacity_hours,
        capacity.capacity_hours,
        capacity.efficiency as capacity_efficiency,
        capacity.available_from,
    from reps
    left join capacity on capacity.rep_id = reps.user_id
)

select
    user_id as rep_id,
    latitude,
    longitude,
    cast(coalesce(capacity_hours, 0) as double) as capacity_hours,
    cast(coalesce(ramp_factor, 1.0) as double) as target_weight,
    segments,
    coalesce(certifications, '') as skills,
    -- statuses that may own accounts: var shared with territory_ops.capacity (active, ramping)
    coalesce(status in {{ sql_string_list(var('available_rep_statuses')) }}, false) as active,
    -- extras
    user_name as rep_name,
    email,
    manager_id,
    title,
    coalesce(status, case when is_active then 'active' else 'departed' end) as status,
    leave_until,
    cast(created_at as date) as start_date,
    tenure_months,
    cast(full_capacity_hours as double) as full_capacity_hours,
    home_postal_code,
    snapshot_date,
    cast(capacity_efficiency as double) as capacity_efficiency,
    available_from,
    geo_precision,
from statused
