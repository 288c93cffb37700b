with

source as (
    select * from {{ source('raw', 'intent_signals') }}
    where {{ current_load_filter('intent_signals') }}
),

renamed as (
    select
        {{ normalize_domain('"domain"') }} as domain,
        lower(trim("topic")) as topic,
        cast({{ blank_to_null('"surge_score"') }} as double) as surge_score,
        cast({{ blank_to_null('"week"') }} as date) as week_start_date,
        _snapshot_date as snapshot_date,
        _source_file as source_file,
        _row_number as source_row_number,
    from source
)

select * from renamed
