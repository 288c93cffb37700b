"""Pass settings: ``config/passes.yaml`` is their one source, validated before anything runs.

The dataclasses below say which settings exist and their types; the values, defaults
included, are only in the file, and it must set every one. The same shape (without
``schedule``) is the Dagster run config of the ``territory_plan`` step, generated from these
classes (``pipelines/planning.py``), so a schedule, the sensor, the CLI and the launchpad all
speak one language. Validation names the offending key (``move_budget: 4000 is above the
3000 accounts of the snapshot``).
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from territory_ops.optimize.overlay import OverlaySettings
from territory_ops.planning.holdover import HoldoverPolicy
from territory_ops.settings import PASSES_YAML

PASS_KINDS: tuple[str, ...] = ("full", "micro", "refresh")
# Field metadata: a setting of the deployment that a run cannot override.
NOT_PER_RUN = {"per_run": False}


class PassConfigError(ValueError):
    """A pass setting that is unknown, missing or impossible; the message names the key."""


@dataclass(frozen=True)
class Weights:
    balance_km: float | None
    disruption_km: float | None
    # full passes only, when disruption_km is null: a quarterly redesign moves what the band
    # needs, not every account a few km closer (docs/planning.md, "Full-pass disruption")
    full_disruption_km: float | None


@dataclass(frozen=True)
class DriftThresholds:
    rep_potential_pct: float
    rep_workload_pct: float
    account_potential_pct: float
    potential_cv_target: float
    workload_cv_target: float


@dataclass(frozen=True)
class ScheduleSettings:
    timezone: str
    hour: int
    holiday_country: str  # "" = no public holidays
    extra_holidays: tuple[date, ...]


@dataclass(frozen=True)
class GeographySettings:
    planning_country: str  # ISO code; the geocoder flags addresses elsewhere `foreign`
    foreign_accounts: str  # exclude (left out of the plan, reported) | plan
    unlocated_accounts: str  # hold (unassigned, reported) | plan (no travel cost)


@dataclass(frozen=True)
class CarryOverSettings:
    # an open proposal is carried to the next pass while its account's potential stays within
    # this relative change (0.10 = +-10%) and nothing else it rests on changed
    margin: float


@dataclass(frozen=True)
class RegionSettings:
    # a book with at least this many accounts is split into regions of about
    # ``reps_per_region`` active reps, each solved in its own step (null: never split)
    min_accounts: int | None
    reps_per_region: int


EFFECTIVE_RULES: tuple[str, ...] = ("at_once", "next_month", "next_quarter")


@dataclass(frozen=True)
class EffectiveDateSettings:
    """When an approved change takes effect by default (``plans.proposals.effective_on``)."""

    at_once: tuple[str, ...]  # proposal kinds effective on their pass's snapshot date
    # every other kind, by the pass that proposed it: at_once | next_month | next_quarter
    full: str
    micro: str
    refresh: str

    def rule(self, pass_kind: str, reason_code: str) -> str:
        if reason_code in self.at_once:
            return "at_once"
        return getattr(self, pass_kind) if pass_kind in PASS_KINDS else "at_once"


@dataclass(frozen=True)
class RoutingSettings:
    """Which proposal kinds a named policy approves when a pass publishes."""

    policy: str  # named on the audit log: decided_by "routing policy: <policy>"
    auto_approve: tuple[str, ...]  # the other kinds wait for a manager


@dataclass(frozen=True)
class DecisionSettings:
    """Who decides a proposal, and when an undecided one goes up (planning/rights.py)."""

    # an open proposal nobody decided for this many days goes one level up the manager chain
    # (with a reminder), and again after as many days more; null = never escalated
    escalate_after_days: int | None
    # people who may decide any proposal: e-mails, CRM user ids or Slack user ids
    revops: tuple[str, ...]


GEO_FOREIGN_CHOICES: tuple[str, ...] = ("exclude", "plan")
GEO_UNLOCATED_CHOICES: tuple[str, ...] = ("hold", "plan")


@dataclass(frozen=True)
class PassConfig:
    pass_kind: str
    tolerance: float
    move_budget: int | None
    move_budget_share: float
    weights: Weights
    drift: DriftThresholds
    time_limit: float | None
    seed: int
    schedule: ScheduleSettings = field(metadata=NOT_PER_RUN)
    # a run may plan foreign or unlocated accounts; planning_country is read from the file by
    # the translation that geocodes an export, before any run config exists
    geography: GeographySettings
    carry_over: CarryOverSettings
    regions: RegionSettings
    # who approves what, and from when, is a policy of the deployment, not of one run
    effective_dates: EffectiveDateSettings = field(metadata=NOT_PER_RUN)
    routing: RoutingSettings = field(metadata=NOT_PER_RUN)
    # what a moved account's open deals do (planning/holdover.py): read by write-back and push
    holdovers: HoldoverPolicy = field(metadata=NOT_PER_RUN)
    # decision rights and escalation: a policy of the deployment, read where people decide
    decisions: DecisionSettings = field(metadata=NOT_PER_RUN)
    # overlay pods planned over the account executives' books (optimize/overlay.py): a
    # deployment's roles and workload models, not a run's; a file without the section plans none
    overlays: OverlaySettings = field(default_factory=OverlaySettings, metadata=NOT_PER_RUN)

    def effective_move_budget(self, n_accounts: int) -> int:
        """Moves of accounts whose owner is active that this pass may make (full: all)."""
        if self.pass_kind == "refresh":
            return 0
        if self.pass_kind == "full":
            return n_accounts
        if self.move_budget is not None:
            return self.move_budget
        return int(math.floor(self.move_budget_share * n_accounts))

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["schedule"]["extra_holidays"] = [d.isoformat() for d in self.schedule.extra_holidays]
        out["effective_dates"]["at_once"] = list(self.effective_dates.at_once)
        out["routing"]["auto_approve"] = list(self.routing.auto_approve)
        out["decisions"]["revops"] = list(self.decisions.revops)
        return out


def per_run_fields(cls: type) -> list[Any]:
    """The fields of ``cls`` a run may override (its run config), in declaration order."""
    return [f for f in fields(cls) if f.metadata.get("per_run", True)]


def _number(key: str, value: Any, *, allow_none: bool = False, integer: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PassConfigError(f"{key}: expected a number, got {value!r}")
    if integer and not float(value).is_integer():
        raise PassConfigError(f"{key}: expected a whole number, got {value!r}")
    if not math.isfinite(float(value)):
        raise PassConfigError(f"{key}: expected a finite number, got {value!r}")
    return int(value) if integer else float(value)


def _as_date(key: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PassConfigError(f"{key}: {value!r} is not a date like 2026-12-24") from None


def _coerce(key: str, hint: Any, value: Any) -> Any:
    """``value`` as the declared type ``hint`` of setting ``key`` (YAML gives ints for floats)."""
    args = get_args(hint)
    optional = get_origin(hint) in (Union, types.UnionType) and type(None) in args
    if optional:
        (hint,) = [a for a in args if a is not type(None)]
    if hint in (int, float):
        return _number(key, value, allow_none=optional, integer=hint is int)
    if get_origin(hint) is tuple and get_args(hint)[0] is date:
        return tuple(_as_date(key, v) for v in (value or []))
    if get_origin(hint) is tuple and get_args(hint)[0] is str:
        if isinstance(value, str) or not isinstance(value, list | tuple | type(None)):
            raise PassConfigError(f"{key}: expected a list, got {value!r}")
        return tuple(str(v) for v in (value or []))
    if hint is str:
        return "" if value is None else str(value)
    raise TypeError(f"{key}: no reader for settings of type {hint!r}")  # a new field's type


def _read(cls: type, raw: Any, base: Any | None, prefix: str) -> Any:
    """An instance of ``cls`` from ``raw``: over ``base`` when given, else every key required."""
    where = prefix.rstrip(".")
    if not isinstance(raw, Mapping):
        if prefix:
            raise PassConfigError(f"{where}: expected a mapping of settings, got {raw!r}")
        raise PassConfigError(f"pass settings: expected a mapping, got {raw!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        what = "setting" if prefix else "pass setting"
        raise PassConfigError(
            f"{prefix}{unknown[0]}: unknown {what} (known: {', '.join(sorted(known))})"
        )
    if base is None:
        missing = [
            f.name
            for f in fields(cls)
            if f.name not in raw and f.default is MISSING and f.default_factory is MISSING
        ]
        if missing:
            raise PassConfigError(f"{prefix}{missing[0]}: missing (the file sets every setting)")
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        hint = hints[key]
        reader = getattr(hint, "from_config", None)
        if reader is not None:  # a section that validates itself (holdovers)
            try:
                values[key] = reader(value, f"{prefix}{key}")
            except ValueError as err:  # HoldoverPolicyError, OverlaySettingsError
                raise PassConfigError(str(err)) from None
        elif is_dataclass(hint):
            inner = None if base is None else getattr(base, key)
            if value is None and inner is not None:
                values[key] = inner  # an override's null section keeps the base's
            else:
                values[key] = _read(hint, value, inner, f"{prefix}{key}.")
        else:
            values[key] = _coerce(f"{prefix}{key}", hint, value)
    return cls(**values) if base is None else replace(base, **values)


def merge_pass_config(base: PassConfig, raw: Mapping[str, Any] | None) -> PassConfig:
    """``base`` with the keys of ``raw`` applied; unknown keys and bad types raise."""
    if not raw:
        return base
    return _read(PassConfig, raw, base, "")


def validate_pass_config(config: PassConfig, n_accounts: int | None = None) -> PassConfig:
    """Impossible values raise :class:`PassConfigError` naming the key; returns ``config``."""
    problems = _problems(config, n_accounts)
    if problems:
        raise PassConfigError("; ".join(problems))
    return config


def _problems(c: PassConfig, n_accounts: int | None) -> list[str]:
    out = []
    if c.pass_kind not in PASS_KINDS:
        out.append(f"pass_kind: {c.pass_kind!r} is not one of {', '.join(PASS_KINDS)}")
    if not 0 <= c.tolerance < 1:
        out.append(f"tolerance: {c.tolerance} must be at least 0 and below 1")
    if c.move_budget is not None and c.move_budget < 0:
        out.append(f"move_budget: {c.move_budget} must not be negative")
    if c.move_budget is not None and n_accounts is not None and c.move_budget > n_accounts:
        out.append(
            f"move_budget: {c.move_budget} is above the {n_accounts} accounts of the snapshot"
        )
    if not 0 <= c.move_budget_share <= 1:
        out.append(f"move_budget_share: {c.move_budget_share} must lie in [0, 1]")
    if c.time_limit is not None and c.time_limit <= 0:
        out.append(f"time_limit: {c.time_limit} must be positive (null = fitting default)")
    if c.seed < 0:
        out.append(f"seed: {c.seed} must not be negative")
    for name in ("balance_km", "disruption_km", "full_disruption_km"):
        value = getattr(c.weights, name)
        if value is not None and value < 0:
            out.append(f"weights.{name}: {value} must not be negative")
    for name in ("rep_potential_pct", "rep_workload_pct", "account_potential_pct"):
        if getattr(c.drift, name) <= 0:
            out.append(f"drift.{name}: {getattr(c.drift, name)} must be positive")
    for name in ("potential_cv_target", "workload_cv_target"):
        if getattr(c.drift, name) < 0:
            out.append(f"drift.{name}: {getattr(c.drift, name)} must not be negative")
    if not 0 <= c.schedule.hour <= 23:
        out.append(f"schedule.hour: {c.schedule.hour} must lie in 0..23")
    out += _timezone_problems(c.schedule.timezone)
    out += _geography_problems(c.geography)
    out += _loop_problems(c)
    return out


def _loop_problems(c: PassConfig) -> list[str]:
    """Carry-over, effective-date and routing settings: kinds and rules must be known ones."""
    from territory_ops.planning.kinds import PROPOSAL_KINDS

    out = []
    if c.regions.min_accounts is not None and c.regions.min_accounts < 1:
        out.append(f"regions.min_accounts: {c.regions.min_accounts} must be at least 1 or null")
    if c.regions.reps_per_region < 2:
        out.append(f"regions.reps_per_region: {c.regions.reps_per_region} must be at least 2")
    if not 0 <= c.carry_over.margin < 1:
        out.append(f"carry_over.margin: {c.carry_over.margin} must be at least 0 and below 1")
    kinds = ", ".join(PROPOSAL_KINDS)
    for key, listed in (
        ("effective_dates.at_once", c.effective_dates.at_once),
        ("routing.auto_approve", c.routing.auto_approve),
    ):
        out += [
            f"{key}: {k!r} is not a proposal kind ({kinds})"
            for k in listed
            if k not in PROPOSAL_KINDS
        ]
    for kind in PASS_KINDS:
        rule = getattr(c.effective_dates, kind)
        if rule not in EFFECTIVE_RULES:
            out.append(
                f"effective_dates.{kind}: {rule!r} is not one of {', '.join(EFFECTIVE_RULES)}"
            )
    if not c.routing.policy.strip():
        out.append("routing.policy: needs a name (it signs the policy's approvals)")
    days = c.decisions.escalate_after_days
    if days is not None and days < 1:
        out.append(f"decisions.escalate_after_days: {days} must be at least 1 (null = never)")
    out += [
        f"decisions.revops: {who!r} is blank; name an e-mail, user id or Slack id"
        for who in c.decisions.revops
        if not who.strip()
    ]
    return out


def _geography_problems(g: GeographySettings) -> list[str]:
    from territory_ops.geocode import country_code

    out = []
    if country_code(g.planning_country) != g.planning_country:
        out.append(f"geography.planning_country: {g.planning_country!r} is not an ISO country code")
    if g.foreign_accounts not in GEO_FOREIGN_CHOICES:
        out.append(
            f"geography.foreign_accounts: {g.foreign_accounts!r} is not one of "
            + ", ".join(GEO_FOREIGN_CHOICES)
        )
    if g.unlocated_accounts not in GEO_UNLOCATED_CHOICES:
        out.append(
            f"geography.unlocated_accounts: {g.unlocated_accounts!r} is not one of "
            + ", ".join(GEO_UNLOCATED_CHOICES)
        )
    return out


def _timezone_problems(name: str) -> list[str]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"schedule.timezone: {name!r} is not an IANA time zone (e.g. America/New_York)"]
    return []


def load_pass_config(
    path: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> PassConfig:
    """The committed settings (``config/passes.yaml``) with ``overrides``, validated.

    Read on every call: a schedule tick sees an edited file without a redeploy.
    """
    config = merge_pass_config(_read_file(path or PASSES_YAML), overrides)
    return validate_pass_config(config)


def _read_file(path: Path) -> PassConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise PassConfigError(f"{path}: pass settings file not found") from None
    except yaml.YAMLError as err:
        raise PassConfigError(f"{path}: not valid YAML ({err})") from None
    try:
        return _read(PassConfig, raw, None, "")
    except PassConfigError as err:
        raise PassConfigError(f"{path}: {err}") from None
