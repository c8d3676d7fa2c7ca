"""Machine-level answers: every run fits its pools or names the pool that is short, every byte
is counted once and alike for every strategy, guests are packed fairly, results are checked."""

from __future__ import annotations

import polars as pl
import pytest

import pagelab
from pagelab.allocator import REQUEST_SCHEMA
from pagelab.pipeline.placement import shortfall_message
from pagelab.pipeline.simulate import simulate
from pagelab.plugin import Allocation, Machine, PagelabError, Pool, uniform_allocation
from pagelab.strategies.contract import checked_allocation
from pagelab.strategies.registry import installed_strategies
from pagelab.units import GiB, MiB

from .conftest import ROOT
from .test_workloads import workload_config

WORKLOADS = sorted(p.stem for p in (ROOT / "conf" / "workload").glob("*.yaml"))
STRATEGIES = sorted([*installed_strategies(), *(p.stem for p in (ROOT / "conf" / "strategy").glob("*.yaml"))])
CXL_HOST = ("workload=hosting", "workload.nodes=3", "workload.installed=448G",
            "workload.node_sizes=[160G,160G,128G]", "workload.memory_only_nodes=[2]")


def pools_of(row: dict) -> pl.DataFrame:
    return pl.DataFrame(row["pools"])


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_byte_is_counted_once_or_the_short_pool_is_named(strategy, workload):
    row = pagelab.run([f"strategy={strategy}", f"workload={workload}"]).row(0, named=True)
    pools = pools_of(row)
    held = pl.col("metadata_bytes") + pl.col("pagetable_bytes") + pl.col("allocated_bytes") + pl.col("stranded_bytes")
    # Nothing is placed beyond a pool's size (only metadata the kernel cannot refuse may overflow it).
    over = pools.filter(held > pl.col("size_bytes"), (pl.col("size_bytes") - pl.col("metadata_bytes")) >= 0)
    assert over.height == 0
    if row["fits"]:
        assert row["metadata_bytes"] + row["allocated_bytes"] + row["stranded_bytes"] + row["free_bytes"] \
            == row["installed_bytes"]
        assert pools.select((held + pl.col("free_bytes") == pl.col("size_bytes")).all()).item()
        assert row["shortfall_bytes"] == 0
    else:
        short = pools.filter(pl.col("shortfall_bytes") > 0)
        assert short.height and int(short["shortfall_bytes"].sum()) == row["shortfall_bytes"]
        message = shortfall_message(pools)
        assert all(f"node {n} pool {p} lacks" in message for n, p in short.select("node", "pool").iter_rows())


def test_a_memory_only_node_holds_guests_but_no_host_processes():
    outcome = simulate(workload_config("strategy=dmemfs", *CXL_HOST, "workload.dmem='!12G'"))
    row, placed = outcome.row.row(0, named=True), outcome.placement.requests
    assert row["fits"] and row["installed_bytes"] == 448 * GiB and row["nodes"] == 3
    assert row["metadata_bytes"] + row["allocated_bytes"] + row["stranded_bytes"] + row["free_bytes"] == 448 * GiB
    reserve = placed.filter(pl.col("guest").is_null())
    assert set(reserve["node"]) == {0, 1}  # the 2 GiB host reserve sits where the CPUs are
    assert 2 in set(placed.drop_nulls("guest")["node"])  # guests are packed onto the expander too
    # dmem=!12G keeps 12 GiB of every node, the small one included.
    dmem = pools_of(row).filter(pool="dmem")
    assert dmem["size_bytes"].to_list() == [148 * GiB, 148 * GiB, 116 * GiB]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["workload.node_sizes=[160G,160G,128G]"], "3 sizes for workload.nodes=2"),
        (["workload.node_sizes=[160G,128G]"], "add up to 309237645312 bytes, but workload.installed=320G"),
        (["workload.memory_only_nodes=[0,1]"], "must name some, not all, of the nodes 0..1"),
        (["workload.guests.policy=worst_fit"], "unknown 'worst_fit'; choose one of first_fit, best_fit"),
    ],
)
def test_machine_mistakes_are_one_line_errors(overrides, message):
    with pytest.raises(PagelabError, match=message):
        pagelab.run(["strategy=base4k", "workload=hosting", *overrides])


def test_page64k_caches_fewer_file_bytes_than_base4k_in_the_same_ram():
    base, big = (pagelab.run([f"strategy={s}", "workload=laptop"]).row(0, named=True) for s in ("base4k", "page64k"))
    assert base["fits"] and big["fits"]
    assert big["files_cached"] < base["files_cached"] and big["file_bytes"] < base["file_bytes"]


