{#- Rows of the load that was promoted for this extract (see territory_ops.extracts.ingest):
    raw tables keep every snapshot ever landed; staging shows the current one, without the
    rows the quality gate held back (raw.quarantined_rows, written by the gate before
    promotion; the quarantine models list them with their reason). -#}
{% macro current_load_filter(extract_name) -%}
    _load_id in (
        select load_id
        from {{ source('raw', 'current_loads') }}
        where extract = '{{ extract_name }}'
    )
    and not exists (
        select 1
        from raw.quarantined_rows as held
        where held.load_id = _load_id and held.source_row_number = _row_number
    )
{%- endmacro %}

{#- The rows the quality gate held back from this extract's current load, their id named
    `id_column`, with reason, `detail` (column=value), file and line, the export's file and
    line (mapped exports) and the whole raw row as JSON (`row_values`). The quarantine models
    that call it already run after staging (and so after current_loads): the tables are named
    directly, so the graph keeps one edge per model. -#}
{% macro held_by_gate(extract_name, id_column) -%}
    select
        held.record_id as {{ id_column }},
        held.reason,
        held.column_name || '=' || coalesce(held.value, 'null') as detail,
        held.snapshot_date,
        held.source_file,
        held.source_row_number,
        held.export_file,
        held.export_line,
        held.row_values,
    from raw.quarantined_rows as held
    where held.load_id in (
        select load_id
        from raw.current_loads
        where extract = '{{ extract_name }}'
    )
{%- endmacro %}
