"""The error every extract problem is raised as: it names the file, the column and the fix."""

from __future__ import annotations

from pathlib import Path


class ExtractError(Exception):
    """An extract that cannot be landed. The message names the file and what is wrong."""

    def __init__(self, path: Path | str, problem: str, *, column: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.column = column
        where = f"{self.path}" + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {problem}")
