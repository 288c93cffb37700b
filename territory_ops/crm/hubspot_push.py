"""Owner changes into HubSpot: ``hubspot_owner_id`` of companies and deals, by batch update.

``POST /crm/v3/objects/{companies,deals}/batch/update`` through hubspot-api-client, 100 inputs
per request. HubSpot answers 200 when every input was updated and 207 (multi-status) with a
``StandardError`` per problem — ``category`` (e.g. ``VALIDATION_ERROR``, ``OBJECT_NOT_FOUND``),
``message`` and ``context.ids`` naming the records — which become per-record failures; a 400
for the whole batch fails each of its records with that error. 429 waits its ``Retry-After``
and 5xx backs off (the pull's urllib3 retry, here also for POST), but a request whose answer
was lost is not sent again.

A push that died with a batch in flight is recovered by reading those records' owners back
(``batch/read``): the ones showing the owner we set are applied, the rest are sent again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import polars as pl
import urllib3
from hubspot import HubSpot
from hubspot.crm import companies, deals

from territory_ops.crm.errors import CrmPushError
from territory_ops.crm.hubspot import DEFAULT_API_URL, RETRY, TOKEN_VAR, URL_VAR
from territory_ops.crm.push import Outcome

BATCH_SIZE = 100  # HubSpot's largest batch for object updates
OWNER_PROPERTY = "hubspot_owner_id"
# The landing contract's object -> HubSpot's object and its generated API package.
HUBSPOT_OBJECTS: dict[str, tuple[str, Any]] = {
    "Account": ("companies", companies),
    "Opportunity": ("deals", deals),
}
# Writes are retried like reads on 429 / 5xx (HubSpot did nothing), but never after the
# request went out and its answer was lost: recovery reads the owners back instead.
WRITE_RETRY = RETRY.new(allowed_methods=None, read=0)


class HubSpotBatchChannel:
    """The HubSpot push channel (territory_ops.crm.push.PushChannel)."""

    crm = "hubspot"

    def __init__(self, env: Mapping[str, str]) -> None:
        token = env.get(TOKEN_VAR, "").strip()
        if not token:
            raise CrmPushError(f"{TOKEN_VAR} is not set: a HubSpot private-app token is needed")
        host = env.get(URL_VAR, "").strip() or DEFAULT_API_URL
        self._client = HubSpot(access_token=token, host=host, retry=WRITE_RETRY)

    def open_job(self, sobject: str) -> str:
        # HubSpot batches answer at once: the id names the request in the ledger
        return f"hubspot-{HUBSPOT_OBJECTS[sobject][0]}-{uuid.uuid4().hex[:16]}"

    def _api(self, sobject: str) -> tuple[str, Any, Any]:
        name, package = HUBSPOT_OBJECTS[sobject]
        return name, package, getattr(self._client.crm, name).batch_api

    def send(self, job_id: str, sobject: str, records: pl.DataFrame) -> list[Outcome]:
        name, package, api = self._api(sobject)
        outcomes: list[Outcome] = []
        rows = records.select("record_id", "owner_id").rows()
        for start in range(0, len(rows), BATCH_SIZE):
            chunk = rows[start : start + BATCH_SIZE]
            inputs = [
                package.SimplePublicObjectBatchInput(
                    id=record_id, properties={OWNER_PROPERTY: owner_id}
                )
                for record_id, owner_id in chunk
            ]
            body = package.BatchInputSimplePublicObjectBatchInput(inputs=inputs)
            ids = [record_id for record_id, _ in chunk]
            try:
                answer = api.update(batch_input_simple_public_object_batch_input=body)
            except urllib3.exceptions.HTTPError as err:
                raise CrmPushError(
                    f"HubSpot {name}: cannot reach the API ({type(err).__name__}); "
                    f"check {URL_VAR} and the network"
                ) from None
            except package.ApiException as err:
                outcomes += _refused_batch(name, ids, err)
                continue
            outcomes += _answers(ids, answer)
        return outcomes

    def recover(self, job_id: str, sobject: str, records: pl.DataFrame) -> list[Outcome]:
        name, package, api = self._api(sobject)
        wanted = dict(records.select("record_id", "owner_id").rows())
        shown: dict[str, str | None] = {}
        ids = list(wanted)
        for start in range(0, len(ids), BATCH_SIZE):
            body = package.BatchReadInputSimplePublicObjectId(
                properties=[OWNER_PROPERTY],
                inputs=[
                    package.SimplePublicObjectId(id=i) for i in ids[start : start + BATCH_SIZE]
                ],
                properties_with_history=[],
            )
            try:
                answer = api.read(batch_read_input_simple_public_object_id=body)
            except (urllib3.exceptions.HTTPError, package.ApiException) as err:
                raise CrmPushError(
                    f"HubSpot {name}: cannot read back the owners of request {job_id} "
                    f"({type(err).__name__})"
                ) from None
            shown.update({r.id: (r.properties or {}).get(OWNER_PROPERTY) for r in answer.results})
        return [
            Outcome(i, "applied") if shown.get(i) == owner else Outcome(i, "unprocessed")
            for i, owner in wanted.items()
        ]


def _answers(ids: list[str], answer: Any) -> list[Outcome]:
    """Per record of a 200 / 207 batch answer."""
    done = {str(r.id) for r in (answer.results or [])}
    failed: dict[str, Outcome] = {}
    for error in getattr(answer, "errors", None) or []:
        code = error.sub_category or error.category or "ERROR"
        if isinstance(code, dict):  # subCategory may be an object in some answers
            code = error.category or "ERROR"
        context = error.context or {}
        for record_id in context.get("ids", []) or context.get("id", []):
            failed[str(record_id)] = Outcome(str(record_id), "failed", str(code), error.message)
    return [
        failed.get(i) or (Outcome(i, "applied") if i in done else Outcome(i, "unprocessed"))
        for i in ids
    ]


def _refused_batch(name: str, ids: list[str], err: Any) -> list[Outcome]:
    """A 4xx for the whole batch: each of its records failed with HubSpot's error; a missing
    token or scope stops the push."""
    try:
        body = json.loads(err.body or "{}")
    except (TypeError, ValueError):
        body = {}
    body = body if isinstance(body, dict) else {}
    if err.status == 401:
        raise CrmPushError(f"HubSpot {name}: check {TOKEN_VAR} (a valid private-app token)")
    if err.status == 403:
        raise CrmPushError(
            f"HubSpot {name}: the private app behind {TOKEN_VAR} lacks the "
            f"crm.objects.{name}.write scope"
        )
    if err.status >= 429:
        raise CrmPushError(f"HubSpot {name}: no answer after retries (HTTP {err.status})")
    code = str(body.get("category") or f"HTTP_{err.status}")
    message = str(body.get("message") or err.reason)
    named = {str(i) for i in (body.get("context") or {}).get("ids", [])}
    return [
        Outcome(i, "failed", code, message)
        if not named or i in named
        else Outcome(i, "unprocessed")
        for i in ids
    ]
