"""Dagster definitions for territory-ops (orchestration only; domain logic lives in territory_ops)."""
