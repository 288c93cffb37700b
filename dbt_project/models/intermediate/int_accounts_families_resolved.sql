-- Account hierarchy resolved to its ultimate parent: all accounts under one ultimate parent
-- form a family, which the optimizer never splits. Parents that were duplicates point to
-- their survivor; a parent id that names no account is kept visible but not followed.

with recursive

accounts as (
    select * from {{ ref('int_accounts_geocoded') }}
),

id_map as (
    select account_id, surviving_account_id from {{ ref('int_accounts_deduplicated') }}
),

parents as (
    select
        accounts.account_id,
        accounts.parent_account_id as source_parent_account_id,
        case
            when mapped.surviving_account_id = accounts.account_id then null
            else mapped.surviving_account_id
        end as parent_account_id,
        accounts.parent_account_id is not null and mapped.surviving_account_id is null
            as has_unknown_parent,
    from accounts
    left join id_map as mapped
        on mapped.account_id = accounts.parent_account_id
),

-- Walk up at most 20 levels; the depth cap also ends a cycle in bad hierarchy data.
ancestry(account_id, ancestor_id, depth) as (
    select account_id, account_id, 0 from parents
    union all
    select ancestry.account_id, parents.parent_account_id, ancestry.depth + 1
    from ancestry
    join parents on parents.account_id = ancestry.ancestor_id
    where parents.parent_account_id is not null and ancestry.depth < 20
),

ultimate as (
    select account_id, arg_max(ancestor_id, depth) as family_id, max(depth) as hierarchy_depth
    from ancestry
    group by account_id
)

select
    accounts.* exclude (parent_account_id),
    parents.parent_account_id,
    parents.source_parent_account_id,
    parents.has_unknown_parent,
    ultimate.family_id,
    ultimate.hierarchy_depth,
    count(*) over (partition by ultimate.family_id) as family_size,
from accounts
join parents using (account_id)
join ultimate using (account_id)
