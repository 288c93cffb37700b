"""Scenario files: every bad-file kind names the file, the line, the key and the reason; the
examples shipped in scenarios/ parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from territory_ops.scenarios.schema import ScenarioError, parse_scenario, read_scenario

EXAMPLES = sorted((Path(__file__).parents[2] / "scenarios").glob("*.yaml"))


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "key", "reason"),
    [
        ("name: x\ncolour: red\n", 2, "colour", "unknown key"),
        (
            "name: x\nadd_reps:\n  - count: 2\n    at: suggested\n    wage: 3\n",
            5,
            "add_reps[0].wage",
            "unknown key",
        ),
        ("name: x\nadd_reps:\n  - count: 0\n    at: suggested\n", 3, "add_reps[0].count", ">= 1"),
        (
            "add_reps:\n  - count: 1\n    at: {city: Denver, state: CO}\n",
            2,
            "add_reps[0]",
            "segments",
        ),
        ("tolerance: 5\n", 1, "tolerance", "between 0 and 1"),
        (
            "objective_weights:\n  travel: 1\n  balance: 3\n",
            3,
            "objective_weights.balance",
            "unknown key",
        ),
        ("move_budget: {share: 0.01}\nmode: full\n", 1, "move_budget", "mode: micro"),
        ("coverage:\n  model: territorial\n", 2, "coverage.model", "geographic, named, hybrid"),
        ("coverage: {model: named}\n", 1, "coverage", "top_share"),
        (
            "vertical:\n  industry: Health\n  potential_factor: -1\n",
            3,
            "vertical.potential_factor",
            ">= 0",
        ),
        ("name: x\n  bad: [\n", 2, "(file)", "not valid YAML"),
    ],
)
def test_bad_shapes_name_file_line_key_and_reason(
    text: str, line: int, key: str, reason: str
) -> None:
    err = _error(text)
    assert (err.file, err.line, err.key) == ("s.yaml", line, key)
    assert reason in err.reason
    assert str(err).startswith(f"s.yaml:{line}: {key}: ")


def test_a_move_budget_implies_a_micro_pass() -> None:
    sc = parse_scenario("move_budget: {moves: 40}\n", "s.yaml")
    assert sc.mode == "micro"
    assert [c.key for c in sc.changes] == ["move_budget"]


def test_changes_keep_file_order_and_lines() -> None:
    sc = parse_scenario("name: n\ntolerance: 0.05\nremove_reps: [R1]\n", "s.yaml", "dflt")
    assert [(c.key, c.line) for c in sc.changes] == [("tolerance", 2), ("remove_reps", 3)]
    assert sc.name == "n"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_shipped_examples_parse(path: Path) -> None:
    sc = read_scenario(path)
    assert sc.changes and sc.name and sc.description
