"""An explicit --platform / --snapshot-date beats the file name, and the disagreement is
noted; a file's platform from its profile URLs only when nothing else says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from adapters.ingest import RunOptions, ingest_file


def _ingest(tmp_path: Path, name: str, content: str, **opts: object):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    (outcome,) = ingest_file(path, name, 0, RunOptions(**opts), staging)
    return outcome


@pytest.mark.parametrize(
    ("opts", "platform", "snapshot", "note"),
    [
        ({"platform": "tiktok"}, "tiktok", "2022-12-01", "platform: --platform tiktok used; "),
        (
            {"snapshot_date": dt.date(2022, 11, 15)},
            "x",
            "2022-11-15",
            "snapshot_date: --snapshot-date 2022-11-15 used; the file name says 2022-12-01",
        ),
        ({}, "x", "2022-12-01", None),
        ({"platform": "x"}, "x", "2022-12-01", None),  # agreeing: nothing to note
    ],
)
def test_explicit_options_beat_the_file_name(
    tmp_path: Path, opts: dict, platform: str, snapshot: str, note: str | None
) -> None:
    o = _ingest(tmp_path, "campaign_x_dec_2022.csv", "handle,followers\na,100\n", **opts)
    assert o.status == "ok"
    assert (o.platform, o.snapshot_date) == (platform, snapshot)
    notes = [n for n in o.notes if n.startswith(("platform:", "snapshot_date:"))]
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and notes[0].startswith(note), notes
    rows = pl.read_parquet(o.staged_path)
    assert rows.get_column("platform").to_list() == [platform]


def test_a_future_snapshot_option_is_refused(tmp_path: Path) -> None:
    future = dt.date.today() + dt.timedelta(days=30)
    o = _ingest(tmp_path, "tiktok_export.csv", "handle,followers\na,1\n", snapshot_date=future)
    assert (o.status, o.reason) == ("quarantined", "future_snapshot_date")
    assert "--snapshot-date" in (o.detail or "")


def test_a_column_decision_is_typed_and_readable(tmp_path: Path) -> None:
    o = _ingest(tmp_path, "tiktok_mar_2025.csv", "handle;followers\na;12.345\nb;1.234\n")
    (d,) = o.column_decisions
    assert d.header == "followers" and d.field == "followers"
    assert d.topic == "number_format" and d.decision.startswith("decimal comma")
    assert any(line.startswith("'followers' (followers): decimal comma") for line in o.decisions)


def test_a_monthly_tab_beats_the_file_name_and_says_so(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Oct 2022"
    wb.active.append(["handle", "followers"])
    wb.active.append(["a", 1])
    wb.create_sheet("Dec 2022").append(["handle", "followers"])
    wb["Dec 2022"].append(["a", 2])
    path = tmp_path / "tiktok_dec_2022.xlsx"
    wb.save(path)
    (staging := tmp_path / "staging").mkdir()
    oct_, dec = ingest_file(path, path.name, 0, RunOptions(), staging)
    assert (oct_.snapshot_date, dec.snapshot_date) == ("2022-10-01", "2022-12-01")
    assert any("the file name says 2022-12-01" in n for n in oct_.notes)
    assert not any("the file name says" in n for n in dec.notes)
