"""Owner changes into Salesforce through Bulk API 2.0 ingest ``update`` jobs.

One job per object: create (``POST jobs/ingest``) → the job id is recorded by the caller →
upload the CSV ``Id,OwnerId`` (``PUT jobs/ingest/<id>/batches``) → close (``PATCH`` state
``UploadComplete``) → poll until ``JobComplete``, ``Failed`` or ``Aborted`` → read
``successfulResults/``, ``failedResults/`` (``sf__Error`` = ``CODE:message:fields``) and
``unprocessedrecords/``.

simple-salesforce's ``bulk2`` runs create-to-results in one call (``SFBulk2Type.update``) and
keeps the job id to itself until the end, so the id could not be recorded before the upload;
the steps are made here with its authenticated session and error mapping (``call_salesforce``)
through the pull's retrying session.

An upload whose answer is lost (the connection dropped after the data went out) is never sent
again: the job is closed and its results read, and what the CRM did not process comes back
``unprocessed``, to be sent in a new job.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
import requests
from simple_salesforce.util import call_salesforce

from territory_ops.crm.errors import CrmError, CrmPushError, JobRefused
from territory_ops.crm.push import Outcome
from territory_ops.crm.salesforce import RetryPolicy, _Session

log = logging.getLogger(__name__)

TERMINAL = ("JobComplete", "Failed", "Aborted")
RESULT_FILES = ("successfulResults", "failedResults", "unprocessedrecords")


def parse_error(text: str) -> tuple[str, str]:
    """``sf__Error`` as (code, message): ``INACTIVE_OWNER_OR_USER:owner is inactive:--``."""
    code, sep, rest = text.partition(":")
    if not sep or not code.replace("_", "").isalnum() or not code.isupper():
        return "UNKNOWN_ERROR", text.strip()
    message, _, fields = rest.rpartition(":")
    if not message:  # no field part
        message = fields
    return code.strip(), message.strip()


class SalesforceBulkChannel:
    """The Salesforce push channel (territory_ops.crm.push.PushChannel)."""

    crm = "salesforce"

    def __init__(
        self,
        env: Mapping[str, str],
        retry: RetryPolicy | None = None,
        *,
        poll_s: float = 2.0,
        poll_timeout_s: float = 3600.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._retry = retry or RetryPolicy()
        try:
            self._session = _Session(env, self._retry)
        except CrmError as err:
            raise CrmPushError(str(err)) from None
        self._poll_s = poll_s
        self._poll_timeout_s = poll_timeout_s
        self._sleep = sleep

    def _url(self, job_id: str | None = None, tail: str = "") -> str:
        url = f"{self._session.sf.bulk2_url}ingest"
        return f"{url}/{job_id}{tail}" if job_id else url

    def _request(self, method: str, url: str, *, csv_body: bool = False, **kw: Any):
        def call() -> requests.Response:
            headers = dict(self._session.sf.headers)  # fresh after a re-authentication
            headers["Content-Type"] = "text/csv" if csv_body else "application/json"
            headers["Accept"] = "application/json, text/csv"
            return call_salesforce(url, method, self._session.sf.session, headers, **kw)

        return self._call(call)

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return self._session.call(fn)
        except CrmError as err:
            raise CrmPushError(str(err).replace(" bulk query job", " bulk job")) from None

    def open_job(self, sobject: str) -> str:
        body = {
            "object": sobject,
            "operation": "update",
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        return str(self._request("POST", self._url(), data=json.dumps(body)).json()["id"])

    def send(self, job_id: str, sobject: str, records: pl.DataFrame) -> list[Outcome]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["Id", "OwnerId"])
        writer.writerows(records.select("record_id", "owner_id").iter_rows())
        data = out.getvalue().encode("utf-8")

        def upload() -> requests.Response | None:
            headers = dict(self._session.sf.headers)
            headers["Content-Type"] = "text/csv"
            try:
                return call_salesforce(
                    self._url(job_id, "/batches"),
                    "PUT",
                    self._session.sf.session,
                    headers,
                    data=data,
                )
            except (requests.ConnectionError, requests.Timeout):
                return None  # the data went out, the answer did not come back: never resend

        if self._call(upload) is None:
            log.warning("Salesforce job %s: the upload's answer was lost; closing it", job_id)
        self._close(job_id)
        info = self._wait(job_id)
        outcomes = self._results(job_id, records)
        if info["state"] != "JobComplete":
            raise JobRefused(
                f"Salesforce job {job_id} ({sobject}) ended {info['state']}: "
                f"{info.get('errorMessage') or 'no message'}",
                outcomes,
            )
        return outcomes

    def recover(self, job_id: str, sobject: str, records: pl.DataFrame) -> list[Outcome]:
        try:
            info = self._job(job_id)
        except CrmPushError as err:
            if "NOT_FOUND" not in str(err):
                raise
            # Salesforce deletes jobs after seven days: resend (the same owner lands alike)
            return [
                Outcome(r, "unprocessed", "JOB_NOT_FOUND", "the CRM no longer knows the job")
                for r in records["record_id"]
            ]
        if info["state"] == "Open":
            self._close(job_id)  # the upload may have arrived: let the CRM process it
        self._wait(job_id)
        return self._results(job_id, records)

    def _close(self, job_id: str) -> None:
        try:
            self._request("PATCH", self._url(job_id), data=json.dumps({"state": "UploadComplete"}))
        except CrmPushError:
            if self._job(job_id)["state"] == "Open":  # not closed: nothing will process it
                self._request("PATCH", self._url(job_id), data=json.dumps({"state": "Aborted"}))

    def _job(self, job_id: str) -> dict[str, Any]:
        return self._request("GET", self._url(job_id)).json()

    def _wait(self, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self._poll_timeout_s
        while True:
            info = self._job(job_id)
            if info["state"] in TERMINAL:
                return info
            if time.monotonic() >= deadline:
                raise CrmPushError(
                    f"Salesforce job {job_id} is still {info['state']} after "
                    f"{self._poll_timeout_s:.0f} s; the next push reads its results"
                )
            self._sleep(self._poll_s)

    def _results(self, job_id: str, records: pl.DataFrame) -> list[Outcome]:
        answered: dict[str, Outcome] = {}
        for name in RESULT_FILES:
            text = self._request("GET", self._url(job_id, f"/{name}/")).text
            for row in csv.DictReader(io.StringIO(text)):
                record_id = row.get("Id") or row.get("sf__Id") or ""
                if name == "successfulResults":
                    answered[record_id] = Outcome(record_id, "applied")
                elif name == "failedResults":
                    code, message = parse_error(row.get("sf__Error", ""))
                    answered[record_id] = Outcome(record_id, "failed", code, message)
                else:
                    answered.setdefault(record_id, Outcome(record_id, "unprocessed"))
        return [
            answered.get(r) or Outcome(r, "unprocessed") for r in records["record_id"].to_list()
        ]


__all__ = ["SalesforceBulkChannel", "parse_error"]
