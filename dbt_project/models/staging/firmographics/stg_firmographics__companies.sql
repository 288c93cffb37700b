with

source as (
    select * from {{ source('raw', 'firmographics_companies') }}
    where {{ current_load_filter('firmographics_companies') }}
),

renamed as (
    select
        {{ normalize_domain('"domain"') }} as domain,
        {{ blank_to_null('"company_name"') }} as company_name,
        cast({{ blank_to_null('"employees"') }} as bigint) as employees,
        cast({{ blank_to_null('"revenue_usd"') }} as double) as revenue_usd,
        cast({{ blank_to_null('"revenue_growth_pct"') }} as double) as revenue_growth_pct,
        {{ blank_to_null('"naics_code"') }} as naics_code,
        cast({{ blank_to_null('"funding_total_usd"') }} as double) as funding_total_usd,
        {{ blank_to_null('"technologies"') }} as technologies,
        _snapshot_date as snapshot_date,
        _source_file as source_file,
        _row_number as source_row_number,
    from source
)

select * from renamed
