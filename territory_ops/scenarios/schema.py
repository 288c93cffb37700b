"""Scenario files: YAML with a fixed schema (docs/scenarios.md), read with line numbers.

A scenario is a list of *changes* applied in file order to the latest canonical tables
(:mod:`.apply`), plus solver settings. Every problem is a :class:`ScenarioError` naming the
file, the line, the key and the reason, so a sales-ops analyst can fix the file without
reading Python. Lines come from PyYAML's composed node marks (``yaml.compose``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# top-level keys, in the order they are documented
SETTING_KEYS = ("name", "description", "mode", "time_limit", "seed")
CHANGE_KEYS = (
    "add_reps",
    "remove_reps",
    "target_weights",
    "tolerance",
    "objective_weights",
    "move_budget",
    "coverage",
    "vertical",
)
ADD_REP_KEYS = ("count", "at", "segments", "skills", "capacity_hours", "target_weight")
OBJECTIVE_KEYS = ("travel", "disruption_km", "balance_km", "skill_match_km")
MOVE_BUDGET_KEYS = ("share", "moves")
COVERAGE_KEYS = ("model", "top_share")
COVERAGE_MODELS = ("geographic", "named", "hybrid")
HYBRID_TOP_SHARE = 0.20  # the seeds' recommendation: named accounts for the top 20%
VERTICAL_KEYS = ("industry", "potential_factor", "accounts_file")
MOST_POTENTIAL = "most_potential"


class ScenarioError(ValueError):
    """A scenario that cannot run: ``file:line: key: reason``."""

    def __init__(self, file: str, line: int | None, key: str, reason: str) -> None:
        self.file, self.line, self.key, self.reason = file, line, key, reason
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {reason}")


@dataclass(frozen=True)
class Change:
    """One change of a scenario: its top-level key, the parsed value and where it was written."""

    key: str
    value: Any
    line: int
    # line of each nested key/item, by dotted path ("add_reps[0].at"), for precise errors
    lines: dict[str, int] = field(default_factory=dict, compare=False)

    def line_of(self, path: str) -> int:
        return _nearest_line(path, self.lines) or self.line


@dataclass(frozen=True)
class Scenario:
    file: str
    name: str
    description: str
    mode: str  # "full" | "micro" (a move budget implies micro)
    time_limit: float | None
    seed: int
    changes: tuple[Change, ...]

    def error(self, change: Change | None, path: str, reason: str) -> ScenarioError:
        line = change.line_of(path) if change else None
        return ScenarioError(self.file, line, path, reason)


# --- reading with line numbers --------------------------------------------------------------


_SCALARS = yaml.SafeLoader("")  # only its scalar constructors are used


def _plain(node: yaml.Node, path: str, lines: dict[str, int]) -> Any:
    """Python value of a composed node, recording the 1-based line of every nested path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = f"{path}.{key}" if path else key
            out[key] = _plain(value_node, sub, lines)
            lines[sub] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, f"{path}[{i}]", lines) for i, item in enumerate(node.value)]
    return _SCALARS.construct_object(node, deep=True)


