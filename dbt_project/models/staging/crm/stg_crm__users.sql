with

source as (
    select * from {{ source('raw', 'crm_users') }}
    where {{ current_load_filter('crm_users') }}
),

renamed as (
    select
        trim("Id") as user_id,
        {{ blank_to_null('"Name"') }} as user_name,
        {{ blank_to_null('"Email"') }} as email,
        {{ blank_to_null('"ManagerId"') }} as manager_id,
        coalesce({{ to_bool('"IsActive"') }}, false) as is_active,
        {{ blank_to_null('"Title"') }} as title,
        lower({{ blank_to_null('"Sales_Role__c"') }}) as sales_role,
        lower(replace({{ blank_to_null('"Segment__c"') }}, ' ', '')) as segments,
        {{ blank_to_null('"Home_PostalCode__c"') }} as home_postal_code,
        cast({{ blank_to_null('"Home_Latitude__c"') }} as double) as home_latitude,
        cast({{ blank_to_null('"Home_Longitude__c"') }} as double) as home_longitude,
        cast(rtrim({{ blank_to_null('"CreatedDate"') }}, 'Z') as timestamp) as created_at,
        lower(replace({{ blank_to_null('"Certifications__c"') }}, ' ', '')) as certifications,
        cast({{ blank_to_null('"Capacity_Hours__c"') }} as double) as planned_capacity_hours,
        cast({{ blank_to_null('"Leave_Until__c"') }} as date) as leave_until,
        -- set by a source mapping that geocoded the home base offline (docs/mappings.md)
        lower({{ blank_to_null('"Geo_Precision__c"') }}) as mapped_geo_precision,
        {{ blank_to_null('"Slack_User_Id__c"') }} as slack_user_id,
        _snapshot_date as snapshot_date,
        _source_file as source_file,
        _row_number as source_row_number,
    from source
)

select * from renamed
