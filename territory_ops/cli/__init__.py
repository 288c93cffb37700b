"""The ``territory-ops`` command line (``territory_ops.cli:app``, the console script)."""

from territory_ops.cli.app import app, main

__all__ = ["app", "main"]
