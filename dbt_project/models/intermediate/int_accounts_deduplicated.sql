-- Every staged account with the account it is a duplicate of (or itself).
-- Exports carry the same company twice with the name in another case or spacing and the
-- website in another form; both must agree for a match, so subsidiaries that share a
-- parent's website but have their own name are never merged.
-- The survivor is the oldest record (then the smallest id): it carries the history.

with

accounts as (
    select
        *,
        {{ normalize_domain('website') }} as domain,
        {{ normalize_name('account_name') }} as name_key,
    from {{ ref('stg_crm__accounts') }}
),

keyed as (
    select
        *,
        coalesce(name_key, account_id) || '|' || coalesce(domain, left(billing_postal_code, 5), '') as dedup_key,
    from accounts
),

ranked as (
    select
        *,
        first_value(account_id) over (
            partition by dedup_key order by created_at nulls last, account_id
        ) as surviving_account_id,
        count(*) over (partition by dedup_key) as records_in_group,
    from keyed
)

select
    *,
    account_id = surviving_account_id as is_survivor,
from ranked
