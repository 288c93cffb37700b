"""The gate's settings that apply to every suite: ``config/quality.yaml`` is their one source."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from territory_ops.settings import PROJECT_ROOT

QUALITY_YAML = PROJECT_ROOT / "config" / "quality.yaml"


class QualityConfigError(ValueError):
    """``config/quality.yaml`` is missing a key or holds an impossible value (named)."""


@cache
def quarantine_max_share(path: Path = QUALITY_YAML) -> float:
    """The largest share of a file's rows the gate may quarantine instead of blocking."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise QualityConfigError(f"{path}: not readable: {err}") from None
    value = data.get("quarantine_max_share")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise QualityConfigError(
            f"{path}: quarantine_max_share must be a share in [0, 1), not {value!r}"
        )
    return float(value)
