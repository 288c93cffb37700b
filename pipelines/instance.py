"""The Dagster instance a run of the pass lands in: local files, or a team's PostgreSQL.

The instance is whatever ``dagster.yaml`` in the Dagster home says (deploy/ has the team's
PostgreSQL example, docs/deploy.md). Opening it here adds two things Dagster leaves out: a
PostgreSQL server that cannot be reached stops the run at once with the setting named (Dagster
retries for a while and then says only "too many retries"), and the warehouse writers' pool
gets its one slot where the instance sets no limit.
"""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from pipelines.resources import WAREHOUSE_POOL
from territory_ops.cli.jobs import InstanceUnreachable

CONNECT_TIMEOUT_S = 5.0
DEFAULT_PG_PORT = 5432


@contextmanager
def open_instance(dagster_home: Path) -> Iterator[dg.DagsterInstance]:
    """The instance configured in ``dagster_home``; raises :class:`InstanceUnreachable` when its
    PostgreSQL cannot be reached."""
    postgres = postgres_settings(dagster_home / "dagster.yaml")
    if postgres is not None:
        check_reachable(postgres, dagster_home / "dagster.yaml")
    try:
        instance = dg.DagsterInstance.from_config(str(dagster_home))
    except Exception as err:
        if postgres is None:
            raise
        raise InstanceUnreachable(
            unreachable_message(postgres, dagster_home / "dagster.yaml", err)
        ) from err
    with instance:
        ensure_warehouse_pool(instance)
        yield instance


def postgres_settings(config_file: Path) -> dict[str, Any] | None:
    """The ``postgres_db``/``postgres_url`` block of a ``storage: postgres:`` instance (the
    separate run/event-log/schedule storages too), or None for another instance."""
    if not config_file.exists():
        return None
    config = yaml.safe_load(config_file.read_text()) or {}
    blocks = [config.get("storage", {}).get("postgres")] + [
        (config.get(name) or {}).get("config")
        for name in ("run_storage", "event_log_storage", "schedule_storage")
        if "postgres" in str((config.get(name) or {}).get("module", ""))
    ]
    for block in blocks:
        if block:
            return dict(block)
    return None


def check_reachable(postgres: dict[str, Any], config_file: Path) -> None:
    """Open a TCP connection to the configured host and port (a socket directory is left to
    the driver); a refusal or a timeout names the setting."""
    db = postgres.get("postgres_db")
    if not db:
        return
    host = _value(db.get("hostname"))
    if not host or host.startswith("/"):
        return
    port = _value(db.get("port")) or DEFAULT_PG_PORT
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            return
    except (OSError, ValueError) as err:
        raise InstanceUnreachable(unreachable_message(postgres, config_file, err)) from err


def unreachable_message(postgres: dict[str, Any], config_file: Path, err: BaseException) -> str:
    """Which setting points where, and what went wrong (never the password)."""
    db = postgres.get("postgres_db")
    if db:
        named = ", ".join(
            f"{key} {_describe(db.get(key))}"
            for key in ("hostname", "port", "db_name", "username")
            if key in db
        )
    else:
        named = f"postgres_url {_describe(postgres.get('postgres_url'), secret=True)}"
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return (
        f"the Dagster instance's PostgreSQL cannot be reached: storage.postgres in "
        f"{config_file} ({named}): {reason}"
    )


def ensure_warehouse_pool(instance: dg.DagsterInstance) -> None:
    """Give the warehouse writers' pool one slot where the instance sets no limit (an instance
    made before pools were configured, or a team's without ``concurrency:``)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    if instance.get_concurrency_config().pool_config.default_pool_limit is not None:
        return
    if WAREHOUSE_POOL not in {p.name for p in storage.get_pool_limits()}:
        storage.set_concurrency_slots(WAREHOUSE_POOL, 1)


def _value(setting: Any) -> str:
    """A dagster.yaml value: literal, or ``{env: NAME}`` read from the environment."""
    if isinstance(setting, dict) and "env" in setting:
        return os.environ.get(str(setting["env"]), "")
    return "" if setting is None else str(setting)


def _describe(setting: Any, secret: bool = False) -> str:
    if isinstance(setting, dict) and "env" in setting:
        name = setting["env"]
        if name not in os.environ:
            return f"from {name} (not set)"
        return f"from {name}" if secret else f"from {name}={os.environ[name]!r}"
    return "(set in the file)" if secret else repr(setting)
