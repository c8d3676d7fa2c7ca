"""Start-up costs: one CLI run against importing its libraries, ``pagelab scan`` against find.

    python benchmarks/startup.py [--repeats 5] [--tree /usr]

- a single run: ``python -m pagelab strategy=dmemfs workload=hosting`` (``make run``'s),
  against ``python -c "import polars, hydra"``;
- a scan: ``python -m pagelab scan TREE -o FILE`` against
  ``find TREE -type f -printf '%s\\n'`` (output discarded), on a warm tree.

Both pairs alternate, after one warm-up each; wall times of whole processes, medians.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, Row, alternate, median, run

RUN = ("strategy=dmemfs", "workload=hosting")


def single_run(repeats: int = 5) -> Row:
    """The CLI row."""
    with tempfile.TemporaryDirectory(prefix="pagelab-bench-run-") as tmp:
        def cli(n: int) -> float:
            return run([PYTHON, "-m", "pagelab", *RUN, f"hydra.run.dir={tmp}/run{n + 1}"], cwd=Path(tmp))[0]

        def imports(n: int) -> float:
            return run([PYTHON, "-c", "import polars, hydra"])[0]

        ours, floor = alternate(cli, imports, repeats)
    return Row(f"python -m pagelab {' '.join(RUN)} / python -c \"import polars, hydra\"", median(ours), median(floor),
               median(ours) / median(floor), 3.0, repeats)


def scan(tree: str = "/usr", repeats: int = 5) -> Row:
    """The scan row."""
    with tempfile.TemporaryDirectory(prefix="pagelab-bench-scan-") as tmp:
        def ours(n: int) -> float:
            return run([PYTHON, "-m", "pagelab", "scan", tree, "-o", f"{tmp}/scan.parquet"])[0]

        def find(n: int) -> float:
            return run(["sh", "-c", f"find {tree} -type f -printf '%s\\n' > /dev/null"], check=False)[0]

        scans, finds = alternate(ours, find, repeats)
    return Row(f"pagelab scan {tree} / find {tree} -type f -printf '%s\\n'", median(scans), median(finds),
               median(scans) / median(finds), 1.5, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tree", default="/usr")
    args = parser.parse_args()
    for row in (single_run(args.repeats), scan(args.tree, args.repeats)):
        print(json.dumps(row.to_json()))


if __name__ == "__main__":
    main()
