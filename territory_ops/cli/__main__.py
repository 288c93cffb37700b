"""``python -m territory_ops.cli``: the same commands as the ``territory-ops`` script."""

from territory_ops.cli.app import main

main()
