"""Turn the published tables in shared/data into pagelab's Parquet datasets.

Run from the repository root: ``python datasets/maintenance/convert_published.py ../shared/data``.
Tables are stored as they were published; pagelab expands them at load time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent.parent  # datasets/, where the Parquet files live
# Azure A-series sizes (A0-A7): cores per memory size. The trace has no joint
# memory/cores table, so this mapping is an inference, flagged on the card.
AZURE_A_SERIES_VCPUS = {0.75: 1, 1.75: 1, 3.5: 2, 7.0: 4, 14.0: 8, 28.0: 4, 56.0: 8}


def write(frame: pl.DataFrame, name: str) -> None:
    frame.write_parquet(HERE / f"{name}.parquet", compression="zstd", statistics=False)


def main(shared: Path) -> None:
    irlam = pl.read_csv(shared / "irlam_ufs93_file_sizes.csv").rename({"files": "files"})
    write(irlam.with_columns(pl.col("max_bytes", "files").cast(pl.Int64)), "irlam_ufs93")

    azure = pl.read_csv(shared / "azure_vm_memory_shares.csv", infer_schema=False)
    v1 = azure.filter((pl.col("trace") == "V1_2017") & (pl.col("bar") == "public_dataset"))
    v1 = v1.select(
        memory_gb=pl.col("memory_gb_or_bucket").cast(pl.Float64),
        pct_vms=pl.col("pct_vms").cast(pl.Float64),
    ).with_columns(vcpus=pl.col("memory_gb").replace_strict(AZURE_A_SERIES_VCPUS, return_dtype=pl.Int64))
    write(v1, "azure_2017")

    for bar, name in (("public_dataset", "azure_2019_public"), ("azure_2019_full", "azure_2019_full")):
        v2 = azure.filter((pl.col("trace") == "V2_2019") & (pl.col("bar") == bar))
        bucket = pl.col("memory_gb_or_bucket")
        v2 = v2.select(
            lo_gb=pl.when(bucket == ">64").then(pl.lit("64")).otherwise(bucket.str.split("-").list.first()).cast(pl.Float64),
            # The top bucket is open; 256 GB bounds it (largest common Azure sizes), see the card.
            hi_gb=pl.when(bucket == ">64").then(pl.lit("256")).otherwise(bucket.str.split("-").list.last()).cast(pl.Float64),
            pct_vms=pl.col("pct_vms").cast(pl.Float64),
        )
        write(v2, name)

    bitbrains = pl.read_csv(shared / "bitbrains_rnd_2013_vm_summary.csv")
    write(
        bitbrains.select(
            "month",
            pl.col("vm_id").cast(pl.Int64),
            vcpus=pl.col("cpu_cores_mode").cast(pl.Int64),
            memory_bytes=pl.col("mem_provisioned_max_kb").cast(pl.Int64) * 1024,
            usage_mean_bytes=pl.col("mem_usage_mean_kb").cast(pl.Int64) * 1024,
        ),
        "bitbrains_rnd_2013",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
