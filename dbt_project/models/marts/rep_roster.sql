-- One row per sales rep: the canonical `reps` planning table in its exact column order,
-- then extras. Managers are not reps, nor are overlay reps (marts.overlay_roster); a user of
-- an unknown role is one only when var('unknown_role_as_account_executive') says so. A rep on
-- leave or departed is inactive (owns nothing in a new plan). Capacity, status and ramp-up come from the `rep_capacity` scoring asset
-- (territory_ops.capacity, docs/scoring.md): zero while departed or on leave, a new hire
-- ramps up over `ramp_months`, and each rep's history adjusts a full book's hours.
-- target_weight is the rep's ramp factor times its segments' potential per rep (normalised so
-- the largest is 1): an SMB rep's target is an SMB share of potential, not the team average,
-- which no SMB book could reach (docs/canonical-tables.md, docs/planning.md).

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

accounts as (
    select segment, potential from {{ ref('account_profiles') }}
),

-- managers are CRM users too: their name, e-mail and Slack id address the team's digest
managers as (
    select
        user_id as manager_id,
        user_name as manager_name,
        email as manager_email,
        slack_user_id as manager_slack_user_id,
    from users
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
    where {{ is_account_executive('users.sales_role') }}
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
),

rep_segments as (
    select
        user_id,
        unnest(string_split(segments, ';')) as segment,
        coalesce(ramp_factor, 1.0) / len(string_split(segments, ';')) as weight_share,
        coalesce(status in {{ sql_string_list(var('available_rep_statuses')) }}, false)
            as is_available,
    from statused
),

segment_potential as (
    -- summed as decimals: a parallel float sum differs in its last bits from run to run, and
    -- a re-run on the same files must rebuild the same roster
    select segment, cast(sum(cast(potential as decimal(38, 6))) as double) as potential,
    from accounts group by segment
),

-- potential per unit of target weight, per segment (a multi-segment rep counts in each share)
segment_rates as (
    select
        rep_segments.segment,
        coalesce(max(segment_potential.potential), 0) / sum(rep_segments.weight_share) as rate,
    from rep_segments
    left join segment_potential on segment_potential.segment = rep_segments.segment
    where rep_segments.is_available
    group by rep_segments.segment
),

rep_rates as (
    select rep_segments.user_id, avg(segment_rates.rate) as rate,
    from rep_segments
    left join segment_rates on segment_rates.segment = rep_segments.segment
    group by rep_segments.user_id
),

weighted as (
    select
        statused.*,
        -- floor: the optimizer needs a positive weight even for a segment without potential
        greatest(
            coalesce(rep_rates.rate / nullif(max(rep_rates.rate) over (), 0), 1.0), 0.001
        ) as segment_factor,
    from statused
    left join rep_rates on rep_rates.user_id = statused.user_id
),

with_managers as (
    select
        weighted.*,
        managers.manager_name,
        managers.manager_email,
        managers.manager_slack_user_id,
    from weighted
    left join managers on managers.manager_id = weighted.manager_id
)

select
    user_id as rep_id,
    latitude,
    longitude,
    cast(coalesce(capacity_hours, 0) as double) as capacity_hours,
    round(cast(coalesce(ramp_factor, 1.0) * segment_factor as double), 9) as target_weight,
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
    slack_user_id,
    manager_name,
    manager_email,
    manager_slack_user_id,
from with_managers
