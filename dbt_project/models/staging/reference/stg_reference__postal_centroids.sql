select
    postal_code,
    city,
    state,
    latitude,
    longitude,
from {{ source('raw', 'postal_centroids') }}
