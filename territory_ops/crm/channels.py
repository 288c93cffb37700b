"""The push channel of a CRM by name (the command line and the Dagster push asset ask here)."""

from __future__ import annotations

from collections.abc import Mapping

from territory_ops.crm.push import PushChannel


def push_channel(crm: str, env: Mapping[str, str]) -> PushChannel:
    """Salesforce's Bulk API 2.0 channel or HubSpot's batch update; CrmPushError when the
    settings are missing or the CRM cannot be reached to sign in."""
    if crm == "salesforce":
        from territory_ops.crm.salesforce_push import SalesforceBulkChannel

        return SalesforceBulkChannel(env)
    from territory_ops.crm.hubspot_push import HubSpotBatchChannel

    return HubSpotBatchChannel(env)
