"""Mapping problems: each names the mapping file, its line and the column."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from territory_ops.extracts.errors import ExtractError


@dataclass(frozen=True)
class MappingProblem:
    line: int
    column: str | None
    problem: str

    def render(self, path: Path) -> str:
        where = f"{path}, line {self.line}" + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.problem}"


class MappingError(ExtractError):
    """A mapping that cannot be applied; every problem names the file, its line and the column.

    An ``ExtractError``, so the ingest assets report it (and alert) like a bad extract file.
    """

    def __init__(self, path: Path, problems: list[MappingProblem]) -> None:
        first = problems[0]
        problem = "; ".join(f"line {p.line}: {p.problem}" for p in problems)
        super().__init__(path, problem, column=first.column)
        self.problems = problems
        lines = [p.render(self.path) for p in problems]
        Exception.__init__(self, lines[0] if len(lines) == 1 else "\n".join(lines))
