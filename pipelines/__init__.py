"""Dagster definitions for territory-ops.

Orchestration only; the domain logic lives in ``territory_ops``.
"""
