"""The smallest fleet that serves a stream with no rejection.

For ``first_fit`` the answer takes one placement: the first H hosts of a larger fleet see
exactly the VMs they see in a fleet of H (a VM those hosts cannot take goes further on, or
is rejected), so a fleet of H rejects nothing exactly when, in a fleet with a host per VM,
no VM goes past host H. For ``best_fit`` and ``most_free`` a larger fleet can place
differently, so monotonicity is assumed, not proven, and the fleet is searched: from a lower
bound (the busiest hour's needs over one host's room, per pool), growing by 1/8 until a
fleet serves everything, then bisecting; a run that rejects stops at its first rejection,
so the failing probes are cheap.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pagelab.fleet.simulation import Admission, place_stream
from pagelab.fleet.stream import Stream


def subset(adm: Admission, stream: Stream, keep: np.ndarray) -> tuple[Admission, Stream]:
    """The VMs where ``keep`` is true, in the same order, and their needs."""
    return dataclasses.replace(adm, need=adm.need[keep]), dataclasses.replace(
        stream, arrival=stream.arrival[keep], departure=stream.departure[keep],
        memory_bytes=stream.memory_bytes[keep], vcpus=stream.vcpus[keep], source=stream.source[keep])


def lower_bound(adm: Admission, stream: Stream) -> int:
    """No fleet smaller than this can hold every VM of the busiest hour, pool by pool."""
    load = np.zeros((stream.hours + 1, adm.need.shape[1]), dtype=np.int64)
    np.add.at(load, stream.arrival, adm.need)
    np.subtract.at(load, stream.departure, adm.need)
    peak = np.cumsum(load, axis=0).max(axis=0)
    per_host = adm.room.sum(axis=0)
    with np.errstate(divide="ignore"):
        bound = np.where(peak > 0, -(-peak // np.maximum(per_host, 1)), 0)
    return max(1, int(bound.max()))


def serves(adm: Admission, stream: Stream, hosts: int, policy: str) -> bool:
    """True if ``hosts`` hosts place every VM of the stream."""
    return bool((place_stream(adm, stream, hosts, policy, stop_at_rejection=True) >= 0).all())


def hosts_needed(adm: Admission, stream: Stream, policy: str) -> int:
    """The smallest number of hosts that places every VM of ``stream`` (each must fit an empty host)."""
    if stream.vms == 0:
        return 0
    if policy == "first_fit":
        slot = place_stream(adm, stream, stream.vms, policy)  # a host per VM: none is rejected
        return int(slot.max()) // adm.room.shape[0] + 1
    low = lower_bound(adm, stream) - 1  # fails (or is 0)
    high = low + 1
    while not serves(adm, stream, high, policy):
        low, high = high, high + max(1, high // 8)
    while high - low > 1:
        mid = (low + high) // 2
        if serves(adm, stream, mid, policy):
            high = mid
        else:
            low = mid
    return high
