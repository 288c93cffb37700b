{#- A list var as a SQL tuple of string literals: ['a', "b'c"] -> ('a', 'b''c').
    Used where a rule shared with Python lives in a dbt var (dbt_project.yml). -#}
{% macro sql_string_list(values) -%}
    ({%- for value in values -%}
        '{{ value | replace("'", "''") }}'{%- if not loop.last %}, {% endif -%}
    {%- endfor -%})
{%- endmacro %}
