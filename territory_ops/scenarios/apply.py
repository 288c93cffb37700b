"""Apply a scenario's changes, in file order, to the canonical tables.

Every change checks its values against the data (an unknown rep, industry, segment, skill
or city is a :class:`ScenarioError` with file, line and key). The result is what the
optimizer sees (:class:`Applied`); nothing here solves.

Named accounts (coverage ``named`` / ``hybrid``): the top ``top_share`` of accounts by
potential keep their active owner (the dedicated-rep rule: they are locked) and carry no
travel (the optimizer sees them at their owner's home base, so they neither pull a rep
nor add km; maps keep their real location).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.optimize.api import OptimizeOptions
from territory_ops.optimize.instance import (
    FULL_WEIGHTS,
    MICRO_WEIGHTS,
    ObjectiveWeights,
    account_families,
)
from territory_ops.optimize.tables import InputError, read_table, validate_accounts
from territory_ops.planning.config import load_pass_config
from territory_ops.scenarios.schema import (
    HYBRID_TOP_SHARE,
    MOST_POTENTIAL,
    Change,
    Scenario,
)

NEW_REP_PREFIX = "NEW"
DEFAULT_MOVE_SHARE = load_pass_config().move_budget_share  # micro without move_budget


@dataclass(frozen=True)
class Applied:
    scenario: Scenario
    accounts: pl.DataFrame  # what the optimizer sees (named accounts at their owner's base)
    reps: pl.DataFrame
    options: OptimizeOptions
    map_accounts: pl.DataFrame  # real locations, for maps
    added_reps: tuple[str, ...] = ()
    removed_reps: tuple[str, ...] = ()
    named_accounts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    hiring_locations: pl.DataFrame | None = None


@dataclass
class _State:
    scenario: Scenario
    accounts: pl.DataFrame
    reps: pl.DataFrame
    options: OptimizeOptions
    hire_time_limit: float
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    named: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hiring: pl.DataFrame | None = None
    named_home: dict[str, tuple[float, float]] = field(default_factory=dict)


def scenario_options(scenario: Scenario, base: OptimizeOptions) -> OptimizeOptions:
    """Solver settings before the changes: the scenario's mode, time limit and seed."""
    weights = FULL_WEIGHTS if scenario.mode == "full" else MICRO_WEIGHTS
    if base.weights is not None and base.mode == scenario.mode:
        weights = base.weights
    return replace(
        base,
        mode=scenario.mode,
        max_moves=base.max_moves if scenario.mode == "micro" else None,
        time_limit=scenario.time_limit if scenario.time_limit is not None else base.time_limit,
        seed=scenario.seed,
        weights=weights,
    )


def apply_scenario(
    scenario: Scenario,
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    base: OptimizeOptions,
    *,
    upto: int | None = None,
    hire_time_limit: float = 60.0,
) -> Applied:
    """``accounts``/``reps``: typed canonical frames (``load_tables``). ``upto``: apply only
    the first N changes (used to find which change made the hard rules infeasible)."""
    st = _State(scenario, accounts, reps, scenario_options(scenario, base), hire_time_limit)
    for change in scenario.changes[:upto]:
        _APPLY[change.key](st, change)
    if st.options.mode == "micro" and st.options.max_moves is None:
        # mode: micro without a move budget: the monthly pass's default share
        budget = int(math.floor(DEFAULT_MOVE_SHARE * st.accounts.height))
        st.options = replace(st.options, max_moves=budget)
        st.notes.append(f"move budget {budget} ({DEFAULT_MOVE_SHARE:.0%} of accounts, the default)")
    mapped = st.accounts
    active = set(st.reps.filter(pl.col("active"))["rep_id"].to_list())
    owner = dict(zip(st.accounts["account_id"], st.accounts["current_rep_id"], strict=True))
    # a named account whose owner a later change removed is planned (and travels) normally
    home = {a: ll for a, ll in st.named_home.items() if owner.get(a) in active}
    if home:
        mapped = _at_owner_home(st.accounts, home)
    return Applied(
        scenario=scenario,
        accounts=mapped,
        reps=st.reps,
        options=st.options,
        map_accounts=st.accounts,
        added_reps=tuple(st.added),
        removed_reps=tuple(st.removed),
        named_accounts=tuple(st.named),
        notes=tuple(st.notes),
        hiring_locations=st.hiring,
    )


