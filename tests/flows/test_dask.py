"""The dask task runner (a local 2-process cluster) publishes exactly what the thread runner
publishes from the same inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.conftest import SAMPLE_DATA

# what identifies a row of each table; the comparison sorts on these explicitly
TABLE_KEYS = {
    "creator_snapshots": ["platform", "handle_norm", "snapshot_date", "source_file", "source_row"],
    "creators": ["platform", "handle_norm"],
    "quarantine": ["source_file", "source_row", "reason", "column", "field", "raw_value"],
}


def table_contents(out: Path, table: str) -> pl.DataFrame:
    """A table's rows without what differs from run to run (run_id, timestamps), sorted on
    the table's key, columns in name order."""
    df = pl.read_delta(str(out / table))
    varying = [
        c
        for c, t in df.schema.items()
        if c == "run_id" or c.endswith("_at") or isinstance(t, pl.Datetime)
    ]
    df = df.drop(varying)
    return df.select(sorted(df.columns)).sort(TABLE_KEYS[table], nulls_last=True)


def assert_same_tables(a: Path, b: Path) -> None:
    for table in TABLE_KEYS:
        left, right = table_contents(a, table), table_contents(b, table)
        assert left.height > 0, f"{table} is empty in {a}"
        assert_frame_equal(left, right, check_exact=True)


def _roster_enrich(*args: str) -> subprocess.CompletedProcess[str]:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())  # the session's test API
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "enrich", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_dask_runner_publishes_the_same_tables_as_threads(run_flow, tmp_path: Path) -> None:
    """`roster enrich --task-runner dask --dask-address` on a 2-process cluster, against
    the thread runner (in-process) on the same inputs."""
    from distributed import Client, LocalCluster, get_task_stream

    from flows.enrich_roster import discover_inputs

    n_files = len(discover_inputs([str(SAMPLE_DATA)]))
    threads = run_flow([SAMPLE_DATA], tmp_path / "threads")
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
        get_task_stream(client) as stream,
    ):
        res = _roster_enrich(
            str(SAMPLE_DATA),
            "--out",
            str(tmp_path / "dask"),
            "--task-runner",
            "dask",
            "--dask-address",
            cluster.scheduler_address,
            "--json",
        )
    assert res.returncode == 0, res.stderr[-3000:]
    dask = json.loads(res.stdout)

    # one ingest task per file ran on the cluster's worker processes
    # (the task stream is collected when its block ends)
    ran_on_cluster = [t for t in stream.data if t.get("worker")]
    assert len(ran_on_cluster) == n_files == len(threads["files"]) > 1
    assert dask["params"]["task_runner"] == "dask"
    per_file = ["source_file", "status", "rows_read", "enriched", "quarantined"]
    assert [{k: f[k] for k in per_file} for f in dask["files"]] == [
        {k: f[k] for k in per_file} for f in threads["files"]
    ]
    assert_same_tables(tmp_path / "threads", tmp_path / "dask")
