"""The roster CLI as analysts use it: summary, exit status, usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REAL_EXPORTS, SAMPLE_DATA


def _roster(*args: str, api: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if api:  # reuse the session's test API instead of starting another one
        from prefect.settings import PREFECT_API_URL

        env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_sample_data_run_prints_summary_and_exits_0(prefect_harness: None, tmp_path: Path) -> None:
    res = _roster("enrich", str(SAMPLE_DATA), "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr[-2000:]
    assert "rows read =" in res.stdout
    assert "enriched rows by platform and tier" in res.stdout
    assert "quarantine by reason" in res.stdout
    assert "timing: " in res.stderr
    assert (tmp_path / "out" / "creators" / "_delta_log").is_dir()


@pytest.mark.real_exports
def test_a_file_quarantined_whole_exits_1_and_says_how_to_fix(
    prefect_harness: None, tmp_path: Path
) -> None:
    res = _roster(
        "enrich",
        str(REAL_EXPORTS / "tiktok_undated_2022.csv"),
        str(REAL_EXPORTS / "tiktok_dec_2022.csv"),
        "--out",
        str(tmp_path / "out"),
    )
    assert res.returncode == 1, res.stderr[-2000:]
    assert "--snapshot-date YYYY-MM-DD" in res.stdout
    # the summary counts the whole file's rows behind its reason, not just "1 file"
    [manifest] = [
        json.loads(p.read_text()) for p in (tmp_path / "out").glob("runs/*/manifest.json")
    ]
    assert manifest["quarantine_by_reason"]["unknown_snapshot_date"] == 1
    assert manifest["quarantined_rows_by_reason"]["unknown_snapshot_date"] == 1000
    assert manifest["quarantined_rows_by_reason"].keys() == manifest["quarantine_by_reason"].keys()


def test_nothing_readable_exits_2(prefect_harness: None, tmp_path: Path) -> None:
    empty = tmp_path / "tiktok_jan_2025.csv"
    empty.write_text("")
    res = _roster("enrich", str(empty), "--out", str(tmp_path / "out"))
    assert res.returncode == 2, res.stderr[-2000:]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enrich", "does/not/exist.csv", "--out", "x"], "input not found"),
        (
            ["enrich", str(SAMPLE_DATA), "--out", "x", "--snapshot-date", "2022-13-01"],
            "month must be in 1..12",
        ),
        (["enrich", str(SAMPLE_DATA), "--out", "x", "--platform", "myspace"], "platform"),
    ],
)
def test_usage_errors_exit_2_before_any_work(args: list[str], message: str, tmp_path: Path) -> None:
    res = _roster(*args, api=False)
    assert res.returncode == 2
    assert message in res.stderr


def test_quarantined_rows_count_rows_not_cells_and_whole_files_by_their_rows() -> None:
    import polars as pl

    from flows.enrich_roster import quarantined_rows_by_reason

    quarantine = pl.DataFrame(
        {
            "source_file": ["a.csv", "a.csv", "a.csv", "b.csv"],
            "source_row": [5, 5, 7, None],
            "reason": ["unparseable_number", "unparseable_number", "negative_value", "empty_file"],
        }
    )
    files = [
        {"status": "ok", "reason": None, "rows_read": 10},
        {"status": "quarantined", "reason": "empty_file", "rows_read": 0},
        {"status": "quarantined", "reason": "unknown_platform", "rows_read": 40},
    ]
    assert quarantined_rows_by_reason(quarantine, files) == {
        "empty_file": 0,
        "negative_value": 1,
        "unknown_platform": 40,
        "unparseable_number": 1,
    }
