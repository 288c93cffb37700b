"""The date picker beside Approve: a signed click carries the picked date (Slack sends the
message's input state with the click), the approval takes effect on it; picking a date alone
decides nothing; without a pick the default date applies."""

from __future__ import annotations

import json
import time
from datetime import date
from urllib.parse import urlencode

import duckdb

from territory_ops.planning.config import load_pass_config
from territory_ops.planning.effective import default_effective_on

from .test_actions import _TRIGGERS, _buttons, _log, _post, world  # noqa: F401 (fixture)


def _click(w, element, picked: str | None = None) -> str:
    block = next(
        b["block_id"]
        for b in w.message["blocks"]
        if b["type"] == "actions" and element in b["elements"]
    )
    state = {block: {"effective_date": {"type": "datepicker", "selected_date": picked}}}
    payload = {
        "type": "block_actions",
        "user": {"id": "U0OMAR", "username": "omar.haddad"},
        "channel": {"id": w.channel},
        "container": {"type": "message", "message_ts": w.ts},
        "state": {"values": state if picked else {}},
        "actions": [dict(element, block_id=block, action_ts=f"{time.time():.6f}")],
        "trigger_id": next(_TRIGGERS),
    }
    return urlencode({"payload": json.dumps(payload)})


def _effective(w, pid: str):
    with duckdb.connect(str(w.path)) as con:
        return con.execute(
            "select status, effective_on, pass_kind, reason_code, snapshot_date "
            "from plans.proposals where proposal_id = ?",
            [pid],
        ).fetchone()


def test_approve_with_a_picked_date_and_picking_alone_decides_nothing(world):  # noqa: F811
    elements = _buttons(world.message)
    approve = next(e for e in elements if e.get("value") == world.within)
    picker = next(e for e in elements if e["type"] == "datepicker")
    alone = _post(world, _click(world, picker, "2099-03-01"))
    assert alone.status == 200 and alone.message == "nothing to decide"
    assert _log(world).is_empty()

    result = _post(world, _click(world, approve, "2099-03-01"))
    assert result.status == 200 and result.decided == (approve["value"],)
    assert _effective(world, approve["value"])[:2] == ("approved", date(2099, 3, 1))
    log = _log(world).row(0, named=True)
    assert (log["channel"], log["effective_on"]) == ("slack", date(2099, 3, 1))


def test_approve_without_a_pick_takes_the_default_date(world):  # noqa: F811
    approve = next(e for e in _buttons(world.message) if e.get("value") == world.within)
    result = _post(world, _click(world, approve))
    assert result.status == 200
    status, effective, kind, code, snapshot = _effective(world, approve["value"])
    rules = load_pass_config().effective_dates
    assert status == "approved"
    assert effective == default_effective_on(rules, kind, code, snapshot)
