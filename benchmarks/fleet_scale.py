"""Fleet scale: a month (720 hours) of about 100,000 VMs on 10,000 hosts, timed.

Prints one Markdown row: | strategy and policy | hosts | VMs | hours | simulate (s) | hosts_needed search (s) |
The stream is synthetic (azure_2017 sizes, Poisson arrivals at vms/720 an hour, lognormal
lifetimes of mean 168 h, the workload's default): at its peak it keeps about 500 hosts
busy, so 10,000 hosts is the brief's fleet, not a full one; pass a smaller fleet (e.g. 400)
to time a fleet that rejects. The search time is that of hosts_needed alone.
    .venv/bin/python benchmarks/fleet_scale.py [strategy] [hosts] [vms] [policy]
"""

from __future__ import annotations

import sys
import time

HOURS = 720


def main() -> None:
    strategy = sys.argv[1] if len(sys.argv) > 1 else "base4k"
    hosts = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    vms = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    policy = sys.argv[4] if len(sys.argv) > 4 else "first_fit"
    from hydra import compose, initialize_config_module

    from pagelab.config import register_configs
    from pagelab.simulate import simulate

    overrides = [
        "workload=fleet", f"strategy={strategy}", "workload.fleet.dataset=azure_2017", f"workload.fleet.hosts={hosts}",
        f"workload.fleet.vms={vms}", f"workload.fleet.hours={HOURS}", f"workload.fleet.policy={policy}",
    ]
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="pagelab.conf"):
        plain = compose(config_name="config", overrides=[*overrides, "workload.fleet.search=false"])
        searched = compose(config_name="config", overrides=overrides)
    start = time.perf_counter()
    row = simulate(plain).row
    run = time.perf_counter() - start
    start = time.perf_counter()
    needed = simulate(searched).row["fleet_hosts_needed"][0]
    search = time.perf_counter() - start - run  # the second run repeats the first, then searches
    print(f"| {strategy} {policy} | {hosts:,} | {row['fleet_vms'][0]:,} | {HOURS} | {run:.1f} | {search:.1f} "
          f"(needed {needed:,}; rejected at {hosts:,}: {row['fleet_rejected'][0]:,}) |")


if __name__ == "__main__":
    main()
