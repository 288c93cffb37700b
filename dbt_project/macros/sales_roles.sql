-- Which roster users are account executives (own accounts, marts.rep_roster): role `rep`, and
-- a user whose role is not one of var('sales_roles') only when
-- var('unknown_role_as_account_executive') says so. territory_ops.capacity applies the same rule.
{% macro is_account_executive(role) -%}
    ({{ role }} = 'rep'
    {%- if var('unknown_role_as_account_executive') %}
        or {{ role }} is null or {{ role }} not in {{ sql_string_list(var('sales_roles')) }}
    {%- endif %})
{%- endmacro %}
