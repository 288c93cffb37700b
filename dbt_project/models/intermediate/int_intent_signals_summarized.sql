-- Intent per company domain: how strong and how recent the topic surges are.

with

signals as (
    select
        *,
        date_diff('week', week_start_date, snapshot_date) as weeks_ago,
    from {{ ref('stg_intent__signals') }}
    where domain is not null
)

select
    domain,
    max(surge_score) filter (where weeks_ago < {{ var('intent_recent_weeks') }}) as intent_score_recent,
    avg(surge_score) as intent_score_avg,
    count(distinct topic) filter (
        where surge_score >= {{ var('intent_surge_threshold') }}
          and weeks_ago < {{ var('intent_recent_weeks') }}
    ) as surging_topic_count,
    max(week_start_date) filter (where surge_score >= {{ var('intent_surge_threshold') }}) as last_surge_week,
    min(weeks_ago) filter (where surge_score >= {{ var('intent_surge_threshold') }}) as weeks_since_last_surge,
    count(*) as intent_rows,
from signals
group by domain