# --- helpers --------------------------------------------------------------------------------


def _examples(values: list[str], n: int = 5) -> str:
    shown = ", ".join(sorted(values)[:n])
    return shown + (f" ... ({len(values)} in all)" if len(values) > n else "")


def _split(value: str) -> set[str]:
    return {v.strip() for v in str(value).split(";") if v.strip()}


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return sorted(_split(value))
    return [str(v) for v in value]  # type: ignore[union-attr]


def _known_segments(st: _State) -> set[str]:
    return set(st.accounts["segment"].to_list()) | {
        s for v in st.reps["segments"].to_list() for s in _split(v)
    }


def _known_skills(st: _State) -> set[str]:
    return {s for s in st.accounts["required_skill"].to_list() if s} | {
        s for v in st.reps["skills"].to_list() for s in _split(v)
    }


def _current_potential(st: _State) -> dict[str, float]:
    owned = st.accounts.group_by("current_rep_id").agg(pl.col("potential").sum())
    return dict(zip(owned["current_rep_id"].to_list(), owned["potential"].to_list(), strict=True))


def _append_reps(st: _State, new: pl.DataFrame) -> None:
    st.reps = pl.concat([st.reps, new], how="diagonal_relaxed")
    st.added.extend(new["rep_id"].to_list())


def _next_ids(st: _State, count: int) -> list[str]:
    taken = set(st.reps["rep_id"].to_list())
    out, n = [], 0
    while len(out) < count:
        n += 1
        rid = f"{NEW_REP_PREFIX}{n:02d}"
        if rid not in taken:
            out.append(rid)
    return out


def _segment_median(st: _State, segment: str, column: str) -> float:
    act = st.reps.filter(pl.col("active"))
    covers = act.filter(
        pl.col("segments").map_elements(lambda v: segment in _split(v), return_dtype=pl.Boolean)
    )
    pool = covers if covers.height else act
    return float(pool[column].median())  # type: ignore[arg-type]


# --- add reps -------------------------------------------------------------------------------


def _place(st: _State, change: Change, path: str, at: dict) -> tuple[float, float, str]:
    if "latitude" in at:
        lat, lon = at["latitude"], at["longitude"]
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise st.scenario.error(change, f"{path}.at", f"not a place on Earth: {lat}, {lon}")
        return float(lat), float(lon), f"{lat:.2f}, {lon:.2f}"
    from territory_ops.geography import us_cities

    city, state = str(at["city"]), str(at["state"]).upper()
    cities = us_cities()
    hit = cities.filter(
        (pl.col("city").str.to_lowercase() == city.lower()) & (pl.col("state") == state)
    ).sort("population", descending=True)
    if hit.is_empty():
        raise st.scenario.error(
            change, f"{path}.at.city", f"unknown US city {city}, {state} (15k+ inhabitants)"
        )
    row = hit.row(0, named=True)
    return row["latitude"], row["longitude"], f"{row['city']}, {state}"


