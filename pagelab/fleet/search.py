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


def first_fit_unbounded(adm: Admission, stream: Stream) -> np.ndarray:
    """``first_fit`` on a fleet with a host per VM: only the VMs no empty host admits are rejected."""
    return place_stream(adm, stream, max(stream.vms, 1), "first_fit")


def hosts_used(slot: np.ndarray, nodes: int) -> int:
    """How many hosts a placement uses: up to the last one holding a VM (first_fit fills them in order)."""
    return int(slot.max(initial=-1)) // nodes + 1


def hosts_needed(adm: Admission, stream: Stream, policy: str) -> int:
    """The smallest number of hosts that places every VM of ``stream`` (each must fit an empty host)."""
    if stream.vms == 0:
        return 0
    if policy == "first_fit":
        return hosts_used(first_fit_unbounded(adm, stream), adm.room.shape[0])
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


def place_and_search(adm: Admission, stream: Stream, hosts: int, policy: str, fits_host: np.ndarray,
                     search: bool) -> tuple[np.ndarray, int | None]:
    """The placement on ``hosts`` hosts and, if ``search``, the hosts needed by the VMs in ``fits_host``.

    For ``first_fit`` one placement gives both when ``fits_host`` leaves out exactly the VMs no
    empty host admits (they never take a slot, so leaving them out changes nothing): the first
    ``hosts`` hosts of the unbounded placement see what a fleet of ``hosts`` sees, and a VM it
    places further on is the one that fleet rejects.
    """
    nodes = adm.room.shape[0]
    if search and policy == "first_fit" and np.array_equal(fits_host, adm.fits_empty_node()):
        unbounded = first_fit_unbounded(adm, stream)
        return np.where(unbounded < hosts * nodes, unbounded, -1), hosts_used(unbounded, nodes)
    slot = place_stream(adm, stream, hosts, policy)
    return slot, hosts_needed(*subset(adm, stream, fits_host), policy) if search else None
