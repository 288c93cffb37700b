"""Dependencies point one way (docs/architecture.md): import-linter checks the contracts in
pyproject.toml, and breaks them when an import against the direction or a cycle comes back
(also one hidden inside a function, the usual way to dodge a cycle at import time)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on ``project``'s packages (they shadow the installed ones)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(project / "pyproject.toml")],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _sources_only(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n == "__pycache__" or ("." in n and not n.endswith(".py"))}


def test_the_project_keeps_its_import_contracts() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "broken"),
    [
        (  # planning <-> scenarios again, dodged inside a function
            "territory_ops/planning/store.py",
            "from territory_ops.scenarios.quota import published_quotas",
            [
                "territory_ops.planning is not allowed to import territory_ops.scenarios",
                "No cycles are allowed in territory_ops",
            ],
        ),
        (  # the CLI reaching into orchestration instead of the job-runner entry point
            "territory_ops/cli/run.py",
            "from pipelines.run import run_territory_pass",
            ["territory_ops.cli is not allowed to import pipelines"],
        ),
        (  # a cycle between two modules of one package
            "territory_ops/planning/kpis.py",
            "from territory_ops.planning.plan import run_pass",
            ["No cycles are allowed in territory_ops.planning"],
        ),
    ],
)
def test_a_reintroduced_bad_import_breaks_the_contracts(
    tmp_path: Path, module: str, bad_import: str, broken: list[str]
) -> None:
    for package in ("territory_ops", "pipelines"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=_sources_only)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / module).open("a", encoding="utf-8") as source:
        source.write(f"\n\ndef _late_import() -> None:\n    {bad_import}  # noqa: F401\n")

    result = _lint(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    text = " ".join(result.stdout.split())  # the report wraps long lines
    for message in broken:
        assert message in text, result.stdout


def test_the_cli_finds_the_pass_through_the_job_runner_entry_point() -> None:
    from pipelines.run import run_territory_pass
    from territory_ops.cli.jobs import JobRunnerMissing, find_job_runner

    assert find_job_runner() is run_territory_pass
    with pytest.raises(JobRunnerMissing, match="no job runner 'nightly' is installed"):
        find_job_runner("nightly")


def test_every_module_of_the_library_sits_in_a_layer() -> None:
    # a module the layers do not name is free to import anything, so a new one must be placed
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["id"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}
    library = ROOT / "territory_ops"
    modules = {
        f"territory_ops.{p.stem if p.is_file() else p.name}"
        for p in library.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert modules - placed == set()
