{#- Rows of the load that was promoted for this extract (see territory_ops.extracts.ingest):
    raw tables keep every snapshot ever landed; staging shows the current one. -#}
{% macro current_load_filter(extract_name) -%}
    _load_id in (
        select load_id
        from {{ source('raw', 'current_loads') }}
        where extract = '{{ extract_name }}'
    )
{%- endmacro %}
