-- One row per sales rep: the canonical `reps` planning table in its exact column order,
-- then extras. Managers are not reps. A rep on leave or departed is inactive (owns nothing
-- in a new plan); a new hire ramps up over `ramp_months`.

with

users as (
    select * from {{ ref('stg_crm__users') }}
),

centroids as (
    select * from {{ ref('stg_reference__postal_centroids') }}
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
        date_diff('month', cast(users.created_at as date), users.snapshot_date) as tenure_months,
    from users
    left join centroids on centroids.postal_code = left(trim(users.home_postal_code), 5)
    where users.sales_role = 'rep'
),

statused as (
    select
        *,
        case
            when not is_active then 'departed'
            when leave_until > snapshot_date then 'on_leave'
            when tenure_months < {{ var('ramp_months') }} then 'ramping'
            else 'active'
        end as status,
        -- A new hire carries a growing share of a full book: 1/3, 2/3, then all of it.
        least(1.0, (greatest(tenure_months, 0) + 1) / {{ var('ramp_months') }}) as ramp_factor,
        coalesce(
            planned_capacity_hours,
            {{ segment_lookup('default_capacity_hours', "split_part(segments, ';', 1)") }}
        ) as full_capacity_hours,
    from reps
)

select
    user_id as rep_id,
    latitude,
    longitude,
    cast(
        case when status in ('departed', 'on_leave') then 0 else full_capacity_hours * ramp_factor end
        as double
    ) as capacity_hours,
    cast(ramp_factor as double) as target_weight,
    segments,
    coalesce(certifications, '') as skills,
    status in ('active', 'ramping') as active,
    -- extras
    user_name as rep_name,
    email,
    manager_id,
    title,
    status,
    leave_until,
    cast(created_at as date) as start_date,
    tenure_months,
    full_capacity_hours,
    home_postal_code,
    snapshot_date,
from statused
