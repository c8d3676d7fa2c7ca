"""Fleet scale: a month (720 hours) of about 100,000 VMs on 10,000 hosts, against 60 seconds.

    python benchmarks/fleet_scale.py [--strategy base4k] [--hosts 10000] [--vms 100000] [--policy first_fit]

One run of ``pagelab.pipeline.simulate.simulate`` on ``workload=fleet`` with the search for the
smallest fleet on (issue 14's scale: under a minute on 2 cores), in a fresh process, timed
from its call; its phases (the run without the search, then the search) are reported
beside it. The stream is synthetic: azure_2017 sizes, Poisson arrivals at vms/720 an hour,
lognormal lifetimes of mean 168 h (the workload's default). At its peak it keeps about 500
hosts busy, so 10,000 hosts is the issue's fleet, not a full one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, Row, run

HOURS = 720
BUDGET_S = 60.0


def _time(strategy: str, hosts: int, vms: int, policy: str) -> dict[str, float]:
    """Seconds of one run without the search and one with it, and what they found."""
    from pagelab.pipeline.compose import compose
    from pagelab.pipeline.simulate import simulate

    overrides = [
        "workload=fleet", f"strategy={strategy}", "workload.fleet.dataset=azure_2017", f"workload.fleet.hosts={hosts}",
        f"workload.fleet.vms={vms}", f"workload.fleet.hours={HOURS}", f"workload.fleet.policy={policy}",
    ]
    plain = compose([*overrides, "workload.fleet.search=false"])
    searched = compose(overrides)
    start = time.perf_counter()
    row = simulate(searched).row
    total = time.perf_counter() - start
    start = time.perf_counter()
    simulate(plain)
    plain_s = time.perf_counter() - start  # warm: a lower bound of the search run's own share
    return {"total_s": total, "without_search_s": plain_s, "vms": row["fleet_vms"][0],
            "hosts_needed": row["fleet_hosts_needed"][0], "rejected": row["fleet_rejected"][0]}


def measure(strategy: str = "base4k", hosts: int = 10_000, vms: int = 100_000, policy: str = "first_fit") -> Row:
    """The fleet row: a run's seconds (search included) over the 60 s budget."""
    _, result = run([PYTHON, __file__, "--child", strategy, str(hosts), str(vms), policy])
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return Row(
        name=f"fleet: {found['vms']:,} VMs x {HOURS} h on {hosts:,} hosts ({strategy}, {policy}, search on) / 60 s",
        measured_s=found["total_s"], baseline_s=BUDGET_S, ratio=found["total_s"] / BUDGET_S, budget=1.0, repeats=1,
        note="one run in a fresh process, dataset load included",
        extra={k: round(v, 3) if isinstance(v, float) else v for k, v in found.items() if k != "total_s"},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="base4k")
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--policy", default="first_fit")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)  # the timed process
    args = parser.parse_args()
    if args.child:
        strategy, hosts, vms, policy = args.child
        print(json.dumps(_time(strategy, int(hosts), int(vms), policy)))
        return
    print(json.dumps(measure(args.strategy, args.hosts, args.vms, args.policy).to_json(), indent=2))


if __name__ == "__main__":
    main()
