"""The manager chain as a tree: levels, teams, roll-up nodes and lowest common managers.

Level 1 is the top of the organisation (a VP, or a regional director where there is no VP
above), level 2 reports to level 1, and so on; a rep's first-line manager is its direct
manager. A broken chain — a manager who is not in the roster, or a cycle — is reported by
:meth:`OrgChart.problems` (the quality gate stops on it, naming the users) and never loops: a
chain stops where it breaks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from territory_ops.org.roles import ACCOUNT_EXECUTIVE, is_overlay


@dataclass(frozen=True)
class OrgNode:
    user_id: str
    name: str | None = None
    email: str | None = None
    manager_id: str | None = None
    role: str | None = None
    active: bool = True
    slack_user_id: str | None = None
    title: str | None = None  # the CRM's job title, e.g. "Regional Sales Director, West"

    @property
    def label(self) -> str:
        return self.name or self.email or self.user_id


@dataclass(frozen=True)
class OrgProblem:
    kind: Literal["cycle", "unknown_manager"]
    user_ids: tuple[str, ...]
    message: str


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _flag(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes", "t")


class OrgChart:
    """Who reports to whom. Build it with :meth:`from_rows` / :meth:`from_frame`."""

    def __init__(self, nodes: Iterable[OrgNode]) -> None:
        self._nodes: dict[str, OrgNode] = {}
        for node in nodes:
            if node.user_id in self._nodes:
                raise ValueError(f"user {node.user_id} appears twice in the roster")
            self._nodes[node.user_id] = node
        children: dict[str, list[str]] = {}
        for node in self._nodes.values():
            if node.manager_id is not None and node.manager_id in self._nodes:
                children.setdefault(node.manager_id, []).append(node.user_id)
        self._children = {k: tuple(sorted(v)) for k, v in children.items()}
        self._by_email = {
            n.email.lower(): n.user_id for n in self._nodes.values() if n.email is not None
        }
        self._cycles = self._find_cycles()
        self._in_cycle = {u for cycle in self._cycles for u in cycle}
        self._chains: dict[str, tuple[str, ...]] = {}

    # --- construction -------------------------------------------------------------------
    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> OrgChart:
        """Rows with ``user_id`` (or ``rep_id``), ``manager_id`` and optionally ``user_name``
        / ``name``, ``email``, ``sales_role`` / ``role``, ``is_active`` / ``active``,
        ``slack_user_id``, ``title``."""
        nodes = []
        for row in rows:
            user_id = _text(row.get("user_id", row.get("rep_id")))
            if user_id is None:
                raise ValueError(f"a roster row has no user id: {dict(row)}")
            nodes.append(
                OrgNode(
                    user_id=user_id,
                    name=_text(row.get("user_name", row.get("name", row.get("rep_name")))),
                    email=_text(row.get("email")),
                    manager_id=_text(row.get("manager_id")),
                    role=(_text(row.get("sales_role", row.get("role"))) or "").lower() or None,
                    active=_flag(row.get("is_active", row.get("active"))),
                    slack_user_id=_text(row.get("slack_user_id")),
                    title=_text(row.get("title")),
                )
            )
        return cls(nodes)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> OrgChart:
        return cls.from_rows(frame.to_dicts())

    # --- lookups ------------------------------------------------------------------------
    def __contains__(self, user_id: object) -> bool:
        return user_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    @property
    def user_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._nodes))

    def node(self, user_id: str) -> OrgNode:
        return self._nodes[user_id]

    def find(self, key: str) -> OrgNode | None:
        """A user by id or e-mail (case-insensitive)."""
        key = key.strip()
        if key in self._nodes:
            return self._nodes[key]
        user_id = self._by_email.get(key.lower())
        return self._nodes[user_id] if user_id is not None else None

    def manager_of(self, user_id: str) -> str | None:
        """The direct manager, when that manager is in the roster."""
        node = self._nodes.get(user_id)
        if node is None or node.manager_id is None or node.manager_id not in self._nodes:
            return None
        return node.manager_id

    def reports(self, user_id: str) -> tuple[str, ...]:
        """Direct reports, sorted by id."""
        return self._children.get(user_id, ())

    # --- the chain ----------------------------------------------------------------------
    def chain(self, user_id: str) -> tuple[str, ...]:
        """Managers above a user, nearest first, up to the top (or to where the chain breaks)."""
        cached = self._chains.get(user_id)
        if cached is not None:
            return cached
        seen = {user_id}
        out: list[str] = []
        current = self.manager_of(user_id)
        while current is not None and current not in seen:
            out.append(current)
            seen.add(current)
            current = self.manager_of(current)
        result = tuple(out)
        self._chains[user_id] = result
        return result

    def level(self, user_id: str) -> int:
        """1 at the top of the organisation, 2 for its direct reports, and so on."""
        return len(self.chain(user_id)) + 1

    def ancestor_at(self, user_id: str, level: int) -> str | None:
        """The user's manager (or the user itself) at ``level``; None when the user sits
        above it."""
        if level < 1:
            raise ValueError(f"levels start at 1 (the top), not {level}")
        path = (user_id, *self.chain(user_id))  # the user first, the top last
        depth = len(path)  # the user's own level
        if level > depth:
            return None
        return path[depth - level]

    def top_of(self, user_id: str) -> str:
        """The top-level node above a user: the region (or organisation) it rolls up to."""
        chain = self.chain(user_id)
        return chain[-1] if chain else user_id

    def roots(self) -> tuple[str, ...]:
        """Users without a manager in the roster: the tops of the organisation."""
        return tuple(u for u in sorted(self._nodes) if self.manager_of(u) is None)

    def under(self, user_id: str) -> tuple[str, ...]:
        """Everyone below a user, at any depth, sorted by id (not the user itself)."""
        out: set[str] = set()
        stack = list(self.reports(user_id))
        while stack:
            current = stack.pop()
            if current in out or current == user_id:
                continue
            out.add(current)
            stack.extend(self.reports(current))
        return tuple(sorted(out))

    def is_under(self, user_id: str, manager_id: str) -> bool:
        return manager_id in self.chain(user_id)

    def lowest_common_manager(self, a: str, b: str) -> str | None:
        """The lowest node that both ``a`` and ``b`` are (or roll up to), e.g. the director
        over two first-line managers; ``a`` itself when ``b`` is under ``a``. None when they
        share no one (two separate organisations, or a broken chain)."""
        above_b = {b, *self.chain(b)}
        for node in (a, *self.chain(a)):
            if node in above_b:
                return node
        return None

    # --- roles --------------------------------------------------------------------------
    def account_executives(self) -> tuple[str, ...]:
        return tuple(u for u in sorted(self._nodes) if self._nodes[u].role == ACCOUNT_EXECUTIVE)

    def overlays(self) -> tuple[str, ...]:
        return tuple(u for u in sorted(self._nodes) if is_overlay(self._nodes[u].role))

    def first_line_managers(self) -> tuple[str, ...]:
        """Managers with at least one account executive or overlay rep reporting directly."""
        return tuple(
            m
            for m in sorted(self._children)
            if any(
                self._nodes[r].role == ACCOUNT_EXECUTIVE or is_overlay(self._nodes[r].role)
                for r in self._children[m]
            )
        )

    def managers_at_level(self, level: int) -> tuple[str, ...]:
        return tuple(m for m in sorted(self._children) if self.level(m) == level)

    # --- problems -----------------------------------------------------------------------
    def _find_cycles(self) -> list[tuple[str, ...]]:
        state: dict[str, int] = {}  # 1 = on the current walk, 2 = done
        cycles: list[tuple[str, ...]] = []
        for start in sorted(self._nodes):
            walk: list[str] = []
            current: str | None = start
            while current is not None and state.get(current) is None:
                state[current] = 1
                walk.append(current)
                current = self.manager_of(current)
            if current is not None and state.get(current) == 1:
                cycle = walk[walk.index(current) :]
                first = min(range(len(cycle)), key=lambda i: cycle[i])
                cycles.append(tuple(cycle[first:] + cycle[:first]))
            for node in walk:
                state[node] = 2
        return sorted(cycles)

    def problems(self) -> tuple[OrgProblem, ...]:
        """Broken manager chains, each naming the users: a cycle, or a manager who is not in
        the roster."""
        out: list[OrgProblem] = []
        for cycle in self._cycles:
            names = " → ".join(f"{self._nodes[u].label} ({u})" for u in (*cycle, cycle[0]))
            out.append(OrgProblem("cycle", cycle, f"the manager chain loops: {names}"))
        missing: dict[str, list[str]] = {}
        for node in self._nodes.values():
            if node.manager_id is not None and node.manager_id not in self._nodes:
                missing.setdefault(node.manager_id, []).append(node.user_id)
        for manager_id in sorted(missing):
            users = tuple(sorted(missing[manager_id]))
            named = ", ".join(f"{self._nodes[u].label} ({u})" for u in users[:5])
            more = f" and {len(users) - 5} more" if len(users) > 5 else ""
            out.append(
                OrgProblem(
                    "unknown_manager",
                    (manager_id, *users),
                    f"manager {manager_id} is not in the roster, named by {named}{more}",
                )
            )
        return tuple(out)

    def in_cycle(self, user_id: str) -> bool:
        return user_id in self._in_cycle