def _add_reps(st: _State, change: Change) -> None:
    for i, item in enumerate(change.value):
        path = f"add_reps[{i}]"
        if item["at"] == "suggested":
            _add_suggested(st, change, path, item)
            continue
        segments = _names(item["segments"])
        skills = _names(item.get("skills", []))
        unknown = [s for s in segments if s not in _known_segments(st)]
        if unknown:
            raise st.scenario.error(
                change,
                f"{path}.segments",
                f"unknown segment {unknown[0]!r}; known: {_examples(list(_known_segments(st)))}",
            )
        bad = [s for s in skills if s not in _known_skills(st)]
        if bad:
            raise st.scenario.error(
                change,
                f"{path}.skills",
                f"unknown skill {bad[0]!r}; known: {_examples(list(_known_skills(st)))}",
            )
        lat, lon, where = _place(st, change, path, item["at"])
        ids = _next_ids(st, item.get("count", 1))
        cap = item.get("capacity_hours") or _segment_median(st, segments[0], "capacity_hours")
        weight = item.get("target_weight") or _segment_median(st, segments[0], "target_weight")
        new = pl.DataFrame(
            {
                "rep_id": ids,
                "latitude": [lat] * len(ids),
                "longitude": [lon] * len(ids),
                "capacity_hours": [float(cap)] * len(ids),
                "target_weight": [float(weight)] * len(ids),
                "segments": [";".join(segments)] * len(ids),
                "skills": [";".join(skills)] * len(ids),
                "active": [True] * len(ids),
            }
        )
        _append_reps(st, new)
        st.notes.append(f"added {len(ids)} rep(s) at {where} ({', '.join(segments)})")


def _add_suggested(st: _State, change: Change, path: str, item: dict) -> None:
    from territory_ops.scenarios.hiring import reps_for_hires, suggest_hires

    count = int(item.get("count", 1))
    plan = suggest_hires(
        st.accounts, st.reps, count, time_limit=st.hire_time_limit, seed=st.scenario.seed
    )
    if plan.locations.is_empty():
        status = (plan.stats or {}).get("status", "")
        reason = "the hiring plan finds no location where a hire would help"
        if status not in ("optimal", "nothing to gain"):  # stopped by its time limit
            reason = (
                f"the hiring model found no location within {st.hire_time_limit:g} s "
                f"(solver status {status}); give it more time (--hire-time-limit)"
            )
        raise st.scenario.error(change, f"{path}.at", reason)
    new = reps_for_hires(plan, st.reps, id_prefix=NEW_REP_PREFIX)
    overrides = {k: float(item[k]) for k in ("capacity_hours", "target_weight") if k in item}
    if overrides:
        new = new.with_columns([pl.lit(v).alias(k) for k, v in overrides.items()])
    _append_reps(st, new)
    locs = plan.locations.sort("rank")
    st.hiring = locs if st.hiring is None else pl.concat([st.hiring, locs], how="diagonal_relaxed")
    places = [f"{r['city']}, {r['state']} ({r['segment']})" for r in locs.iter_rows(named=True)]
    short = f" (the hiring plan found only {locs.height} of {count})" if locs.height < count else ""
    st.notes.append(
        f"added {locs.height} rep(s) at suggested locations{short}: {'; '.join(places)}"
    )


# --- remove reps, weights, solver settings -------------------------------------------------


def _remove_reps(st: _State, change: Change) -> None:
    items = [change.value] if isinstance(change.value, str) else change.value
    known = st.reps["rep_id"].to_list()
    active = set(st.reps.filter(pl.col("active"))["rep_id"].to_list())
    for i, rid in enumerate(items):
        path = f"remove_reps[{i}]"
        if rid == MOST_POTENTIAL:
            pot = _current_potential(st)
            if not any(r in pot for r in active):
                raise st.scenario.error(change, path, "no active rep owns any account today")
            rid = max(sorted(active), key=lambda r: pot.get(r, 0.0))
            st.notes.append(f"removed {rid}, the rep with the most potential ({pot[rid]:,.0f})")
        elif rid not in known:
            raise st.scenario.error(change, path, f"unknown rep {rid!r}; e.g. {_examples(known)}")
        elif rid not in active:
            raise st.scenario.error(change, path, f"rep {rid!r} is already inactive")
        else:
            st.notes.append(f"removed {rid}")
        active.discard(rid)
        st.removed.append(rid)
    if not active:
        raise st.scenario.error(change, "remove_reps", "removes every active rep")
    st.reps = st.reps.with_columns(
        pl.when(pl.col("rep_id").is_in(st.removed))
        .then(False)
        .otherwise(pl.col("active"))
        .alias("active")
    )


