-- Surviving accounts located: billing coordinates when present and plausible, else the
-- centroid of the billing ZIP code (shipped offline), else unknown. geo_precision says how
-- exact the point is: a source mapping's offline geocoder (postal / city / region / country)
-- or, for coordinates from the export itself, exact; geo_flag says whether to trust it.

with

accounts as (
    select * from {{ ref('int_accounts_deduplicated') }}
    where is_survivor
),

centroids as (
    select * from {{ ref('stg_reference__postal_centroids') }}
),

located as (
    select
        accounts.*,
        (
            accounts.billing_latitude between -90 and 90
            and accounts.billing_longitude between -180 and 180
        ) as has_valid_billing_coordinates,
        centroids.latitude as postal_latitude,
        centroids.longitude as postal_longitude,
    from accounts
    left join centroids
        on centroids.postal_code = left(trim(accounts.billing_postal_code), 5)
)

select
    * exclude (
        postal_latitude, postal_longitude, has_valid_billing_coordinates, mapped_geo_precision,
        mapped_geo_flag
    ),
    case when has_valid_billing_coordinates then billing_latitude else postal_latitude end as latitude,
    case when has_valid_billing_coordinates then billing_longitude else postal_longitude end as longitude,
    case
        when has_valid_billing_coordinates then 'billing_address'
        when postal_latitude is not null then 'postal_code_centroid'
        else 'missing'
    end as geocode_source,
    case
        when has_valid_billing_coordinates then coalesce(mapped_geo_precision, 'exact')
        when postal_latitude is not null then 'postal'
        else 'none'
    end as geo_precision,
    -- how far the point may be trusted (doubtful / foreign / unlocated, null = as given): the
    -- planning pass leaves foreign accounts out and holds unlocated ones (config/passes.yaml)
    case
        when has_valid_billing_coordinates then mapped_geo_flag
        when postal_latitude is not null then null
        else 'unlocated'
    end as geo_flag,
from located
