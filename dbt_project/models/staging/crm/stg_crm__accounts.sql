with

source as (
    select * from {{ source('raw', 'crm_accounts') }}
    where {{ current_load_filter('crm_accounts') }}
),

renamed as (
    select
        trim("Id") as account_id,
        {{ blank_to_null('"Name"') }} as account_name,
        {{ blank_to_null('"ParentId"') }} as parent_account_id,
        {{ blank_to_null('"Website"') }} as website,
        {{ blank_to_null('"Industry"') }} as industry,
        cast({{ blank_to_null('"NumberOfEmployees"') }} as bigint) as employees,
        cast({{ blank_to_null('"AnnualRevenue"') }} as double) as annual_revenue,
        {{ blank_to_null('"BillingStreet"') }} as billing_street,
        {{ blank_to_null('"BillingCity"') }} as billing_city,
        {{ blank_to_null('"BillingState"') }} as billing_state,
        {{ blank_to_null('"BillingPostalCode"') }} as billing_postal_code,
        {{ blank_to_null('"BillingCountry"') }} as billing_country,
        cast({{ blank_to_null('"BillingLatitude"') }} as double) as billing_latitude,
        cast({{ blank_to_null('"BillingLongitude"') }} as double) as billing_longitude,
        {{ blank_to_null('"OwnerId"') }} as owner_id,
        cast(rtrim({{ blank_to_null('"CreatedDate"') }}, 'Z') as timestamp) as created_at,
        cast({{ blank_to_null('"LastActivityDate"') }} as date) as last_activity_date,
        coalesce({{ to_bool('"Territory_Lock__c"') }}, false) as is_manually_locked,
        -- set by a source mapping that geocoded the row offline (docs/mappings.md)
        lower({{ blank_to_null('"Geo_Precision__c"') }}) as mapped_geo_precision,
        lower({{ blank_to_null('"Geo_Flag__c"') }}) as mapped_geo_flag,
        _snapshot_date as snapshot_date,
        _source_file as source_file,
        _row_number as source_row_number,
    from source
)

select * from renamed