def _target_weights(st: _State, change: Change) -> None:
    known = st.reps["rep_id"].to_list()
    for rid in change.value:
        if rid not in known:
            raise st.scenario.error(
                change, f"target_weights.{rid}", f"unknown rep {rid!r}; e.g. {_examples(known)}"
            )
    weights = {str(k): float(v) for k, v in change.value.items()}
    st.reps = st.reps.with_columns(
        pl.col("rep_id")
        .replace_strict(weights, default=pl.col("target_weight"), return_dtype=pl.Float64)
        .alias("target_weight")
    )
    st.notes.append(f"target weight changed for {len(weights)} rep(s)")


def _tolerance(st: _State, change: Change) -> None:
    st.options = replace(st.options, tolerance=float(change.value))
    st.notes.append(f"tolerance ±{change.value:.0%}")


def _objective(st: _State, change: Change) -> None:
    w = st.options.weights or (FULL_WEIGHTS if st.options.mode == "full" else MICRO_WEIGHTS)
    st.options = replace(
        st.options, weights=replace(w, **{k: float(v) for k, v in change.value.items()})
    )
    st.notes.append("objective weights: " + ", ".join(f"{k}={v}" for k, v in change.value.items()))


def _move_budget(st: _State, change: Change) -> None:
    n = st.accounts.height
    moves = change.value.get("moves")
    if moves is None:
        moves = int(math.floor(float(change.value["share"]) * n))
    st.options = replace(st.options, max_moves=int(moves))
    st.notes.append(f"move budget {moves} of {n} accounts")


# --- coverage model ------------------------------------------------------------------------


def _top_accounts(accounts: pl.DataFrame, share: float) -> list[str]:
    n = max(1, math.ceil(share * accounts.height))
    ranked = accounts.select("account_id", "potential").sort(
        ["potential", "account_id"], descending=[True, False]
    )
    return ranked.head(n)["account_id"].to_list()


def _coverage(st: _State, change: Change) -> None:
    model = change.value["model"]
    if model == "geographic":
        st.notes.append("coverage: geographic")
        return
    share = float(change.value.get("top_share", HYBRID_TOP_SHARE))
    named = set(_top_accounts(st.accounts, share))
    active = st.reps.filter(pl.col("active")).select("rep_id", "latitude", "longitude")
    home = {r[0]: (r[1], r[2]) for r in active.iter_rows()}
    owner = dict(
        zip(
            st.accounts["account_id"].to_list(),
            st.accounts["current_rep_id"].to_list(),
            strict=True,
        )
    )
    keep = {a for a in named if owner[a] in home}
    # locked accounts of one family must share a rep: keep only the family's biggest owner
    keep = _one_owner_per_family(st.accounts, st.reps, keep)
    st.named_home.update({a: home[owner[a]] for a in keep})
    st.accounts = st.accounts.with_columns(
        (pl.col("locked") | pl.col("account_id").is_in(list(keep))).alias("locked")
    )
    st.named = sorted(named)
    lost = len(named) - len(keep)
    st.notes.append(
        f"coverage: {model}, {len(named)} named account(s) (top {share:.0%} by potential) keep "
        "their rep and carry no travel"
        + (
            f"; {lost} whose owner is inactive, not eligible for the whole family or not "
            "the family's owner are planned normally"
            if lost
            else ""
        )
    )


def _one_owner_per_family(accounts: pl.DataFrame, reps: pl.DataFrame, keep: set[str]) -> set[str]:
    """The named accounts that can be locked: one owner per family (the biggest named
    account's, or an existing lock's), and that owner covers every member's segment and skill
    (otherwise the lock itself would break the hard rules)."""
    family_of, _ = account_families(accounts)  # the optimizer's family rule
    ids = accounts["account_id"].to_list()
    owners = accounts["current_rep_id"].to_list()
    segs, skills = accounts["segment"].to_list(), accounts["required_skill"].to_list()
    pot = accounts["potential"].to_numpy()
    locked = accounts["locked"].to_numpy()
    covers = {
        r: (_split(s), _split(k))
        for r, s, k in zip(reps["rep_id"], reps["segments"], reps["skills"], strict=True)
    }
    needs: dict[int, tuple[set[str], set[str]]] = {}
    best: dict[int, tuple[float, str]] = {}
    for i, aid in enumerate(ids):
        f = int(family_of[i])
        need = needs.setdefault(f, (set(), set()))
        need[0].add(segs[i])
        if skills[i]:
            need[1].add(skills[i])
        if aid in keep or locked[i]:  # an existing lock decides the family's owner
            score = (np.inf if locked[i] else pot[i], owners[i])
            if f not in best or score > best[f]:
                best[f] = score

    def ok(i: int) -> bool:
        f = int(family_of[i])
        seg_ok, skill_ok = covers.get(owners[i], (set(), set()))
        return best[f][1] == owners[i] and needs[f][0] <= seg_ok and needs[f][1] <= skill_ok

    return {a for i, a in enumerate(ids) if a in keep and ok(i)}


