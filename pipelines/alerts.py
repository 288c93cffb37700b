"""The alert path: one resource every alerting asset/check uses, whatever the channel.

``AlertSink`` is the interface; ``LocalAlertSink`` (used when no Slack token is configured)
logs the alert as an error in the run and appends it to ``<outbox>/alerts.jsonl``. The Slack
issue adds a sink that posts ``render_alert_text`` (plus blocks) and registers it instead.
"""

from pathlib import Path

import dagster as dg

from territory_ops.alerts import Alert, append_to_outbox, render_alert_text


class AlertSink(dg.ConfigurableResource):
    """Where alerts to people go. Subclasses implement ``deliver``."""

    def send(self, alert: Alert, log) -> None:
        log.error(render_alert_text(alert))
        self.deliver(alert)

    def deliver(self, alert: Alert) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class LocalAlertSink(AlertSink):
    """Appends alerts to ``alerts.jsonl`` in its outbox folder (configured, never looked up)."""

    outbox_dir: str

    @property
    def outbox_path(self) -> Path:
        return Path(self.outbox_dir)

    def deliver(self, alert: Alert) -> None:
        append_to_outbox(alert, self.outbox_path)
