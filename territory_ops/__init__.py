"""territory-ops: keep B2B sales territories balanced, continuously."""

__version__ = "0.1.0"
