"""Two runs on one --out: the lock lets one write and stops (or queues) the other; the same
inputs twice publish the same tables; files already processed are skipped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from tests.conftest import SAMPLE_DATA
from tests.flows.test_dask import TABLE_KEYS, table_contents
from tests.flows.test_faults import with_fault

ROWS = 250_000  # enough that a run holds the lock for a few seconds


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One TikTok export of ROWS distinct creators (platform and date from the name)."""
    folder = tmp_path_factory.mktemp("big")
    n = ROWS
    i = pl.int_range(n, eager=True)
    pl.DataFrame(
        {
            "handle": "creator_" + i.cast(pl.String).str.zfill(7),
            "followers": (i * 7919) % 5_000_000 + 1_000,
            "avg_views": (i * 104_729) % 900_000 + 100,
            "engagement_rate": ((i % 997) / 100).round(2).cast(pl.String) + "%",
            "country": pl.Series(["Spain", "Mexico", "US", "Brazil"]).gather(i % 4),
        }
    ).write_csv(folder / "tiktok_jan_2025.csv")
    return folder / "tiktok_jan_2025.csv"


def _start(*args: str, pause_before_commit: float = 0.0) -> subprocess.Popen[str]:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    if pause_before_commit:  # hold the lock a known while, however fast the run is
        env = with_fault(env, f"before-commit:{pause_before_commit}")
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())  # the session's test API
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "enrich", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=240)
    return proc.returncode, out, err


def _manifests(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*/manifest.json"))]


def _assert_no_duplicate_keys(out: Path) -> pl.DataFrame:
    snaps = pl.read_delta(str(out / "creator_snapshots"))
    keys = ["platform", "handle_norm", "snapshot_date"]
    assert snaps.select(keys).is_duplicated().sum() == 0
    return snaps


@pytest.mark.slow
def test_two_runs_at_once_one_writes_the_other_exits_3(
    prefect_harness: None, big_export: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    # each holds the lock 10 s before committing, however fast the run: the two start-ups
    # differ by far less, so the second always finds the lock taken
    procs = [_start(str(big_export), "--out", str(out), pause_before_commit=10) for _ in range(2)]
    results = [_finish(p) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 3], [r[2][-1500:] for r in results]

    winner = next(p for p, r in zip(procs, results, strict=True) if r[0] == 0)
    _, _, loser_err = next(r for r in results if r[0] == 3)
    [manifest] = _manifests(out)  # one run published, the other changed nothing
    # the message names the run holding the lock: its run id and process id
    loser_err = " ".join(loser_err.split())  # rich wraps long lines
    assert "output locked:" in loser_err
    assert f"run {manifest['run_id']} (pid {winner.pid}," in loser_err
    assert "--wait-lock" in loser_err

    snaps = _assert_no_duplicate_keys(out)
    assert snaps.height == ROWS == manifest["files"][0]["enriched"]
    assert snaps.get_column("run_id").unique().to_list() == [manifest["run_id"]]
    assert pl.read_delta(str(out / "ledger")).height == 1
    assert not (out / ".roster.lock").read_text()  # released
    assert not (out / "_staging").exists() or not any((out / "_staging").iterdir())


@pytest.mark.slow
def test_second_run_with_wait_lock_runs_after_the_first(
    prefect_harness: None, big_export: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = _start(str(big_export), "--out", str(out), pause_before_commit=3)
    lock = out / ".roster.lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and f"pid {first.pid}," in lock.read_text()):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.05)
    # the first run holds the lock; the second reprocesses the same file once it may
    second = _start(str(big_export), "--out", str(out), "--wait-lock", "120", "--full-refresh")
    (code1, _, err1), (code2, _, err2) = _finish(first), _finish(second)
    assert (code1, code2) == (0, 0), (err1[-1500:], err2[-1500:])

    m1, m2 = sorted(_manifests(out), key=lambda m: m["started_at"])
    assert m2["params"]["wait_lock"] == 120 and m2["params"]["full_refresh"]
    # the second run did its work after the first had published: it waited for the lock
    assert m2["files"][0]["enriched"] == ROWS and not m2["skipped_files"]
    assert m2["table_versions"]["creator_snapshots"] > m1["table_versions"]["creator_snapshots"]
    assert m2["started_at"] <= m1["finished_at"] <= m2["finished_at"]
    timing = json.loads(re.search(r"^timing: (.*)$", err2, re.M).group(1))  # type: ignore[union-attr]
    waited = timing["flow_total"] - timing["ingest"] - timing["build_total"] - timing["publish"]
    assert waited > 0.5, timing  # its flow started, then waited for the lock

    snaps = _assert_no_duplicate_keys(out)
    assert snaps.height == ROWS
    assert snaps.get_column("run_id").unique().to_list() == [m2["run_id"]]
    assert pl.read_delta(str(out / "ledger")).height == 1


def test_same_inputs_twice_publish_the_same_tables(
    run_flow, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    first = run_flow([SAMPLE_DATA], out, full_refresh=True)
    before = {t: table_contents(out, t) for t in TABLE_KEYS}
    second = run_flow([SAMPLE_DATA], out, full_refresh=True)
    assert not second["skipped_files"]
    assert [f["source_file"] for f in second["files"]] == [f["source_file"] for f in first["files"]]
    for table, frame in before.items():
        assert frame.height > 0
        again = table_contents(out, table)
        assert again.equals(frame), table
        if table != "quarantine":  # quarantine keeps one row per rejected cell
            assert not again.select(TABLE_KEYS[table]).is_duplicated().any(), table
    _assert_no_duplicate_keys(out)
    runs = pl.read_delta(str(out / "creator_snapshots")).get_column("run_id").unique()
    assert runs.to_list() == [second["run_id"]]  # replaced, not appended

    # without --full-refresh every file is known: skipped, and nothing changes
    tables = [*TABLE_KEYS, "ledger"]
    versions = {t: DeltaTable(str(out / t)).version() for t in tables}
    third = run_flow([SAMPLE_DATA], out)
    assert third["files"] == []
    assert sorted(f["source_file"] for f in third["skipped_files"]) == sorted(
        f["source_file"] for f in first["files"]
    )
    assert {f["processed_by_run"] for f in third["skipped_files"]} == {second["run_id"]}
    for table, frame in before.items():
        assert table_contents(out, table).equals(frame), table
    assert {t: DeltaTable(str(out / t)).version() for t in tables} == versions  # no commit

    # and `roster enrich` says so
    from flows.printing import print_summary

    print_summary(third)
    said = " ".join(capsys.readouterr().out.split())
    n = len(third["skipped_files"])
    assert f"{n} file(s) skipped: already processed (use --full-refresh to reprocess)" in said
    for f in third["skipped_files"]:
        assert f"{f['source_file']} │ {second['run_id']}" in said
