"""The fleet workload: conservation, limits, a hand-worked golden stream, the search, the trace."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import pagelab
from pagelab.datasets import datasets_dir
from pagelab.errors import PagelabError
from pagelab.fleet.run import fleet_inputs
from pagelab.fleet.search import hosts_needed, place_and_search, subset
from pagelab.fleet.simulation import Admission, place_stream
from pagelab.fleet.stream import Stream, read_trace
from pagelab.pipeline.compose import compose
from pagelab.pipeline.metrics import FLEET_SCHEMA, RESULT_SCHEMA
from pagelab.pipeline.simulate import Outcome, simulate

TRACE = datasets_dir() / "bitbrains_rnd_2013_hourly.parquet"


def fleet(*overrides: str) -> Outcome:
    return simulate(compose(["workload=fleet", *overrides]))


# --- golden: 3 one-node hosts of 10 units, 10 VMs over 4 hours, worked by hand ---------------

# (arrival hour, departure hour, size): VM i is present in hours arrival .. departure - 1.
GOLDEN = [(0, 3, 6), (0, 2, 5), (0, 4, 4), (1, 3, 3), (1, 4, 7), (2, 4, 2), (2, 3, 6), (3, 4, 5), (3, 4, 9), (3, 4, 1)]


def golden() -> tuple[Admission, Stream]:
    arrival, departure, size = (np.array(c, dtype=np.int64) for c in zip(*GOLDEN, strict=True))
    stream = Stream(arrival, departure, size, np.ones(10, dtype=np.int64), np.zeros(10, dtype=np.int64),
                    np.ones((1, 4)), hours=4)
    return Admission(np.array([[10]], dtype=np.int64), size[:, None], Fraction(1)), stream


# Hosts A, B, C = 0, 1, 2 (room left after each step in brackets).
# first_fit: h0: 0->A[4], 1->B[5], 2->A[0]; h1: 3->B[2], 4->C[3]; h2: 1 leaves (B[7]), 5->B[5],
#   6 (6) fits nowhere (A0 B5 C3); h3: 0 and 3 leave (A[6], B[8]), 7->A[1], 8 (9) nowhere, 9->A[0].
# best_fit (least room among those that fit): h0: 0->A[4], 1->B[5], 2->A[0]; h1: 3->B[2], 4->C[3];
#   h2: B[7], 5->C[1] (C3 < B7), 6->B[1]; h3: 0, 3, 6 leave (A[6], B[10]), 7->A[1], 8->B[1],
#   9->A (A1 = B1 = C1: the lowest).
# most_free (host with most room): h0: 0->A[4], 1->B[5], 2->C[6] (10 > 5 > 4); h1: 3->C[3],
#   4 (7) nowhere (A4 B5 C3); h2: B[10], 5->B[8], 6->B[2]; h3: 0, 3, 6 leave (A[10], C[6], B[8]),
#   7->A[5], 8 (9) nowhere, 9->B[7].
EXPECTED = {
    "first_fit": [0, 1, 0, 1, 2, 1, -1, 0, -1, 0],
    "best_fit": [0, 1, 0, 1, 2, 2, 1, 0, 1, 0],
    "most_free": [0, 1, 2, 2, -1, 1, 1, 0, -1, 1],
}
# Peak load 28 (hour 2: 6+4+3+7+2+6) over 10 per host: no fewer than 3 hosts.
# first_fit: 3 reject 6 and 8; with a 4th host D, 6->D in h2, D is empty again in h3 and takes 8.
# best_fit: 3 serve everything (above).
# most_free: with 4 hosts, 3->D[7], 4->D[0], then in h3 A5 B8 C6 D3 leave no room for 8 (9);
#   with 5, 4->E[3] and in h3 8->D (D is back to 10): every VM is placed.
NEEDED = {"first_fit": 4, "best_fit": 3, "most_free": 5}


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_golden_placements_and_hosts_needed(policy):
    adm, stream = golden()
    assert place_stream(adm, stream, 3, policy).tolist() == EXPECTED[policy]
    assert hosts_needed(adm, stream, policy) == NEEDED[policy]
    slots = place_stream(adm, stream, NEEDED[policy], policy)
    assert (slots >= 0).all()
    assert (place_stream(adm, stream, NEEDED[policy] - 1, policy) < 0).any()


def test_golden_overcommit_ratio_two_halves_the_guest_room():
    adm, stream = golden()
    doubled = Admission(2 * adm.room, adm.need, Fraction(2))  # num x room, den x guest: 20 units per host
    # Peak 28 over 20 per host: 2 hosts; first_fit with 2 hosts places everything (at most 20 per host).
    assert hosts_needed(doubled, stream, "first_fit") == 2


# --- the shipped trace -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs():
    return {(s, r): fleet(f"strategy={s}", f"workload.fleet.overcommit_ratio={r}")
            for s in ("base4k", "dmemfs") for r in (1.0, 1.5)}


def test_every_vm_is_placed_or_rejected_once_and_vm_hours_are_conserved(runs):
    for outcome in runs.values():
        row, hourly = outcome.row, outcome.tables["timeline"]
        assert row["fleet_placed"][0] + row["fleet_rejected"][0] == row["fleet_vms"][0] == 500  # the 500 VMs of 2013-7
        assert hourly["vms_arrived"].sum() == row["fleet_vms"][0]
        assert hourly["vms_placed"].sum() == row["fleet_placed"][0]
        assert hourly["vms_rejected"].sum() == row["fleet_rejected"][0]
    # With enough hosts nothing is rejected but the VM too large for any host (511 GiB).
    roomy = fleet("strategy=base4k", "workload.fleet.hosts=40", "workload.fleet.search=false")
    assert roomy.row["fleet_rejected"][0] == roomy.row["fleet_unplaceable"][0] == 1
    from pagelab.fleet.stream import trace_stream

    stream = trace_stream(TRACE, "2013-7", 720, "workload.fleet.dataset")
    too_big = int(np.argmax(stream.memory_bytes))
    expected = stream.vm_hours - int(stream.departure[too_big] - stream.arrival[too_big])
    assert roomy.tables["timeline"]["vms_resident"].sum() == expected


def test_no_hour_sells_beyond_the_ratio_nor_pins_beyond_a_pool(runs):
    for (strategy, ratio), outcome in runs.items():
        hourly = outcome.tables["timeline"]
        assert hourly["min_headroom_bytes"].min() >= 0, (strategy, ratio)
        if strategy == "dmemfs" or ratio == 1.0:  # pinned, or nothing sold beyond the room
            assert outcome.row["fleet_peak_violations"][0] == 0
        assert (hourly.select(pl.col("^free_.*_bytes$")).to_numpy() >= 0).all()
    # Pinned memory is never overcommitted: dmemfs is the same at any ratio.
    assert runs[("dmemfs", 1.0)].row["fleet_hosts_needed"][0] == runs[("dmemfs", 1.5)].row["fleet_hosts_needed"][0]
    assert runs[("base4k", 1.5)].row["fleet_guest_memory"][0] == "managed"
    assert runs[("dmemfs", 1.5)].row["fleet_guest_memory"][0] == "pinned"


def test_base4k_needs_no_more_hosts_as_the_ratio_rises():
    needed = [fleet("strategy=base4k", f"workload.fleet.overcommit_ratio={r}").row["fleet_hosts_needed"][0]
              for r in (1.0, 1.25, 1.5, 2.0)]
    assert needed == sorted(needed, reverse=True)
    assert needed[-1] < needed[0]


def test_results_keep_the_single_host_schema_and_are_deterministic(runs):
    row = runs[("base4k", 1.0)].row
    assert row.columns[: len(RESULT_SCHEMA)] == list(RESULT_SCHEMA)
    assert {c: row.schema[c] for c in RESULT_SCHEMA} == RESULT_SCHEMA
    assert row["fits"][0] and row["guests"][0] is None
    again = fleet("strategy=base4k")
    assert again.row.equals(row) and again.tables["timeline"].equals(runs[("base4k", 1.0)].tables["timeline"])
    single = pagelab.run(["strategy=base4k", "workload=hosting"])
    assert single.select(list(FLEET_SCHEMA)).null_count().row(0) == (1,) * len(FLEET_SCHEMA)
    assert not [c for c in single.columns if c.startswith("workload.fleet")]


def test_synthetic_stream_fills_the_fleet_and_conserves_vms():
    outcome = fleet("strategy=base4k", "workload.fleet.dataset=azure_2017", "workload.fleet.hosts=20",
                    "workload.fleet.hours=240", "workload.fleet.lifetime_mean_hours=48")
    row, hourly = outcome.row, outcome.tables["timeline"]
    assert row["fleet_vms"][0] > 0 and row["fleet_placed"][0] + row["fleet_rejected"][0] == row["fleet_vms"][0]
    # load 1.0: provisioned memory in use approaches the fleet's installed memory, so some are turned away.
    assert row["fleet_rejected"][0] > 0
    assert hourly["provisioned_bytes"].max() <= 20 * row["fleet_host_room_bytes"][0]


# --- the dataset -----------------------------------------------------------------------------


def test_the_trace_loads_and_matches_its_card():
    frame = read_trace(TRACE)
    card = pagelab.datasets.catalog()["bitbrains_rnd_2013_hourly"]
    assert card["kind"] == "vm_timeseries"
    assert frame.height == card["expect"]["rows"] == 1_015_860
    assert frame.select("month", "vm_id").unique().height == card["expect"]["represented"]


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop("mem_usage_max_kib"), "missing column 'mem_usage_max_kib'"),
    (lambda f: f.with_columns(pl.col("hour").cast(pl.String)), "column 'hour' must be integers"),
    (lambda f: f.with_columns(pl.lit(-1).alias("cores")), "column 'cores' has negative values"),
    (lambda f: f.with_columns(pl.col("hour") + 1), "column 'hour' must hold Unix seconds on whole hours"),
])
def test_bad_traces_give_one_line_naming_file_and_field(tmp_path: Path, change, message):
    bad = tmp_path / "bad.parquet"
    change(pl.read_parquet(TRACE).head(100)).write_parquet(bad)
    with pytest.raises(PagelabError) as error:
        fleet(f"workload.fleet.dataset={bad}", "workload.fleet.month=null")
    text = str(error.value)
    assert "\n" not in text and str(bad) in text and message in text


@pytest.mark.parametrize("override, field", [
    ("workload.fleet.policy=worst_fit", "workload.fleet.policy"),
    ("workload.fleet.overcommit_ratio=0.5", "workload.fleet.overcommit_ratio"),
    ("workload.fleet.month=2014-1", "workload.fleet.month"),
    ("workload.fleet.dataset=nothing_here", "workload.fleet.dataset"),
])
def test_bad_fleet_config_names_the_field(override, field):
    with pytest.raises(PagelabError, match=field):
        fleet(override)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_fit_hosts_needed_in_one_pass_is_the_smallest_fleet_that_serves(seed):
    # Random VMs of 1..10 on hosts of room 10: the one-pass answer H serves all, H - 1 does not.
    from pagelab.fleet.search import serves

    rng = np.random.default_rng(seed)
    n, hours = 80, 20
    arrival = np.sort(rng.integers(0, hours, n))
    departure = np.minimum(arrival + rng.integers(1, 6, n), hours)
    size = rng.integers(1, 11, n)
    stream = Stream(arrival, departure, size, np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                    np.ones((1, hours)), hours=hours)
    adm = Admission(np.array([[10]], dtype=np.int64), size[:, None], Fraction(1))
    hosts = hosts_needed(adm, stream, "first_fit")
    assert hosts > 1 and serves(adm, stream, hosts, "first_fit")
    assert not serves(adm, stream, hosts - 1, "first_fit")


@pytest.mark.parametrize("strategy, ratio", [("base4k", 1.0), ("base4k", 1.5), ("base4k", 2.0), ("dmemfs", 1.5),
                                             ("hvo", 1.5)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_fit_placement_cut_from_the_unbounded_one_is_the_direct_placement(strategy, ratio, seed):
    # place_and_search places once on a host per VM and turns every slot past the fleet into a
    # rejection: that must be what a fleet of that size places, for any size, and the search's answer.
    run = compose(["+experiment=fleet_overcommit", f"strategy={strategy}", f"workload.fleet.overcommit_ratio={ratio}",
                   f"seed={seed}", "hydra.mode=RUN"])
    _, stream, model, adm = fleet_inputs(run)
    fits_host = model.fits_empty_host()
    needed = hosts_needed(*subset(adm, stream, fits_host), "first_fit")
    for hosts in (needed - 5, needed, needed + 5):  # turning VMs away, and not
        slot, found = place_and_search(adm, stream, hosts, "first_fit", fits_host, True)
        assert np.array_equal(slot, place_stream(adm, stream, hosts, "first_fit")), (strategy, ratio, seed, hosts)
        assert found == needed and (slot < 0).any() == (hosts < needed)


def test_the_trace_with_a_vm_too_large_for_any_host_places_as_directly():
    _, stream, model, adm = fleet_inputs(compose(["workload=fleet", "strategy=base4k"]))
    fits_host = model.fits_empty_host()
    assert not fits_host.all()
    slot, needed = place_and_search(adm, stream, 10, "first_fit", fits_host, True)
    assert np.array_equal(slot, place_stream(adm, stream, 10, "first_fit"))
    assert needed == hosts_needed(*subset(adm, stream, fits_host), "first_fit")


def test_place_and_search_places_twice_when_the_search_leaves_out_an_admitted_vm():
    # As if VM 4 (7 units) fitted an empty host only with overcommit: the search goes without it
    # (3 hosts, worked as for NEEDED) while the fleet still places it, so one placement cannot serve both.
    adm, stream = golden()
    fits_host = adm.fits_empty_node()
    fits_host[4] = False
    slot, needed = place_and_search(adm, stream, 3, "first_fit", fits_host, True)
    assert slot.tolist() == EXPECTED["first_fit"] and needed == 3
    assert place_and_search(adm, stream, 3, "first_fit", adm.fits_empty_node(), True)[1] == NEEDED["first_fit"]
    slot, needed = place_and_search(adm, stream, 3, "best_fit", fits_host, False)
    assert slot.tolist() == EXPECTED["best_fit"] and needed is None
    empty = np.zeros(stream.vms, dtype=bool)
    slot, needed = place_and_search(*subset(adm, stream, empty), 3, "first_fit", empty[empty], True)
    assert slot.size == 0 and needed == 0
