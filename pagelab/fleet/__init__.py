"""A fleet over time (workload=fleet, docs/fleet.md): many hosts, VMs arriving and leaving.

Modules: :mod:`~pagelab.fleet.stream` (the VMs), :mod:`~pagelab.fleet.capacity` (one host
by pagelab's capacity model), :mod:`~pagelab.fleet.simulation` (placement and the hourly
timeline), :mod:`~pagelab.fleet.search` (the smallest fleet), :mod:`~pagelab.fleet.run`.
"""

from pagelab.fleet.run import TIMELINE, is_fleet, simulate_fleet

__all__ = ["TIMELINE", "is_fleet", "simulate_fleet"]
