"""Deterministic, realistic sample extracts: a landing folder to build and test everything on.

``generate_sample(out_dir, accounts, reps, months, seed)`` writes ``months`` monthly snapshots
(the month-ends ending at ``as_of``) in the shape of ``territory_ops.extracts.spec``::

    out_dir/<YYYY-MM-DD>/Account.csv User.csv Opportunity.csv intent_signals.csv firmographics.csv
    out_dir/_truth/      (evaluation only; ingest ignores folders starting with "_")

Same arguments and seed give byte-identical files. Everything is vectorized (numpy/polars).

The package is split by concern: ``geography`` (cities, ZIPs), ``companies`` (accounts,
families, duplicates), ``reps`` (reps, managers, their monthly events, initial owners, users),
``org`` (regional directors over the managers),
``activity`` (opportunities, intent, vendor data), ``drift`` (what changes month to month),
``frames`` (one snapshot's files), ``truth`` (``_truth/``) and ``generate`` (the entry point).
Each concern draws from its own random stream (``common._rng(seed, n)``).

What the data looks like
------------------------
* ``accounts`` is the number of Account rows in the last snapshot; each month between snapshots
  adds about 1% new (unassigned) accounts, so earlier snapshots hold fewer. ``reps`` is the
  number of rep users in the first snapshot (managers come extra, ~1 per 8 reps); every later
  month hires one rep more.
* Three levels of management: reps report to first-line managers (a team of one segment,
  neighbours by longitude), and the managers, grouped west to east, to regional directors
  (about one per three managers, 1-4 regions: ``Sales_Role__c`` = manager, title "Regional
  Sales Director, West"); the directors are the tops of the organisation.
* Ids are 18-character Salesforce-style ids (``001`` accounts, ``005`` users, ``006``
  opportunities) with a valid case-checksum suffix, increasing with CreatedDate.
* Segment follows NumberOfEmployees (enterprise >= 1000, mid_market 100-999, smb < 100);
  Healthcare accounts need ``hipaa_certified``, Government accounts ``fedramp_cleared``.
  Every segment has reps holding each certification; a few reps cover two segments
  (``Segment__c`` like ``mid_market;smb``).
* Families (~6% of accounts): a root with 1-6 subsidiaries (``ParentId`` -> parent), a quarter
  of them with a second level. All members of a family share the root's owner; subsidiaries
  may fall in another segment than the root.
* Duplicates (~1.5%): a second Account for the same company, created later, whose Name differs
  by case/whitespace/legal suffix and whose Website has another form (``acme.com``,
  ``www.acme.com``, ``https://www.Acme.com/``...). Half of them have another owner. The
  company's intent and firmographic rows exist once, under the bare domain.
* Missing coordinates (~8%): BillingLatitude/BillingLongitude blank, postal code present.
* Stale owners: about 1% of reps left before the first snapshot and one rep leaves each month;
  their accounts keep OwnerId (``IsActive`` = false) - orphaned accounts.
* Unassigned: ~2% of accounts (the newest) have a blank OwnerId; half of them get an owner by
  the next snapshot.
* ``Territory_Lock__c`` = true for ~1% of assigned accounts (manual pins); opportunities in
  ``spec.LATE_STAGES`` lock more accounts downstream.
* Each month: one rep leaves, one rep is hired (same segment/certifications/manager as the
  leaver, no accounts), one rep goes on leave (``Leave_Until__c`` set while the leave lasts).

The hidden truth
----------------
Every company has a true annual potential (USD)::

    log potential = ln 2500 + 0.55 ln employees + 0.25 (ln revenue/employee vs. industry norm)
                    + ln industry fit + 0.025 (growth% - 5) + 0.30 intent interest + N(0, 0.65)

It drives the number of opportunities (~ potential^0.5, ~5 per account on average), their
Amount (proportional to potential), the win probability (industry fit, intent interest and
being in market when the deal was created), intent (interested companies follow more topics;
companies in market surge, the more so in recent weeks) and firmographic growth. Between
snapshots employees, revenue and potential drift with each company's growth.

``_truth/`` files
-----------------
``account_truth.csv`` - one row per account in the last snapshot:
    account_id, company_domain (bare domain; shared by duplicates), is_duplicate_of (account_id
    of the original or blank), family_root_id (blank if not in a family; the root has its own
    id), family_depth (0 root, 1, 2 or blank), true_potential (USD/yr at as-of; a duplicate
    carries its company's potential - evaluate on rows with a blank is_duplicate_of),
    true_employees, true_revenue_usd, true_growth_pct, true_segment, industry, industry_fit,
    intent_interest (latent, N(0,1)), in_market (true/false at as-of), potential_noise (the
    lognormal factor no feature can explain), first_snapshot (date the account first appears),
    owner_status (active | departed | on_leave | unassigned, at as-of).
``potential_history.csv`` - snapshot_date, account_id, true_potential for every snapshot.
``rep_events.csv`` - rep_id, event (left | hired | leave), date, leave_until (leave only),
    replaces_rep_id (hired only). Departures before the first snapshot are included.
``generation.json`` - the arguments, snapshot dates and row counts.
"""

from territory_ops.extracts.sample.common import (
    ProgressCallback,
    default_as_of,
    month_end_before,
    salesforce_ids,
    snapshot_dates,
)
from territory_ops.extracts.sample.generate import SampleSummary, generate_sample

__all__ = [
    "ProgressCallback",
    "SampleSummary",
    "default_as_of",
    "generate_sample",
    "month_end_before",
    "salesforce_ids",
    "snapshot_dates",
]
