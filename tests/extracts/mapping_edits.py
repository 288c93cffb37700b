"""Mapping tests edit a committed mapping in one place and expect the problem on that line."""

from __future__ import annotations

from pathlib import Path

import pytest

from territory_ops.extracts.mapping import MappingError, check_mapping


def edited(mapping: Path, tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of ``mapping`` with one edit, and the 1-based line where the edit starts."""
    text = mapping.read_text()
    assert old in text, old
    changed = text.replace(old, new, 1)
    line = changed[: changed.index(new)].count("\n") + 1
    path = tmp_path / "edited.yaml"
    path.write_text(changed)
    return path, line


def mapping_error(path: Path, export: Path) -> MappingError:
    """The error checking ``path`` against ``export`` must raise."""
    with pytest.raises(MappingError) as info:
        check_mapping(path, export)
    return info.value