@pytest.mark.parametrize("seed", range(20))
def test_first_fit_packs_base4k_nodes_until_not_even_the_smallest_guest_fits(seed):
    overrides = ["strategy=base4k", "workload=hosting", "workload.guests.policy=first_fit", f"seed={seed}"]
    row = pagelab.run(overrides).row(0, named=True)
    mix = pl.read_parquet(ROOT / "datasets" / "azure_2017.parquet")
    smallest = mix.sort("memory_gb").row(0, named=True)  # 0.75 GiB with 1 vCPU
    memory = int(smallest["memory_gb"] * GiB)
    vmm = 218 * MiB + 8 * MiB * smallest["vcpus"]  # KubeVirt's fixed overhead and 8 MiB per vCPU
    # Guest RAM in 2 MiB THPs (thp=madvise): one PMD table in QEMU, and an EPT tree of one PD,
    # one PDPT and one PML4 table. The VMM's memory in 4 KiB pages: a PTE table per 2 MiB and
    # the PMD table above them.
    tables = 4096 + 3 * 4096 + (-(-vmm // (2 * MiB)) + 1) * 4096
    need = memory + vmm + tables
    kernel = pools_of(row).filter(pool="kernel")
    assert kernel.height == 2 and (kernel["free_bytes"] < need).all()


@pytest.mark.parametrize("strategy", ["base4k", "dmemfs"])
def test_going_on_past_a_misfit_sells_at_least_as_much_as_stopping_there(strategy):
    sold = {
        policy: pagelab.run([f"strategy={strategy}", "workload=hosting", f"workload.guests.policy={policy}"])["guest_bytes"][0]
        for policy in ("stop_at_first_misfit", "first_fit", "best_fit")
    }
    assert sold["first_fit"] >= sold["stop_at_first_misfit"] and sold["best_fit"] >= sold["stop_at_first_misfit"]


# --- the contract a strategy's result must keep ---------------------------------------------

MACHINE = Machine.even(16 * GiB, 2)
REQUESTS = pl.DataFrame(
    {"kind": ["file", "anon", "guest"], "bytes": [100, 5000, 2 * MiB], "count": [3, 2, 1], "node": [0, 1, 0]}
).cast(REQUEST_SCHEMA)


def good(**columns) -> pl.DataFrame:
    return uniform_allocation(REQUESTS, MACHINE, 4096).with_columns(**columns)


@pytest.mark.parametrize(
    ("result", "rule"),
    [
        (good(allocated_bytes=pl.col("bytes") * pl.col("count") - 1), "allocated_bytes is below bytes x count"),
        (good(objects=pl.lit(-3, pl.Int64)), "column 'objects' is negative"),
        (good(objects=pl.col("objects").cast(pl.Float64)), "column 'objects' must be integers, got Float64"),
        (good().head(2), "returned 2 rows for 3 requests"),
        (good().drop("count", "node"), "dropped request column(s) count, node"),
        (good(bytes=pl.col("bytes") + 1), "changed request column 'bytes'"),
        (good(allocated_bytes=pl.col("allocated_bytes") + 1), "'allocated_bytes' is not a multiple of count"),
        (good(pool=pl.lit("nvdimm")), "requests name pool(s) nvdimm that the Allocation does not declare"),
        (good().drop("granule"), "result lacks column(s) granule"),
    ],
)
def test_a_result_that_breaks_the_contract_names_the_plugin_and_the_rule(result, rule):
    with pytest.raises(PagelabError) as error:
        checked_allocation("broken (my-plugin)", Allocation(result, 0, 0), REQUESTS, MACHINE)
    assert str(error.value).startswith("strategy broken (my-plugin): ") and rule in str(error.value)
    assert "\n" not in str(error.value)


def test_pools_must_fit_their_nodes():
    pools = {"dax": Pool((9 * GiB, 0))}  # node 0 has 8 GiB
    with pytest.raises(PagelabError, match="pools on node 0 add up to more than the node's memory"):
        checked_allocation("big", Allocation(good(), 0, 0, pools=pools), REQUESTS, MACHINE)


def test_a_strategy_may_return_only_its_own_columns():
    own = good().select("allocated_bytes", "objects", "pagetable_bytes", "granule")
    checked = checked_allocation("lean", Allocation(own, 0, (0, 0)), REQUESTS, MACHINE).requests
    assert checked.select(REQUESTS.columns).equals(REQUESTS)
    assert checked["pool"].to_list() == ["kernel"] * 3 and checked["stranded_bytes"].to_list() == [0] * 3
