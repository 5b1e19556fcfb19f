"""Decisions that stick: a platform or date given for a file (``--snapshot-date`` on an
undated export) is remembered with the file's bytes, so later plain runs (the nightly on
the same landing folder) neither re-quarantine it nor drop its rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "tiktok_undated.csv").write_text("handle,followers\nann,12000\nbob,250000\n")
    (folder / "tiktok_nov_2026.csv").write_text("handle,followers\nann,11000\n")
    return folder


def snapshot_rows(out: Path) -> dict[tuple[str, str], int]:
    snaps = pl.read_delta(str(out / "creator_snapshots"))
    by = snaps.group_by("source_file", pl.col("snapshot_date").cast(pl.String)).len()
    return {(f, d): n for f, d, n in by.iter_rows()}


def test_a_date_given_once_sticks_for_later_plain_runs(tmp_path: Path, landing: Path, run_flow):
    out = tmp_path / "out"
    first = run_flow([landing / "tiktok_undated.csv"], out, snapshot_date="2026-10-01")
    assert [f["status"] for f in first["files"]] == ["ok"]

    nightly = run_flow([landing], out)  # no --snapshot-date: the nightly on the folder
    assert [f["source_file"] for f in nightly["files"]] == ["tiktok_nov_2026.csv"]
    skipped = {s["source_file"]: s["processed_by_run"] for s in nightly["skipped_files"]}
    assert skipped == {"tiktok_undated.csv": first["run_id"]}
    assert snapshot_rows(out) == {
        ("tiktok_undated.csv", "2026-10-01"): 2,
        ("tiktok_nov_2026.csv", "2026-11-01"): 1,
    }
    quarantine = pl.read_delta(str(out / "quarantine"))
    assert quarantine.filter(pl.col("source_file") == "tiktok_undated.csv").is_empty()


def test_a_full_refresh_reprocesses_with_the_remembered_date(
    tmp_path: Path, landing: Path, run_flow
) -> None:
    out = tmp_path / "out"
    run_flow([landing / "tiktok_undated.csv"], out, snapshot_date="2026-10-01")
    again = run_flow([landing], out, full_refresh=True)
    undated = next(f for f in again["files"] if f["source_file"] == "tiktok_undated.csv")
    assert (undated["status"], undated["snapshot_date"]) == ("ok", "2026-10-01")
    assert any("--snapshot-date 2026-10-01 remembered from run" in n for n in undated["notes"])
    assert snapshot_rows(out)[("tiktok_undated.csv", "2026-10-01")] == 2


def test_changed_bytes_are_a_new_version_without_the_remembered_date(
    tmp_path: Path, landing: Path, run_flow
) -> None:
    out = tmp_path / "out"
    run_flow([landing / "tiktok_undated.csv"], out, snapshot_date="2026-10-01")
    (landing / "tiktok_undated.csv").write_text("handle,followers\nann,13000\n")
    later = run_flow([landing / "tiktok_undated.csv"], out)
    [undated] = later["files"]
    assert (undated["status"], undated["reason"]) == ("quarantined", "unknown_snapshot_date")
