"""Rep capacity: selling hours per year each rep can carry, from the roster and their history.

Entry point: ``rep_capacity(users, opportunities, config)`` (capacity.py).
"""

from territory_ops.capacity.capacity import CapacityConfig, rep_capacity

__all__ = ["CapacityConfig", "rep_capacity"]
