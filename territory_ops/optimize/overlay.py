"""Overlay pods: the second planning layer over the account executives' territories.

Overlay reps (solutions engineers ``se``, customer success managers ``csm``, specialists) do
not own accounts; each covers whole account-executive territories — a *pod*. Once the primary
plan has placed every account with an account executive (AE), this layer assigns, per overlay
role and region, every AE to exactly one active overlay rep of that role in its region:

* **balance**: an overlay's load is the role's own workload over the accounts of the AEs it
  covers (a role-specific model: hours per account by segment, times a factor by industry).
  Its *target* is the region's load of that role times the overlay's share of the region's
  overlay capacity; the band is ``target x (1 ± tolerance)``. Deviation outside the band is
  the dominant cost (pods are whole books, so a band may be out of reach; the plan then gets
  as close as it can and says which overlays are out of band);
* **travel**: an overlay's distance to the accounts of the AEs it covers, weighted by the
  role's hours on each account (hours x km), is the second cost;
* **skills**: where the role's model says so, an overlay must hold every ``required_skill``
  of its AEs' accounts; an AE no overlay of the region can serve that way is still covered
  (by the best overlay of the role) and reported as a skill gap;
* a region where AEs exist but no active overlay rep of a role does is a **coverage gap**,
  reported with the hours it leaves uncovered and the hires that would cover them — never a
  silent hole.

One CP-SAT model per (role, region), built in :func:`build_pod_model`, solved in
:func:`solve_pod_model` with a fixed seed, one worker and a *deterministic* time budget (the
same inputs give the same pods on any machine), read in :func:`read_pods`. Loads, targets and
bands are computed by :func:`overlay_loads` — the same function the drift check runs on a
changed book.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from ortools.sat.python import cp_model

from territory_ops.geography import haversine_km

# integer scaling of the model: loads in tenths of an hour, travel in hour x 10 km
LOAD_SCALE = 10
TRAVEL_KM_UNIT = 10.0
# one hour outside the band costs as much as this many hour x km of travel: balance first
BAND_HOUR_COST_KM = 100_000.0


class OverlaySettingsError(ValueError):
    """A bad ``overlays`` settings section; the message names the key."""


@dataclass(frozen=True)
class RoleModel:
    """The workload one overlay role spends per account."""

    hours_by_segment: dict[str, float]
    industry_factor: dict[str, float] = field(default_factory=dict)
    default_hours: float = 0.0  # a segment the model does not list
    skills: bool = False  # the overlay must hold every required_skill of its AEs' accounts

    def hours(self, segment: pl.Series, industry: pl.Series) -> pl.Series:
        factors = {k.strip().lower(): float(v) for k, v in self.industry_factor.items()}
        base = segment.fill_null("").replace_strict(
            self.hours_by_segment, default=self.default_hours, return_dtype=pl.Float64
        )
        factor = (
            industry.fill_null("")
            .str.strip_chars()
            .str.to_lowercase()
            .replace_strict(factors, default=1.0, return_dtype=pl.Float64)
        )
        return (base * factor).alias("overlay_hours")


@dataclass(frozen=True)
class OverlaySettings:
    """The ``overlays`` section of config/passes.yaml."""

    tolerance: float = 0.25  # band: target x (1 ± tolerance)
    region_level: int = 1  # an AE and an overlay share a region: the same manager at this level
    deterministic_time: float = 5.0  # CP-SAT's deterministic time budget per (role, region)
    roles: dict[str, RoleModel] = field(default_factory=dict)

    @classmethod
    def from_config(cls, raw: Any, key: str = "overlays") -> OverlaySettings:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise OverlaySettingsError(f"{key}: expected a mapping of settings, got {raw!r}")
        known = ("tolerance", "region_level", "deterministic_time", "roles")
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise OverlaySettingsError(
                f"{key}.{unknown[0]}: unknown setting (known: {', '.join(known)})"
            )
        tolerance = _number(f"{key}.tolerance", raw.get("tolerance", 0.25))
        if not 0 <= tolerance < 1:
            raise OverlaySettingsError(f"{key}.tolerance: {tolerance} must be in [0, 1)")
        level = raw.get("region_level", 1)
        if isinstance(level, bool) or not isinstance(level, int) or level < 1:
            raise OverlaySettingsError(f"{key}.region_level: {level!r} is not a level (1 = top)")
        budget = _number(f"{key}.deterministic_time", raw.get("deterministic_time", 5.0))
        if budget <= 0:
            raise OverlaySettingsError(f"{key}.deterministic_time: {budget} must be positive")
        roles_raw = raw.get("roles") or {}
        if not isinstance(roles_raw, Mapping):
            raise OverlaySettingsError(f"{key}.roles: expected role: model pairs")
        roles = {
            str(role): _role_model(f"{key}.roles.{role}", model)
            for role, model in sorted(roles_raw.items())
        }
        return cls(float(tolerance), level, float(budget), roles)


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise OverlaySettingsError(f"{key}: expected a number, got {value!r}")
    return float(value)


def _hours_map(key: str, raw: Any) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise OverlaySettingsError(f"{key}: expected name: number pairs, got {raw!r}")
    out = {str(k): _number(f"{key}.{k}", v) for k, v in raw.items()}
    bad = [k for k, v in out.items() if v < 0]
    if bad:
        raise OverlaySettingsError(f"{key}.{bad[0]}: {out[bad[0]]} must not be negative")
    return out


def _role_model(key: str, raw: Any) -> RoleModel:
    if not isinstance(raw, Mapping):
        raise OverlaySettingsError(f"{key}: expected a workload model, got {raw!r}")
    known = ("hours_by_segment", "industry_factor", "default_hours", "skills")
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise OverlaySettingsError(
            f"{key}.{unknown[0]}: unknown setting (known: {', '.join(known)})"
        )
    if "hours_by_segment" not in raw:
        raise OverlaySettingsError(f"{key}.hours_by_segment: missing")
    skills = raw.get("skills", False)
    if not isinstance(skills, bool):
        raise OverlaySettingsError(f"{key}.skills: expected true or false, got {skills!r}")
    default = _number(f"{key}.default_hours", raw.get("default_hours", 0.0))
    return RoleModel(
        _hours_map(f"{key}.hours_by_segment", raw["hours_by_segment"]),
        _hours_map(f"{key}.industry_factor", raw.get("industry_factor") or {}),
        default,
        skills,
    )


# --- frames -------------------------------------------------------------------------------

POD_SCHEMA: dict[str, pl.DataType] = {
    "role": pl.String(),
    "region_id": pl.String(),
    "account_executive_id": pl.String(),
    "overlay_id": pl.String(),
    "executive_load_hours": pl.Float64(),
    "skill_gap": pl.Boolean(),
}
LOAD_SCHEMA: dict[str, pl.DataType] = {
    "role": pl.String(),
    "region_id": pl.String(),
    "overlay_id": pl.String(),
    "pod_size": pl.Int64(),
    "load_hours": pl.Float64(),
    "target_hours": pl.Float64(),
    "band_low": pl.Float64(),
    "band_high": pl.Float64(),
    "in_band": pl.Boolean(),
    "capacity_hours": pl.Float64(),
    "travel_km": pl.Float64(),  # overlay-hours-weighted mean distance to its pod's accounts
}
GAP_SCHEMA: dict[str, pl.DataType] = {
    "role": pl.String(),
    "region_id": pl.String(),
    "kind": pl.String(),  # no_overlay | skill
    "account_executive_ids": pl.String(),  # ';'-separated
    "load_hours": pl.Float64(),
    "hires_needed": pl.Int64(),
    "detail": pl.String(),
}


@dataclass(frozen=True)
class OverlayPlan:
    pods: pl.DataFrame  # POD_SCHEMA: one row per (role, AE)
    loads: pl.DataFrame  # LOAD_SCHEMA: one row per active overlay rep
    gaps: pl.DataFrame  # GAP_SCHEMA
    statuses: dict[str, str]  # "role/region" -> solver status

    @property
    def out_of_band(self) -> pl.DataFrame:
        return self.loads.filter(~pl.col("in_band"))


def _text(frame: pl.DataFrame, name: str) -> pl.Expr:
    if name in frame.columns:
        return pl.col(name).cast(pl.String).fill_null("")
    return pl.lit("").alias(name)


def account_hours(accounts: pl.DataFrame, settings: OverlaySettings) -> pl.DataFrame:
    """One row per (account, role): the role's hours on the account, with the account's
    owner (``rep_id``), location and required skill."""
    frames = []
    for role, model in settings.roles.items():
        segment = (
            accounts["segment"]
            if "segment" in accounts.columns
            else pl.Series([None] * accounts.height, dtype=pl.String)
        )
        industry = (
            accounts["industry"]
            if "industry" in accounts.columns
            else pl.Series([None] * accounts.height, dtype=pl.String)
        )
        frames.append(
            accounts.select(
                "account_id",
                pl.col("rep_id").cast(pl.String),
                pl.col("latitude").cast(pl.Float64),
                pl.col("longitude").cast(pl.Float64),
                _text(accounts, "required_skill").alias("required_skill"),
            ).with_columns(
                role=pl.lit(role), overlay_hours=model.hours(segment.cast(pl.String), industry)
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={
                "account_id": pl.String,
                "rep_id": pl.String,
                "latitude": pl.Float64,
                "longitude": pl.Float64,
                "required_skill": pl.String,
                "role": pl.String,
                "overlay_hours": pl.Float64,
            }
        )
    return pl.concat(frames)


def _skills(text: str | None) -> set[str]:
    return {s.strip() for s in (text or "").split(";") if s.strip()}


def _active_overlays(overlays: pl.DataFrame, role: str) -> pl.DataFrame:
    active = pl.col("active") if "active" in overlays.columns else pl.lit(True)
    return (
        overlays.filter((pl.col("role") == role) & active.fill_null(False))
        .with_columns(
            pl.col("region_id").cast(pl.String).fill_null(""),
            pl.col("capacity_hours").cast(pl.Float64),
            _text(overlays, "skills").alias("skills"),
        )
        .sort("rep_id")
    )


def _shares(capacity: np.ndarray) -> np.ndarray:
    """Each overlay's share of its region's target: by capacity when every one has some,
    equal otherwise."""
    if len(capacity) == 0:
        return capacity
    if np.all(np.isfinite(capacity)) and np.all(capacity > 0):
        return capacity / capacity.sum()
    return np.full(len(capacity), 1.0 / len(capacity))


def overlay_loads(
    pods: pl.DataFrame,
    accounts: pl.DataFrame,
    overlays: pl.DataFrame,
    settings: OverlaySettings,
) -> pl.DataFrame:
    """Each active overlay's load, target and band on the book ``accounts`` (``account_id,
    rep_id`` = its AE, ``segment, industry``, location), covering the AEs ``pods`` gives it.

    The target follows the book: the region's load of the role over the AEs the pods place in
    it, shared by capacity. Used after planning and by the drift check on a changed book."""
    hours = account_hours(accounts, settings)
    rows: list[dict[str, Any]] = []
    for role in settings.roles:
        mine = _active_overlays(overlays, role)
        if mine.is_empty():
            continue
        role_pods = pods.filter(pl.col("role") == role).select("account_executive_id", "overlay_id")
        book = (
            hours.filter(pl.col("role") == role)
            .join(role_pods, left_on="rep_id", right_on="account_executive_id", how="inner")
            .join(
                mine.select(
                    pl.col("rep_id").alias("overlay_id"),
                    pl.col("latitude").alias("o_lat"),
                    pl.col("longitude").alias("o_lon"),
                ),
                on="overlay_id",
                how="inner",
            )
        )
        km = haversine_km(
            book["o_lat"].to_numpy(),
            book["o_lon"].to_numpy(),
            book["latitude"].to_numpy(),
            book["longitude"].to_numpy(),
        )
        book = book.with_columns(hour_km=pl.Series(km) * pl.col("overlay_hours"))
        per = book.group_by("overlay_id").agg(
            load_hours=pl.col("overlay_hours").sum(), hour_km=pl.col("hour_km").sum()
        )
        size = role_pods.group_by("overlay_id").agg(pod_size=pl.len())
        for region, group in mine.group_by("region_id", maintain_order=True):
            ids = group["rep_id"].to_list()
            cap = group["capacity_hours"].fill_null(float("nan")).to_numpy()
            share = _shares(cap)
            g = (
                pl.DataFrame({"overlay_id": ids})
                .join(per, on="overlay_id", how="left")
                .join(size, on="overlay_id", how="left")
                .with_columns(pl.col("load_hours", "hour_km").fill_null(0.0))
            )
            loads = g["load_hours"].to_numpy()
            total = float(loads.sum())
            for k, overlay in enumerate(ids):
                target = total * float(share[k])
                low, high = target * (1 - settings.tolerance), target * (1 + settings.tolerance)
                load = float(loads[k])
                eps = 1e-6 * max(1.0, target)
                rows.append(
                    {
                        "role": role,
                        "region_id": str(region[0]),
                        "overlay_id": overlay,
                        "pod_size": int(g["pod_size"][k] or 0),
                        "load_hours": load,
                        "target_hours": target,
                        "band_low": low,
                        "band_high": high,
                        "in_band": low - eps <= load <= high + eps,
                        "capacity_hours": float(cap[k]) if np.isfinite(cap[k]) else None,
                        "travel_km": float(g["hour_km"][k]) / load if load > 0 else 0.0,
                    }
                )
    return pl.DataFrame(rows, schema=LOAD_SCHEMA).sort("role", "region_id", "overlay_id")


# --- the model ----------------------------------------------------------------------------


@dataclass
class PodModel:
    model: cp_model.CpModel
    x: dict[tuple[int, int], cp_model.IntVar]  # (overlay k, executive a) -> assigned
    overlay_ids: list[str]
    executive_ids: list[str]
    skill_gap: list[bool]  # per executive: no overlay holds its accounts' skills


def build_pod_model(
    overlay_ids: list[str],
    shares: np.ndarray,
    executive_ids: list[str],
    executive_hours: np.ndarray,
    hour_km: np.ndarray,  # (overlays, executives): travel of that pod member for that overlay
    eligible: np.ndarray,  # (overlays, executives) bool: skills held
    tolerance: float,
) -> PodModel:
    """Every AE to exactly one overlay; cost = hours outside each band (dominant) + travel."""
    model = cp_model.CpModel()
    n_o, n_a = len(overlay_ids), len(executive_ids)
    w = np.rint(executive_hours * LOAD_SCALE).astype(np.int64)
    total = int(w.sum())
    skill_gap = [not bool(eligible[:, a].any()) for a in range(n_a)]
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for a in range(n_a):
        allowed = [k for k in range(n_o) if eligible[k, a] or skill_gap[a]]
        for k in allowed:
            x[k, a] = model.new_bool_var(f"x_{k}_{a}")
        model.add_exactly_one(x[k, a] for k in allowed)
    band_cost = int(round(BAND_HOUR_COST_KM / TRAVEL_KM_UNIT / LOAD_SCALE))
    terms: list[Any] = []
    for k in range(n_o):
        load = sum(int(w[a]) * x[k, a] for a in range(n_a) if (k, a) in x)
        target = total * float(shares[k])
        low = int(math.floor(target * (1 - tolerance)))
        high = int(math.ceil(target * (1 + tolerance)))
        over = model.new_int_var(0, total, f"over_{k}")
        under = model.new_int_var(0, total, f"under_{k}")
        model.add(load - high <= over)
        model.add(low - load <= under)
        terms += [band_cost * over, band_cost * under]
    travel = np.rint(hour_km / TRAVEL_KM_UNIT).astype(np.int64)
    terms += [int(travel[k, a]) * var for (k, a), var in x.items() if travel[k, a]]
    model.minimize(sum(terms))
    return PodModel(model, x, overlay_ids, executive_ids, skill_gap)


def solve_pod_model(
    pm: PodModel, seed: int, deterministic_time: float
) -> tuple[cp_model.CpSolver, int]:
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = deterministic_time
    status = solver.solve(pm.model)
    return solver, status


def read_pods(pm: PodModel, solver: cp_model.CpSolver) -> dict[str, str]:
    """AE -> overlay."""
    out: dict[str, str] = {}
    for (k, a), var in sorted(pm.x.items()):
        if solver.value(var):
            out[pm.executive_ids[a]] = pm.overlay_ids[k]
    return out


def plan_overlays(
    accounts: pl.DataFrame,
    executives: pl.DataFrame,
    overlays: pl.DataFrame,
    settings: OverlaySettings,
    *,
    seed: int = 0,
    region_names: dict[str, str] | None = None,
) -> OverlayPlan:
    """Pods for every overlay role of ``settings`` over the planned book.

    ``accounts``: ``account_id, rep_id`` (its AE in the plan), ``segment, industry,
    required_skill, latitude, longitude``; ``executives``: ``rep_id, region_id`` of the active
    AEs; ``overlays``: ``rep_id, role, region_id, latitude, longitude, capacity_hours, skills,
    active``. ``region_names`` names regions in the gaps' sentences."""
    names = region_names or {}

    def region_text(region_id: str) -> str:
        if not region_id:
            return "(none)"
        name = names.get(region_id)
        return f"{name} ({region_id})" if name else region_id

    hours = account_hours(accounts, settings)
    ae = executives.select(
        pl.col("rep_id").cast(pl.String), pl.col("region_id").cast(pl.String).fill_null("")
    ).sort("rep_id")
    pods: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    statuses: dict[str, str] = {}
    for role in settings.roles:
        mine = _active_overlays(overlays, role)
        role_hours = hours.filter(pl.col("role") == role)
        per_ae = role_hours.group_by("rep_id").agg(
            hours=pl.col("overlay_hours").sum(),
            skills=pl.col("required_skill").filter(pl.col("required_skill") != "").unique(),
        )
        book = ae.join(per_ae, on="rep_id", how="left").with_columns(pl.col("hours").fill_null(0.0))
        median_cap = mine["capacity_hours"].drop_nulls().median() if mine.height else None
        for region, group in book.group_by("region_id", maintain_order=True):
            region_id = str(region[0])
            staff = mine.filter(pl.col("region_id") == region_id)
            ae_ids = group["rep_id"].to_list()
            ae_hours = group["hours"].to_numpy().astype(float)
            if staff.is_empty():
                if mine.is_empty() and not overlays.filter(pl.col("role") == role).height:
                    continue  # the organisation has no such role at all: nothing expected
                load = float(ae_hours.sum())
                hires = max(1, math.ceil(load / float(median_cap))) if median_cap else 1
                gaps.append(
                    {
                        "role": role,
                        "region_id": region_id,
                        "kind": "no_overlay",
                        "account_executive_ids": ";".join(ae_ids),
                        "load_hours": load,
                        "hires_needed": hires,
                        "detail": (
                            f"no active {role} in region {region_text(region_id)}: "
                            f"{len(ae_ids)} account executive(s), {load:,.0f} {role} hours "
                            f"uncovered; about {hires} hire(s) would cover them"
                        ),
                    }
                )
                continue
            o_ids = staff["rep_id"].to_list()
            o_skills = [_skills(s) for s in staff["skills"].to_list()]
            needs = [set(s or []) for s in group["skills"].to_list()]
            model = settings.roles[role]
            eligible = np.array(
                [[(not model.skills) or need <= held for need in needs] for held in o_skills],
                dtype=bool,
            ).reshape(len(o_ids), len(ae_ids))
            hour_km = _pod_travel(role_hours, staff, ae_ids)
            shares = _shares(staff["capacity_hours"].fill_null(float("nan")).to_numpy())
            pm = build_pod_model(
                o_ids, shares, ae_ids, ae_hours, hour_km, eligible, settings.tolerance
            )
            solver, status = solve_pod_model(pm, seed, settings.deterministic_time)
            statuses[f"{role}/{region_id}"] = solver.status_name(status)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                raise RuntimeError(
                    f"overlay pods for {role} in region {region_id}: solver found no "
                    f"assignment ({solver.status_name(status)})"
                )
            chosen = read_pods(pm, solver)
            for a, ae_id in enumerate(ae_ids):
                pods.append(
                    {
                        "role": role,
                        "region_id": region_id,
                        "account_executive_id": ae_id,
                        "overlay_id": chosen[ae_id],
                        "executive_load_hours": float(ae_hours[a]),
                        "skill_gap": pm.skill_gap[a],
                    }
                )
            short = [(ae_ids[a], needs[a]) for a in range(len(ae_ids)) if pm.skill_gap[a]]
            if short:
                named = ", ".join(f"{i} ({';'.join(sorted(n))})" for i, n in short[:5])
                more = f" and {len(short) - 5} more" if len(short) > 5 else ""
                gaps.append(
                    {
                        "role": role,
                        "region_id": region_id,
                        "kind": "skill",
                        "account_executive_ids": ";".join(i for i, _ in short),
                        "load_hours": float(sum(ae_hours[ae_ids.index(i)] for i, _ in short)),
                        "hires_needed": 0,
                        "detail": (
                            f"no {role} in region {region_text(region_id)} holds the skills of "
                            f"{named}{more}: covered by an overlay without them"
                        ),
                    }
                )
    pod_frame = pl.DataFrame(pods, schema=POD_SCHEMA).sort("role", "account_executive_id")
    loads = overlay_loads(pod_frame, accounts, overlays, settings)
    return OverlayPlan(
        pod_frame, loads, pl.DataFrame(gaps, schema=GAP_SCHEMA).sort("role", "region_id"), statuses
    )


def _pod_travel(role_hours: pl.DataFrame, staff: pl.DataFrame, ae_ids: list[str]) -> np.ndarray:
    """(overlays, executives): sum over the AE's accounts of the role's hours x km from the
    overlay's home."""
    index = {a: i for i, a in enumerate(ae_ids)}
    book = role_hours.filter(pl.col("rep_id").is_in(ae_ids))
    col = np.array([index[r] for r in book["rep_id"].to_list()], dtype=np.int64)
    lat, lon = book["latitude"].to_numpy(), book["longitude"].to_numpy()
    h = book["overlay_hours"].to_numpy()
    out = np.zeros((staff.height, len(ae_ids)))
    for k, (olat, olon) in enumerate(
        zip(staff["latitude"].to_list(), staff["longitude"].to_list(), strict=True)
    ):
        km = haversine_km(
            np.full(len(lat), np.nan if olat is None else olat),
            np.full(len(lon), np.nan if olon is None else olon),
            lat,
            lon,
        )
        out[k] = np.bincount(col, weights=km * h, minlength=len(ae_ids))
    return out
