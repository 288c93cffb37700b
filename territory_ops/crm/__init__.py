"""Pulls from the CRMs into landing snapshots in the extract contract."""