def _compose(text: str, file: str) -> tuple[Any, dict[str, int]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ScenarioError(file, line, "(file)", f"not valid YAML: {err}") from None
    lines: dict[str, int] = {}
    if root is None:
        raise ScenarioError(file, 1, "(file)", "the file is empty")
    return _plain(root, "", lines), lines


def read_scenario(path: str | Path) -> Scenario:
    """Parse and check the shape of a scenario file (values against the data: :mod:`.apply`)."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError(file, None, "(file)", f"cannot read: {err.strerror}") from None
    return parse_scenario(text, file, default_name=Path(path).stem)


def parse_scenario(text: str, file: str, default_name: str = "scenario") -> Scenario:
    raw, lines = _compose(text, file)
    if not isinstance(raw, dict):
        raise ScenarioError(
            file, 1, "(file)", "a scenario is a mapping of keys (name:, add_reps:, ...)"
        )
    known = (*SETTING_KEYS, *CHANGE_KEYS)
    for key in raw:
        if key not in known:
            raise ScenarioError(
                file, lines.get(key), key, f"unknown key; known keys: {', '.join(known)}"
            )
    err = _checker(file, lines)
    mode = raw.get("mode", "full")
    if mode not in ("full", "micro"):
        raise err("mode", f"must be full or micro, got {mode!r}")
    time_limit = raw.get("time_limit")
    if time_limit is not None and (not _is_number(time_limit) or time_limit <= 0):
        raise err("time_limit", f"must be a positive number of seconds, got {time_limit!r}")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise err("seed", f"must be an integer, got {seed!r}")
    changes = []
    for key, value in raw.items():
        if key in CHANGE_KEYS:
            _CHECKS[key](value, key, err)
            sub = {
                p: n for p, n in lines.items() if p == key or p.startswith((f"{key}.", f"{key}["))
            }
            changes.append(Change(key, value, lines[key], sub))
    if "move_budget" in raw and "mode" not in raw:
        mode = "micro"  # a move budget only binds the micro pass
    if "move_budget" in raw and mode == "full":
        raise err("move_budget", "a move budget needs mode: micro (the full pass moves freely)")
    name = raw.get("name", default_name)
    return Scenario(
        file=file,
        name=str(name),
        description=str(raw.get("description", "")),
        mode=mode,
        time_limit=float(time_limit) if time_limit is not None else None,
        seed=seed,
        changes=tuple(changes),
    )


# --- shape checks per key -------------------------------------------------------------------


def _nearest_line(path: str, lines: dict[str, int]) -> int | None:
    """Line of ``path``, or of its nearest parent that was written (a missing key)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get(path)


def _checker(file: str, lines: dict[str, int]):
    def err(path: str, reason: str) -> ScenarioError:
        return ScenarioError(file, _nearest_line(path, lines), path, reason)

    return err


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unknown(value: dict, allowed: tuple[str, ...], path: str, err) -> None:
    for key in value:
        if key not in allowed:
            raise err(f"{path}.{key}", f"unknown key; known keys: {', '.join(allowed)}")


def _text_list(value: Any, path: str, err) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise err(path, f"must be a list of names, got {value!r}")


def _check_add_reps(value: Any, key: str, err) -> None:
    if not isinstance(value, list) or not value:
        raise err(key, "must be a list of hires, e.g. - {count: 2, at: suggested}")
    for i, item in enumerate(value):
        path = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise err(path, f"each hire is a mapping (count, at, segments, ...), got {item!r}")
        _unknown(item, ADD_REP_KEYS, path, err)
        count = item.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise err(f"{path}.count", f"must be a whole number >= 1, got {count!r}")
        at = item.get("at")
        if at is None:
            raise err(
                path, "needs at: suggested, or at: {city: .., state: ..} / {latitude, longitude}"
            )
        if at != "suggested":
            if not isinstance(at, dict):
                raise err(f"{path}.at", f"must be 'suggested' or a place mapping, got {at!r}")
            _unknown(at, ("city", "state", "latitude", "longitude"), f"{path}.at", err)
            if not ({"city", "state"} <= at.keys() or {"latitude", "longitude"} <= at.keys()):
                raise err(f"{path}.at", "give city and state, or latitude and longitude")
            if "segments" not in item:
                raise err(path, "a hire at a given place needs segments: [..]")
        elif {"segments", "skills"} & item.keys():
            raise err(path, "at: suggested takes segment and skills from the hiring plan")
        if "segments" in item and not _text_list(item["segments"], f"{path}.segments", err):
            raise err(f"{path}.segments", "name at least one segment")
        if "skills" in item:
            _text_list(item["skills"], f"{path}.skills", err)
        for num in ("capacity_hours", "target_weight"):
            if num in item and (not _is_number(item[num]) or item[num] <= 0):
                raise err(f"{path}.{num}", f"must be a positive number, got {item[num]!r}")


def _check_remove_reps(value: Any, key: str, err) -> None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise err(key, f"must be a list of rep ids (or {MOST_POTENTIAL}), got {value!r}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise err(f"{key}[{i}]", f"must be a rep id or {MOST_POTENTIAL}, got {item!r}")


def _check_target_weights(value: Any, key: str, err) -> None:
    if not isinstance(value, dict) or not value:
        raise err(key, "must map rep ids to weights, e.g. {R0001: 1.2}")
    for rep, weight in value.items():
        if not _is_number(weight) or weight <= 0:
            raise err(f"{key}.{rep}", f"a target weight must be > 0, got {weight!r}")


def _check_tolerance(value: Any, key: str, err) -> None:
    if not _is_number(value) or not 0 < value < 1:
        raise err(key, f"must be a share between 0 and 1 (0.05 = ±5%), got {value!r}")


def _check_objective(value: Any, key: str, err) -> None:
    if not isinstance(value, dict) or not value:
        raise err(key, f"must map some of {', '.join(OBJECTIVE_KEYS)} to numbers")
    _unknown(value, OBJECTIVE_KEYS, key, err)
    for name, weight in value.items():
        if not _is_number(weight) or weight < 0:
            raise err(f"{key}.{name}", f"must be a number >= 0, got {weight!r}")


def _check_move_budget(value: Any, key: str, err) -> None:
    if not isinstance(value, dict) or len(value) != 1:
        raise err(key, "give exactly one of share: 0.01 (of accounts) or moves: 500")
    _unknown(value, MOVE_BUDGET_KEYS, key, err)
    if "share" in value and (not _is_number(value["share"]) or not 0 <= value["share"] <= 1):
        raise err(f"{key}.share", f"must be between 0 and 1, got {value['share']!r}")
    if "moves" in value and (
        not isinstance(value["moves"], int)
        or isinstance(value["moves"], bool)
        or value["moves"] < 0
    ):
        raise err(f"{key}.moves", f"must be a whole number >= 0, got {value['moves']!r}")


def _check_coverage(value: Any, key: str, err) -> None:
    if not isinstance(value, dict):
        raise err(key, f"must be a mapping with model: {' | '.join(COVERAGE_MODELS)}")
    _unknown(value, COVERAGE_KEYS, key, err)
    model = value.get("model")
    if model not in COVERAGE_MODELS:
        raise err(f"{key}.model", f"must be one of {', '.join(COVERAGE_MODELS)}, got {model!r}")
    share = value.get("top_share")
    if model == "named" and share is None:
        raise err(key, "named accounts need top_share: (e.g. 0.1 = the top 10% by potential)")
    if model == "geographic" and share is not None:
        raise err(f"{key}.top_share", "the geographic model has no named accounts")
    if share is not None and (not _is_number(share) or not 0 < share <= 1):
        raise err(f"{key}.top_share", f"must be a share in (0, 1], got {share!r}")


def _check_vertical(value: Any, key: str, err) -> None:
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        path = f"{key}[{i}]" if isinstance(value, list) else key
        if not isinstance(item, dict):
            raise err(path, "must be {industry: X, potential_factor: k} or {accounts_file: F}")
        _unknown(item, VERTICAL_KEYS, path, err)
        if "accounts_file" in item:
            if {"industry", "potential_factor"} & item.keys():
                raise err(path, "accounts_file stands alone (new accounts bring their industry)")
            if not isinstance(item["accounts_file"], str):
                raise err(f"{path}.accounts_file", "must be a file path")
            continue
        if not isinstance(item.get("industry"), str):
            raise err(path, "needs industry: <name> (or accounts_file:)")
        k = item.get("potential_factor")
        if not _is_number(k) or k < 0:
            raise err(f"{path}.potential_factor", f"must be a number >= 0, got {k!r}")


_CHECKS = {
    "add_reps": _check_add_reps,
    "remove_reps": _check_remove_reps,
    "target_weights": _check_target_weights,
    "tolerance": _check_tolerance,
    "objective_weights": _check_objective,
    "move_budget": _check_move_budget,
    "coverage": _check_coverage,
    "vertical": _check_vertical,
}
