"""The new build on a folder written by the previous release (tests/fixtures): it reads
and extends it, keeping every published row, and says what it upgraded."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SAMPLE_DATA

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "previous_release_out"
CORRECTIONS = "handle,followers,avg views\nmaria.fit,45500,9100\nnewcomer.one,12000,3000\n"
TABLES = ("creator_snapshots", "deliveries", "quarantine", "ledger", "creators")


def _landing(path: Path) -> Path:
    """The landing folder the fixture was made from, plus a new night's export."""
    shutil.copytree(SAMPLE_DATA, path, ignore=shutil.ignore_patterns("*.py"))
    (path / "instagram_oct_2026_corrections.csv").write_text(CORRECTIONS)
    return path


def _rows(out: Path, table: str) -> pl.DataFrame:
    df = pl.read_delta(str(out / table))
    return df.drop([c for c in ("run_id", "processed_at") if c in df.columns])


@pytest.fixture
def old_out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(FIXTURE, out)
    return out


def test_a_previous_release_folder_is_read_and_extended(
    run_flow, old_out: Path, tmp_path: Path
) -> None:
    before = {t: _rows(old_out, t) for t in TABLES}
    landing = _landing(tmp_path / "landing")
    (landing / "tiktok_nov_2026.csv").write_text(
        "handle,followers,avg views\nnew.dancer,52000,15000\nnew.chef,8100,900\n"
    )
    manifest = run_flow([landing], old_out)
    assert manifest["upgrades"] == []  # this release does not change the published layout
    assert [f["source_file"] for f in manifest["files"]] == ["tiktok_nov_2026.csv"]
    assert len(manifest["skipped_files"]) == 6  # the files the previous release processed
    snaps = _rows(old_out, "creator_snapshots")
    old = before["creator_snapshots"]
    kept = old.join(snaps, on=old.columns, how="semi", nulls_equal=True)
    assert kept.height == old.height  # every row published before is still there, unchanged
    assert snaps.height == old.height + 2
    assert set(_rows(old_out, "creators").get_column("handle_norm")) >= {"new.dancer", "new.chef"}
    assert _rows(old_out, "quarantine").height == before["quarantine"].height
    assert (old_out / "roster.duckdb").is_file()


def test_a_folder_from_before_deliveries_were_kept_is_upgraded_and_says_so(
    run_flow, old_out: Path, tmp_path: Path
) -> None:
    shutil.rmtree(old_out / "deliveries")  # as releases before the deliveries table wrote it
    snaps = _rows(old_out, "creator_snapshots")
    manifest = run_flow([_landing(tmp_path / "landing")], old_out, full_refresh=True)
    (line,) = manifest["upgrades"]
    assert line.startswith("deliveries_from_snapshots: deliveries: created from the")
    assert f"{snaps.height:,} published snapshot rows" in line
    assert _rows(old_out, "creator_snapshots").height == snaps.height  # nothing lost