def _at_owner_home(accounts: pl.DataFrame, home: dict[str, tuple[float, float]]) -> pl.DataFrame:
    lat = {a: v[0] for a, v in home.items()}
    lon = {a: v[1] for a, v in home.items()}
    return accounts.with_columns(
        pl.col("account_id")
        .replace_strict(lat, default=pl.col("latitude"), return_dtype=pl.Float64)
        .alias("latitude"),
        pl.col("account_id")
        .replace_strict(lon, default=pl.col("longitude"), return_dtype=pl.Float64)
        .alias("longitude"),
    )


# --- verticals ------------------------------------------------------------------------------


def _vertical(st: _State, change: Change) -> None:
    items = change.value if isinstance(change.value, list) else [change.value]
    for i, item in enumerate(items):
        path = f"vertical[{i}]" if isinstance(change.value, list) else "vertical"
        if "accounts_file" in item:
            _new_accounts(st, change, f"{path}.accounts_file", item["accounts_file"])
            continue
        industry, k = str(item["industry"]), float(item["potential_factor"])
        known = sorted(set(st.accounts["industry"].to_list()))
        if industry not in known:
            raise st.scenario.error(
                change,
                f"{path}.industry",
                f"unknown industry {industry!r}; known: {_examples(known, 12)}",
            )
        hit = st.accounts["industry"] == industry
        st.accounts = st.accounts.with_columns(
            pl.when(hit)
            .then(pl.col("potential") * k)
            .otherwise(pl.col("potential"))
            .alias("potential")
        )
        st.notes.append(f"{industry}: potential x {k:g} ({int(hit.sum())} accounts)")


def _new_accounts(st: _State, change: Change, path: str, file: str) -> None:
    where = Path(file)
    if not where.is_absolute():
        where = Path(st.scenario.file).parent / where
    try:
        new = validate_accounts(read_table(where), str(where))
    except InputError as err:
        raise st.scenario.error(change, path, str(err)) from None
    clash = set(new["account_id"].to_list()) & set(st.accounts["account_id"].to_list())
    if clash:
        raise st.scenario.error(
            change, path, f"account ids already in the book: {_examples(list(clash))}"
        )
    reps = set(st.reps["rep_id"].to_list())
    unknown = [r for r in new["current_rep_id"].to_list() if r and r not in reps]
    if unknown:
        raise st.scenario.error(
            change, path, f"current_rep_id names unknown rep(s): {_examples(unknown)}"
        )
    # cast the new rows like the book, so concat keeps the book's dtypes
    new = new.select(
        [pl.col(c).cast(st.accounts.schema[c]) for c in new.columns if c in st.accounts.columns]
    )
    st.accounts = pl.concat([st.accounts, new], how="diagonal_relaxed")
    pot = float(new["potential"].sum())
    st.notes.append(f"{new.height} new account(s) from {where.name} (potential {pot:,.0f})")


_APPLY = {
    "add_reps": _add_reps,
    "remove_reps": _remove_reps,
    "target_weights": _target_weights,
    "tolerance": _tolerance,
    "objective_weights": _objective,
    "move_budget": _move_budget,
    "coverage": _coverage,
    "vertical": _vertical,
}

__all__ = ["Applied", "ObjectiveWeights", "apply_scenario", "scenario_options"]
