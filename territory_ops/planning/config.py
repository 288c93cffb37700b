"""Pass settings: defaults from ``config/passes.yaml``, validated before anything runs.

The same dictionary shape is the Dagster run config of the ``territory_plan`` step, so a
schedule, the sensor, the CLI and the launchpad all speak one language. Validation names the
offending key (``move_budget: 4000 is above the 3000 accounts of the snapshot``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from territory_ops.settings import PROJECT_ROOT

PASSES_YAML = PROJECT_ROOT / "config" / "passes.yaml"
PASS_KINDS: tuple[str, ...] = ("full", "micro", "refresh")


class PassConfigError(ValueError):
    """A pass setting that is unknown or impossible; the message names the key."""


@dataclass(frozen=True)
class Weights:
    balance_km: float | None = None
    disruption_km: float | None = None
    # full passes only, when disruption_km is null: a quarterly redesign moves what the band
    # needs, not every account a few km closer (docs/planning.md, "Full-pass disruption")
    full_disruption_km: float | None = 3000.0


@dataclass(frozen=True)
class DriftThresholds:
    rep_potential_pct: float = 0.10
    rep_workload_pct: float = 1.00
    account_potential_pct: float = 0.25
    potential_cv_target: float = 0.10
    workload_cv_target: float = 0.15


@dataclass(frozen=True)
class ScheduleSettings:
    timezone: str = "America/New_York"
    hour: int = 6
    holiday_country: str = "US"
    extra_holidays: tuple[date, ...] = ()


@dataclass(frozen=True)
class PassConfig:
    pass_kind: str = "micro"
    tolerance: float = 0.10
    move_budget: int | None = None
    move_budget_share: float = 0.01
    weights: Weights = field(default_factory=Weights)
    drift: DriftThresholds = field(default_factory=DriftThresholds)
    time_limit: float | None = None
    seed: int = 0
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)

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
        return out

    def run_config_values(self) -> dict[str, Any]:
        """The keys a run may override (everything but the schedule's own settings)."""
        out = self.as_dict()
        out.pop("schedule")
        return out


_SECTIONS = {"weights": Weights, "drift": DriftThresholds, "schedule": ScheduleSettings}


def _known(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def _reject_unknown(raw: Mapping[str, Any], cls: type, prefix: str, what: str) -> None:
    """Name the first key ``cls`` does not know, with the keys it does."""
    unknown = sorted(set(raw) - _known(cls))
    if unknown:
        known = ", ".join(sorted(_known(cls)))
        raise PassConfigError(f"{prefix}{unknown[0]}: unknown {what} (known: {known})")


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


def _section(name: str, raw: Any, base: Any) -> Any:
    cls = _SECTIONS[name]
    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        raise PassConfigError(f"{name}: expected a mapping of settings, got {raw!r}")
    _reject_unknown(raw, cls, f"{name}.", "setting")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{name}.{key}"
        if name == "weights":
            values[key] = _number(where, value, allow_none=True)
        elif name == "drift":
            values[key] = _number(where, value)
        elif key == "hour":
            values[key] = _number(where, value, integer=True)
        elif key == "extra_holidays":
            values[key] = tuple(_as_date(where, v) for v in (value or []))
        else:
            values[key] = "" if value is None else str(value)
    return replace(base, **values)


def _as_date(key: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PassConfigError(f"{key}: {value!r} is not a date like 2026-12-24") from None


def merge_pass_config(base: PassConfig, raw: Mapping[str, Any] | None) -> PassConfig:
    """``base`` with the keys of ``raw`` applied; unknown keys and bad types raise."""
    if not raw:
        return base
    if not isinstance(raw, Mapping):
        raise PassConfigError(f"pass settings: expected a mapping, got {raw!r}")
    _reject_unknown(raw, PassConfig, "", "pass setting")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECTIONS:
            values[key] = _section(key, value, getattr(base, key))
        elif key == "pass_kind":
            values[key] = str(value)
        elif key in ("move_budget", "seed"):
            values[key] = _number(key, value, allow_none=key == "move_budget", integer=True)
        elif key == "time_limit":
            values[key] = _number(key, value, allow_none=True)
        else:
            values[key] = _number(key, value)
    return replace(base, **values)


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
    """The committed defaults (``config/passes.yaml``) with ``overrides``, validated."""
    path = path or PASSES_YAML
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise PassConfigError(f"{path}: pass settings file not found") from None
    except yaml.YAMLError as err:
        raise PassConfigError(f"{path}: not valid YAML ({err})") from None
    try:
        config = merge_pass_config(PassConfig(), raw)
    except PassConfigError as err:
        raise PassConfigError(f"{path}: {err}") from None
    config = merge_pass_config(config, overrides)
    return validate_pass_config(config)
