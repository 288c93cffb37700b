with

source as (
    select * from {{ source('raw', 'crm_opportunities') }}
    where {{ current_load_filter('crm_opportunities') }}
),

renamed as (
    select
        trim("Id") as opportunity_id,
        {{ blank_to_null('"AccountId"') }} as account_id,
        {{ blank_to_null('"OwnerId"') }} as owner_id,
        {{ blank_to_null('"Name"') }} as opportunity_name,
        {{ blank_to_null('"Type"') }} as opportunity_type,
        {{ blank_to_null('"StageName"') }} as stage_name,
        cast({{ blank_to_null('"Amount"') }} as double) as amount,
        cast({{ blank_to_null('"Probability"') }} as double) as probability,
        cast({{ blank_to_null('"CloseDate"') }} as date) as close_date,
        coalesce({{ to_bool('"IsClosed"') }}, false) as is_closed,
        coalesce({{ to_bool('"IsWon"') }}, false) as is_won,
        cast(rtrim({{ blank_to_null('"CreatedDate"') }}, 'Z') as timestamp) as created_at,
        _snapshot_date as snapshot_date,
        _source_file as source_file,
        _row_number as source_row_number,
    from source
)

select * from renamed
