{#- Company domain from a website in any export form: 'https://www.Acme.com/about' -> 'acme.com' -#}
{% macro normalize_domain(expr) -%}
    nullif(
        regexp_replace(
            regexp_replace(lower(trim({{ expr }})), '^(https?://)?(www\.)?', ''),
            '[/?#:].*$', ''
        ),
        ''
    )
{%- endmacro %}

{#- Company name for duplicate matching: case and whitespace insensitive. -#}
{% macro normalize_name(expr) -%}
    nullif(regexp_replace(lower(trim({{ expr }})), '\s+', ' ', 'g'), '')
{%- endmacro %}

{#- Text 'true'/'false' (any case, or 1/0) to boolean; anything else is null. -#}
{% macro to_bool(expr) -%}
    case lower(trim({{ expr }}))
        when 'true' then true when '1' then true when 'yes' then true
        when 'false' then false when '0' then false when 'no' then false
    end
{%- endmacro %}

{#- Empty strings in exports mean "no value". -#}
{% macro blank_to_null(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}
