{#- Use the configured schema as-is (staging, intermediate, marts) instead of dbt's
    <target>_<custom> concatenation: one DuckDB file holds one environment. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
