"""One planning pass: the optimizer run for a pass kind, covers for leave, hand-backs.

* ``full``: the optimizer's full mode (band, travel, disruption), every account may move;
* ``micro``: every orphaned and new account is placed, at most ``move_budget`` other moves;
* ``refresh``: micro with a move budget of 0 (orphaned and new accounts only).

Leave is temporary: an account whose owner is on leave (roster status ``on_leave`` with a
``leave_until``) is covered with ``is_temporary`` and the return date. When the published plan
holds such a cover and the rep is active again, the pass hands the account back
(``return: R0012 is back from leave``) without spending the move budget.

A family merged in the CRM (an acquisition re-parents accounts under one ultimate parent) may
carry locks to different reps. A family has one owner and a locked account keeps its owner, so
no plan keeps both; rather than stop, the pass picks the family's owner by one rule
(:func:`merged_family_locks`) and moves the other locked accounts to it as forced moves whose
reason says "family merged".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from territory_ops.canonical import ACCOUNT_COLUMNS, REP_COLUMNS
from territory_ops.extracts.industries import skill_gaps
from territory_ops.optimize import ObjectiveWeights, OptimizeOptions, PlanResult, optimize
from territory_ops.optimize.instance import FULL_WEIGHTS, MICRO_WEIGHTS, account_families
from territory_ops.planning.config import PassConfig
from territory_ops.planning.kpis import rep_books, team_kpis
from territory_ops.planning.locks import apply_locks
from territory_ops.planning.tables import PlanningInput

# optimizer reason codes -> proposal reason codes (docs/proposals.md)
REASON_CODES = {"new_account": "new"}
ACTIVE_STATUSES = ("active", "ramping")


@dataclass
class PassPlan:
    pass_kind: str
    snapshot_date: date
    plan: pl.DataFrame  # PLAN_COLUMNS + reason_code, is_temporary, temporary_until, covered_rep_id
    metrics: dict[str, object]
    kpis_before: dict[str, float]
    kpis_after: dict[str, float]
    books_before: pl.DataFrame
    books_after: pl.DataFrame
    move_budget: int
    returns: int = 0
    warnings: list[str] = field(default_factory=list)


def optimizer_options(config: PassConfig, n_accounts: int) -> OptimizeOptions:
    mode = "full" if config.pass_kind == "full" else "micro"
    base = FULL_WEIGHTS if mode == "full" else MICRO_WEIGHTS
    disruption = config.weights.disruption_km
    if disruption is None and mode == "full":
        disruption = config.weights.full_disruption_km
    weights = ObjectiveWeights(
        travel=base.travel,
        disruption_km=disruption if disruption is not None else base.disruption_km,
        balance_km=config.weights.balance_km
        if config.weights.balance_km is not None
        else base.balance_km,
        skill_match_km=base.skill_match_km,
    )
    return OptimizeOptions(
        mode=mode,
        tolerance=config.tolerance,
        max_moves=config.effective_move_budget(n_accounts) if mode == "micro" else None,
        time_limit=config.time_limit,  # None: the optimizer picks a time limit that fits
        seed=config.seed,
        weights=weights,
        regional_min_accounts=config.regions.min_accounts,
        region_reps=config.regions.reps_per_region,
    )


def returning_covers(published: pl.DataFrame | None, reps: pl.DataFrame) -> pl.DataFrame:
    """Accounts the published plan covers for a rep who is active again: account_id,
    cover_rep_id (who holds it in the published plan), covered_rep_id (who gets it back)."""
    empty = pl.DataFrame(
        schema={"account_id": pl.String, "cover_rep_id": pl.String, "covered_rep_id": pl.String}
    )
    if published is None or published.is_empty():
        return empty
    back = reps.filter(pl.col("active") & pl.col("status").is_in(ACTIVE_STATUSES))["rep_id"]
    return published.filter(
        pl.col("is_temporary") & pl.col("covered_rep_id").is_in(back.to_list())
    ).select("account_id", cover_rep_id="rep_id", covered_rep_id="covered_rep_id")


def carried_covers(published: pl.DataFrame | None, reps: pl.DataFrame) -> pl.DataFrame:
    """Accounts the published plan holds for a rep who is still on leave: account_id,
    carried_rep_id (who gets it back), carried_until (their leave's end as the roster says now).

    A leave outlasts a month's pass: the cover reached the CRM, so the next plan sees the
    cover rep as the owner. Each plan marks those accounts temporary again, so the plan
    before the rep's return still names them and the return hands them back."""
    empty = pl.DataFrame(
        schema={"account_id": pl.String, "carried_rep_id": pl.String, "carried_until": pl.Date}
    )
    if published is None or published.is_empty():
        return empty
    away = reps.filter(pl.col("status") == "on_leave").select(
        carried_rep_id="rep_id", carried_until=pl.col("leave_until").cast(pl.Date)
    )
    return (
        published.filter(pl.col("is_temporary") & pl.col("covered_rep_id").is_not_null())
        .select("account_id", carried_rep_id="covered_rep_id")
        .join(away, on="carried_rep_id", how="inner")
        .select(empty.columns)
    )


def _covered_now(returns: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """Hand-backs of covers that reached the CRM or are on their way (the account's owner, or
    its lock, is the cover rep). A cover still waiting when its rep came back is withdrawn, not
    handed back: the CRM never moved the account (``locks.covers_no_longer_needed``)."""
    if returns.is_empty():
        return returns
    owners = accounts.select("account_id", pl.col("current_rep_id").alias("_holder"))
    return (
        returns.join(owners, on="account_id", how="inner")
        .filter(pl.col("_holder") == pl.col("cover_rep_id"))
        .drop("_holder")
    )


def _optimizer_accounts(
    accounts: pl.DataFrame, reps: pl.DataFrame, returns: pl.DataFrame
) -> pl.DataFrame:
    """Canonical accounts where a hand-back is pinned to the returning rep (no budget spent).

    An owner who is not on the roster (a manager, an integration user) owns nothing in a
    plan: the account is placed like an unassigned one and the reason names the owner.
    """
    frame = accounts.select(ACCOUNT_COLUMNS).with_columns(
        current_rep_id=pl.when(pl.col("current_rep_id").is_in(reps["rep_id"].to_list()))
        .then(pl.col("current_rep_id"))
        .otherwise(None),
        locked=pl.col("locked") & pl.col("current_rep_id").is_in(reps["rep_id"].to_list()),
    )
    if returns.is_empty():
        return frame
    pins = returns.select("account_id", "covered_rep_id")
    return (
        frame.join(pins, on="account_id", how="left")
        .with_columns(
            current_rep_id=pl.coalesce("covered_rep_id", "current_rep_id"),
            locked=pl.col("locked") | pl.col("covered_rep_id").is_not_null(),
        )
        .select(ACCOUNT_COLUMNS)
    )


def _offers(reps: pl.DataFrame) -> dict[str, set[tuple[str, str]]]:
    """Per rep: the (segment, required skill) pairs it may own ("" = no skill needed)."""
    return {
        rid: {
            (seg, skill)
            for seg in (segs or "").split(";")
            for skill in {"", *(skills or "").split(";")}
        }
        for rid, segs, skills in reps.select("rep_id", "segments", "skills").iter_rows()
    }


def _ownable(returns: pl.DataFrame, accounts: pl.DataFrame, reps: pl.DataFrame) -> pl.DataFrame:
    """Hand-backs the returning rep may own (with the whole family): an account that grew into
    another segment while its rep was away is placed like any other account instead."""
    if returns.is_empty():
        return returns
    offers = _offers(reps)
    fam_of, needs = _family_needs(accounts)
    keep = [
        needs.get(fam_of.get(aid, aid), set()) <= offers.get(rep, set())
        for aid, rep in returns.select("account_id", "covered_rep_id").iter_rows()
    ]
    return returns.filter(pl.Series(keep, dtype=pl.Boolean))


FAMILY_MERGED = "family merged"  # the reason of a lock a merged family's owner overrides


def merged_family_locks(accounts: pl.DataFrame, reps: pl.DataFrame) -> pl.DataFrame:
    """Locked accounts of one family held by different active reps (account_id, why), the
    owner the family keeps left out.

    The rule: the lock on the family's ultimate parent wins; without one, the rep holding the
    family's largest locked potential (then the most locked accounts, then the lower rep id).
    The other locks are released and their accounts move to that rep with the whole family
    (``family merged: ...`` in the plan's reason and the run's warnings), so an acquisition
    that joins two families pinned to different reps never stops the pass.
    """
    empty = pl.DataFrame(schema={"account_id": pl.String, "why": pl.String})
    active = reps.filter(pl.col("active"))["rep_id"].to_list()
    held = accounts.filter(pl.col("locked") & pl.col("current_rep_id").is_in(active))
    if held.height < 2:
        return empty
    frame = accounts.select(
        "account_id",
        "potential",
        parent_account_id=pl.when(pl.col("parent_account_id") == pl.col("account_id"))
        .then(None)
        .otherwise(pl.col("parent_account_id")),
    )
    family_of, roots = account_families(frame)
    ids = frame["account_id"].to_list()
    info = pl.DataFrame(
        {
            "account_id": ids,
            "family": family_of,
            "root_id": [ids[roots[f]] for f in family_of],
        }
    )
    locks = held.select("account_id", "current_rep_id", "potential").join(info, on="account_id")
    split = locks.group_by("family").agg(pl.col("current_rep_id").n_unique().alias("owners"))
    locks = locks.join(split.filter(pl.col("owners") > 1), on="family", how="semi")
    if locks.is_empty():
        return empty
    weight = locks.group_by("family", "current_rep_id").agg(
        pl.col("potential").sum().alias("locked_potential"),
        pl.len().alias("locked_accounts"),
        (pl.col("account_id") == pl.col("root_id")).any().alias("holds_parent"),
    )
    winner = (
        weight.sort(
            ["family", "holds_parent", "locked_potential", "locked_accounts", "current_rep_id"],
            descending=[False, True, True, True, False],
        )
        .unique("family", keep="first", maintain_order=True)
        .select(
            "family",
            winner="current_rep_id",
            rule=pl.when(pl.col("holds_parent"))
            .then(pl.lit("the lock on its parent"))
            .otherwise(pl.lit("the family's largest locked potential")),
        )
    )
    losers = locks.join(winner, on="family").filter(pl.col("current_rep_id") != pl.col("winner"))
    return losers.sort("account_id").select(
        "account_id",
        why=pl.format(
            "{}: locked to {}, but its family ({}) has one owner: {} ({} wins); now with {}",
            pl.lit(FAMILY_MERGED),
            "current_rep_id",
            "root_id",
            "winner",
            "rule",
            "winner",
        ),
    )


def _with_merge_reasons(plan: pl.DataFrame, released: pl.DataFrame) -> pl.DataFrame:
    """Plan rows of a merged family's overridden locks say so (reason code ``family``)."""
    merged = released.filter(pl.col("why").str.starts_with(FAMILY_MERGED))
    if merged.is_empty():
        return plan
    return (
        plan.join(merged, on="account_id", how="left")
        .with_columns(
            reason=pl.when(pl.col("why").is_not_null() & pl.col("changed"))
            .then(pl.col("why"))
            .otherwise(pl.col("reason")),
            reason_code=pl.when(pl.col("why").is_not_null() & pl.col("changed"))
            .then(pl.lit("family"))
            .otherwise(pl.col("reason_code")),
        )
        .drop("why")
    )


def conflicting_locks(accounts: pl.DataFrame, reps: pl.DataFrame) -> pl.DataFrame:
    """Locked accounts whose owner may not own every account of the family (a subsidiary
    grew into another segment, a skill is now required): account_id, why.

    A lock cannot outrank rule 2, and a family is never split, so such a lock is released
    (the plan's reason says so) instead of leaving the whole book without a plan.
    """
    empty = pl.DataFrame(schema={"account_id": pl.String, "why": pl.String})
    if "family_id" not in accounts.columns:
        return empty
    offers = _offers(reps)
    needs: dict[str, set[tuple[str, str]]] = {}
    for fam, seg, skill in accounts.select("family_id", "segment", "required_skill").iter_rows():
        needs.setdefault(fam, set()).add((seg, skill or ""))
    out = []
    locked = accounts.filter(pl.col("locked") & pl.col("current_rep_id").is_not_null())
    for aid, fam, owner in locked.select("account_id", "family_id", "current_rep_id").iter_rows():
        missing = needs.get(fam, set()) - offers.get(owner, set())
        if owner in offers and missing:
            seg, skill = sorted(missing)[0]
            need = f"segment {seg}" + (f" and skill {skill}" if skill else "")
            out.append((aid, f"lock released: {owner} may not own its family's {need}"))
    return pl.DataFrame(out, schema=empty.schema, orient="row") if out else empty


def uncovered_accounts(accounts: pl.DataFrame, reps: pl.DataFrame) -> pl.DataFrame:
    """Accounts (whole families) no active rep may own: account_id, need (a sentence part).

    Every rep of a segment (or of a certification) inactive is a hiring finding, not a reason
    to leave the rest of the book without a plan.
    """
    active = reps.filter(pl.col("active"))
    offers = {
        (seg, skill)
        for segs, skills in active.select("segments", "skills").iter_rows()
        for seg in (segs or "").split(";")
        for skill in {"", *(skills or "").split(";")}
    }
    needs = accounts.select(
        "account_id",
        family=pl.col("family_id") if "family_id" in accounts.columns else pl.col("account_id"),
        need=pl.format(
            "segment {}{}",
            "segment",
            pl.when(pl.col("required_skill").fill_null("") != "")
            .then(pl.format(" and skill {}", "required_skill"))
            .otherwise(pl.lit("")),
        ),
        ok=pl.struct("segment", "required_skill").map_elements(
            lambda r: (r["segment"], r["required_skill"] or "") in offers, return_dtype=pl.Boolean
        ),
    )
    bad_families = needs.filter(~pl.col("ok"))["family"].unique().to_list()
    return needs.filter(pl.col("family").is_in(bad_families)).select(
        "account_id",
        need=pl.when(pl.col("ok")).then(pl.lit("its family")).otherwise(pl.col("need")),
    )


@dataclass
class PassInputs:
    """What the optimizer is handed for a pass, and what reading its plan back needs.

    Kept apart from the solve so the solve can run in another process or on another machine
    (the pass job's steps exchange these as files: :mod:`territory_ops.planning.pass_files`).
    """

    accounts: pl.DataFrame  # the optimizer's accounts (locks applied, covers to hand back)
    reps: pl.DataFrame  # REP_COLUMNS
    options: OptimizeOptions
    returns: pl.DataFrame  # account_id, cover_rep_id, covered_rep_id
    uncovered: pl.DataFrame  # accounts no active rep may own, and why
    held: pl.DataFrame  # unowned accounts kept unassigned, and why
    released: pl.DataFrame  # locks released because the locked owner may not own them
    carried: pl.DataFrame  # account_id, carried_rep_id, carried_until: covers of a leave going on


def run_pass(
    data: PlanningInput,
    config: PassConfig,
    published: pl.DataFrame | None = None,
    locks: pl.DataFrame | None = None,
    held: pl.DataFrame | None = None,
) -> PassPlan:
    """Plan ``data`` with the settings of ``config``; ``published`` = the last published plan;
    ``held`` = unowned accounts kept unassigned (account_id, reason: a rejected placement)."""
    inputs = prepare_pass(data, config, published, locks, held)
    result = optimize(inputs.accounts, inputs.reps, inputs.options)
    return finish_pass(data, config, inputs, result)


def prepare_pass(
    data: PlanningInput,
    config: PassConfig,
    published: pl.DataFrame | None = None,
    locks: pl.DataFrame | None = None,
    held: pl.DataFrame | None = None,
) -> PassInputs:
    """Everything :func:`run_pass` decides before the optimizer runs."""
    options = optimizer_options(config, data.n_accounts)
    returns = _ownable(returning_covers(published, data.reps), data.accounts, data.reps)
    uncovered = uncovered_accounts(data.accounts, data.reps)
    held = _held(held, uncovered)
    plannable = data.accounts.join(uncovered, on="account_id", how="anti").join(
        held, on="account_id", how="anti"
    )
    plannable = apply_locks(plannable, locks)  # decisions and pins (planning.locks)
    returns = _covered_now(returns, plannable)
    merged = merged_family_locks(plannable, data.reps)
    plannable = plannable.with_columns(
        locked=pl.col("locked") & ~pl.col("account_id").is_in(merged["account_id"].to_list())
    )
    released = pl.concat([merged, conflicting_locks(plannable, data.reps)])
    plannable = plannable.with_columns(
        locked=pl.col("locked") & ~pl.col("account_id").is_in(released["account_id"].to_list())
    )
    return PassInputs(
        accounts=_optimizer_accounts(plannable, data.reps, returns),
        reps=data.reps.select(REP_COLUMNS),
        options=options,
        returns=returns,
        uncovered=uncovered,
        held=held,
        released=released,
        carried=carried_covers(published, data.reps),
    )


def finish_pass(
    data: PlanningInput, config: PassConfig, inputs: PassInputs, result: PlanResult
) -> PassPlan:
    """The pass's plan from the optimizer's ``result`` on ``inputs``: covers, held and
    uncovered accounts, KPIs before and after, forced moves."""
    returns, uncovered, held, released = (
        inputs.returns,
        inputs.uncovered,
        inputs.held,
        inputs.released,
    )
    options = inputs.options
    plan = _with_uncovered(result.plan, data.accounts, uncovered)
    plan = _with_merge_reasons(
        _annotate(_with_held(plan, held), data, returns, inputs.carried), released
    )
    accounts_after = data.accounts.join(
        plan.select("account_id", planned_rep_id="rep_id"), on="account_id", how="left"
    )
    metrics = dict(result.metrics)
    metrics["returns"] = returns.height
    metrics["uncovered_accounts"] = uncovered.height
    metrics["held_unassigned"] = held.height
    by_merge = released["why"].str.starts_with(FAMILY_MERGED)
    metrics["locks_released_for_eligibility"] = int((~by_merge).sum())
    metrics["locks_released_family_merged"] = int(by_merge.sum())
    metrics["uncovered_needs"] = sorted(set(uncovered["need"]) - {"its family"})
    # a skill no active rep holds: said in the run summary, not only in drift
    metrics["skill_gaps"] = [gap.sentence() for gap in skill_gaps(data.accounts, data.reps)]
    # Moves a hard rule forces (today's owner may not own the account, a split family) are
    # outside any budget; the budget bounds the optimizer's own choices.
    forced = _forced_moves(plan, data.accounts, data.reps)
    metrics["forced_moves"] = forced
    metrics["budget_moves"] = max(int(metrics.get("moves", 0) or 0) - forced, 0)
    return PassPlan(
        pass_kind=config.pass_kind,
        snapshot_date=data.snapshot_date,
        plan=plan,
        metrics=metrics,
        kpis_before=team_kpis(data.accounts, data.reps, "current_rep_id", config.tolerance),
        kpis_after=team_kpis(accounts_after, data.reps, "planned_rep_id", config.tolerance),
        books_before=rep_books(data.accounts, data.reps, "current_rep_id", config.tolerance),
        books_after=rep_books(accounts_after, data.reps, "planned_rep_id", config.tolerance),
        move_budget=options.max_moves if options.max_moves is not None else data.n_accounts,
        returns=returns.height,
        warnings=list(result.warnings)
        + [f"{aid}: {why}" for aid, why in released.iter_rows()]
        + [f"skill gap: {gap}" for gap in metrics["skill_gaps"]],
    )


def _family_needs(accounts: pl.DataFrame) -> tuple[dict[str, str], dict[str, set]]:
    family = pl.col("family_id") if "family_id" in accounts.columns else pl.col("account_id")
    info = accounts.select("account_id", family.alias("family"), "segment", "required_skill")
    needs: dict[str, set[tuple[str, str]]] = {}
    for fam, seg, skill in info.select("family", "segment", "required_skill").iter_rows():
        needs.setdefault(fam, set()).add((seg, skill or ""))
    return dict(info.select("account_id", "family").iter_rows()), needs


def _forced_moves(plan: pl.DataFrame, accounts: pl.DataFrame, reps: pl.DataFrame) -> int:
    """Moves away from an active owner that a hard rule forces: the owner may not own the
    account's family (rule 2), or the family sits with several owners (rule 4)."""
    offers = _offers(reps.filter(pl.col("active")))
    fam_of, needs = _family_needs(accounts)
    owners: dict[str, set[str]] = {}
    for aid, owner in accounts.select("account_id", "current_rep_id").iter_rows():
        owners.setdefault(fam_of[aid], set()).add(owner or "")
    moved = plan.filter(pl.col("changed") & pl.col("previous_rep_id").is_in(list(offers)))
    return sum(
        1
        for aid, prev in moved.select("account_id", "previous_rep_id").iter_rows()
        if not needs[fam_of[aid]] <= offers[prev] or len(owners[fam_of[aid]]) > 1
    )


def _with_uncovered(
    plan: pl.DataFrame, accounts: pl.DataFrame, uncovered: pl.DataFrame
) -> pl.DataFrame:
    """Uncovered accounts stay with today's owner (no active rep may take them), flagged."""
    if uncovered.is_empty():
        return plan
    rows = uncovered.join(accounts.select("account_id", "current_rep_id"), on="account_id").select(
        "account_id",
        rep_id=pl.col("current_rep_id").fill_null(""),
        previous_rep_id=pl.col("current_rep_id"),
        changed=pl.lit(False),
        reason=pl.format("uncovered: no active rep covers {}; hire or reactivate a rep", "need"),
    )
    return pl.concat([plan.select(rows.columns), rows], how="vertical_relaxed").sort("account_id")


def _held(held: pl.DataFrame | None, uncovered: pl.DataFrame) -> pl.DataFrame:
    empty = pl.DataFrame(schema={"account_id": pl.String, "reason": pl.String})
    if held is None or held.is_empty():
        return empty
    keep = ["account_id", "reason", *(["rep_id"] if "rep_id" in held.columns else [])]
    return held.select(keep).join(uncovered, on="account_id", how="anti")


def _with_held(plan: pl.DataFrame, held: pl.DataFrame) -> pl.DataFrame:
    """Held accounts stay unassigned (a rejected placement is not proposed again), or with
    the owner ``held`` names (an account the pass leaves out for its location)."""
    if held.is_empty():
        return plan
    rows = held.select(
        "account_id",
        rep_id=pl.col("rep_id").fill_null("") if "rep_id" in held.columns else pl.lit(""),
        previous_rep_id=pl.lit(None, dtype=pl.String),
        changed=pl.lit(False),
        reason="reason",
    )
    return pl.concat([plan.select(rows.columns), rows], how="vertical_relaxed").sort("account_id")


def _annotate(
    plan: pl.DataFrame, data: PlanningInput, returns: pl.DataFrame, carried: pl.DataFrame
) -> pl.DataFrame:
    """Plan rows against today's CRM owner, with reason codes, covers (new, and carried while
    the leave goes on) and hand-backs."""
    owners = data.accounts.select("account_id", crm_rep_id="current_rep_id")
    leave = data.reps.filter(pl.col("status") == "on_leave").select(
        crm_rep_id="rep_id", owner_leave_until="leave_until"
    )
    frame = (
        plan.select("account_id", "rep_id", "reason")
        .join(owners, on="account_id", how="left")
        .join(leave, on="crm_rep_id", how="left")
        .join(returns, on="account_id", how="left")
        .join(carried, on="account_id", how="left")
    )
    not_a_rep = (
        pl.col("crm_rep_id").is_not_null()
        & ~pl.col("crm_rep_id").is_in(data.reps["rep_id"].to_list())
        & ~pl.col("reason").str.starts_with("uncovered:")
    )
    code = (
        pl.when(not_a_rep)
        .then(pl.lit("orphaned"))
        .otherwise(pl.col("reason").str.split(":").list.first().replace(REASON_CODES))
    )
    is_return = pl.col("covered_rep_id").is_not_null() & (
        pl.col("rep_id") == pl.col("covered_rep_id")
    )
    is_cover = (
        ~pl.col("reason").str.starts_with("uncovered:")
        & pl.col("owner_leave_until").is_not_null()
        & (pl.col("rep_id") != pl.col("crm_rep_id"))
        & ~is_return
    )
    # held for a rep still away by an earlier cover: the account stays temporary, whoever
    # the plan gives it to, so the return hands it back
    is_carried = (
        pl.col("carried_rep_id").is_not_null()
        & ~is_cover
        & ~is_return
        & ~pl.col("reason").str.starts_with("uncovered:")
        & (pl.col("rep_id") != pl.col("carried_rep_id"))
    )
    return frame.with_columns(
        previous_rep_id=pl.when(is_return)
        .then(pl.col("cover_rep_id"))
        .otherwise(pl.col("crm_rep_id")),
        changed=pl.when(is_return)
        .then(pl.lit(True))
        .when(
            pl.col("reason").str.starts_with("uncovered:")
            | pl.col("reason").str.starts_with("held:")
        )
        .then(pl.lit(False))
        .otherwise(pl.col("rep_id") != pl.col("crm_rep_id").fill_null("")),
        reason_code=pl.when(is_return)
        .then(pl.lit("return"))
        .when(is_cover)
        .then(pl.lit("cover"))
        .otherwise(code),
        reason=pl.when(is_return)
        .then(
            pl.format(
                "return: {} is back from leave; hand back from {}",
                "covered_rep_id",
                "cover_rep_id",
            )
        )
        .when(is_cover)
        .then(
            pl.format(
                "cover: {} is on leave until {}; temporarily with {}",
                "crm_rep_id",
                pl.col("owner_leave_until").cast(pl.String),
                "rep_id",
            )
        )
        .when(not_a_rep)
        .then(
            pl.format("orphaned: owner {} is not a sales rep; now with {}", "crm_rep_id", "rep_id")
        )
        .otherwise(pl.col("reason")),
        is_temporary=is_cover | is_carried,
        temporary_until=pl.when(is_cover)
        .then(pl.col("owner_leave_until").cast(pl.Date))
        .when(is_carried)
        .then(pl.col("carried_until"))
        .otherwise(None),
        covered_rep_id=pl.when(is_cover)
        .then(pl.col("crm_rep_id"))
        .when(is_carried)
        .then(pl.col("carried_rep_id"))
        .otherwise(pl.lit(None, dtype=pl.String)),
    ).select(
        "account_id",
        "rep_id",
        "previous_rep_id",
        "changed",
        "reason",
        "reason_code",
        "is_temporary",
        pl.col("temporary_until").cast(pl.Date),
        "covered_rep_id",
    )
