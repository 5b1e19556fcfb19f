"""Every quarantine reason, with the file, row, column and raw value a user needs.

Runs the per-file stage (read -> parse -> validate) without Prefect."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from adapters.build import build_roster
from adapters.ingest import RunOptions, ingest_file

HEADER = "handle,display name,followers,avg likes,avg comments,engagement rate\n"


def _ingest(tmp_path: Path, name: str, content: str | bytes, **opts: object):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    outcomes = ingest_file(path, name, 0, RunOptions(**opts), staging)
    q = (
        pl.concat([pl.read_parquet(o.quarantine_path) for o in outcomes if o.quarantine_path])
        if any(o.quarantine_path for o in outcomes)
        else None
    )
    return outcomes, q


ROW_CASES = [
    ("abc,A,12.3Q,1,1,\n", "unparseable_number", "followers", "12.3Q"),
    ("abc,A,NaN,1,1,\n", "unparseable_number", "followers", "NaN"),
    ("abc,A,inf,1,1,\n", "unparseable_number", "followers", "inf"),
    ("abc,A,1e30,1,1,\n", "out_of_range", "followers", "1e30"),
    ("abc,A,-10,1,1,\n", "negative_value", "followers", "-10"),
    ("abc,A,20B,1,1,\n", "out_of_range", "followers", "20B"),
    ("abc,A,1000,-3,1,\n", "negative_value", "avg likes", "-3"),
    ("abc,A,1000,1,1,140%\n", "engagement_rate_over_100pct", "engagement rate", "140%"),
    ("N/A,A,1000,1,1,\n", "missing_handle", "handle", None),
    ("abc,A,N/A,1,1,\n", "missing_followers", "followers", None),
    ("@,A,1000,1,1,\n", "empty_handle_norm", "handle", None),
    ("abc,A,1000,1,1,,extra\n", "too_many_fields", None, "extra"),
]


@pytest.mark.parametrize(("row", "reason", "column", "raw"), ROW_CASES)
def test_row_level_reasons(
    tmp_path: Path, row: str, reason: str, column: str | None, raw: str | None
) -> None:
    good = "goodone,Good,12K,100,10,\n"
    outcomes, q = _ingest(tmp_path, "tiktok_mar_2025.csv", HEADER + good + row)
    (o,) = outcomes
    assert o.status == "ok"
    assert o.rows_read == 2 and o.staged_rows == 1
    assert q is not None
    got = q.filter(pl.col("reason") == reason).row(0, named=True)
    assert got["source_file"] == "tiktok_mar_2025.csv"
    assert got["source_row"] == 3  # header is row 1
    assert got["column"] == column
    if raw is not None:
        assert raw in got["raw_value"]
    assert got["platform"] == "tiktok" and got["snapshot_date"] == dt.date(2025, 3, 1)


def test_platform_and_date_columns_with_bad_values(tmp_path: Path) -> None:
    content = (
        "platform,date,handle,followers\n"
        "instagram,2025-01-31,a,100\n"
        "myspace,2025-01-31,b,100\n"
        "tiktok,31/31/2025,c,5\n"
    )
    _, q = _ingest(tmp_path, "agency.csv", content)
    reasons = dict(q.select("source_row", "reason").iter_rows())
    assert reasons == {3: "unknown_platform", 4: "invalid_date"}


def test_malformed_ndjson_line(tmp_path: Path) -> None:
    content = (
        '{"handle": "a", "followers": "1K"}\n'
        '{"handle": "b", "followers": \n'
        '{"handle": "c", "followers": 5}\n'
    )
    outcomes, q = _ingest(tmp_path, "tiktok_may_2025.ndjson", content)
    assert outcomes[0].staged_rows == 2
    assert q.select("source_row", "reason").row(0) == (2, "malformed_json")


FILE_CASES = [
    ("tiktok_mar_2025.csv", "", "empty_file", "empty"),
    (
        "tiktok_mar_2025.csv",
        "handle,display name\nabc,A\n",
        "no_followers_column",
        "[columns] followers",
    ),
    (
        "tiktok_mar_2025.csv",
        "bio,followers\nhello there,5\n",
        "no_handle_column",
        "[columns] handle",
    ),
    ("creators_mar_2025.csv", HEADER + "a,A,1,1,1,\n", "unknown_platform", "--platform"),
    (
        "tiktok_creators.csv",
        HEADER + "a,A,1,1,1,\n",
        "unknown_snapshot_date",
        "--snapshot-date YYYY-MM-DD",
    ),
    ("tiktok_mar_2025.avro", "Obj", "unsupported_format", "not a supported export format"),
    ("tiktok_mar_2025.parquet", "PAR1", "unreadable_parquet", "tiktok_mar_2025.parquet"),
]


@pytest.mark.parametrize(("name", "content", "reason", "hint"), FILE_CASES)
def test_file_level_reasons(
    tmp_path: Path, name: str, content: str, reason: str, hint: str
) -> None:
    outcomes, q = _ingest(tmp_path, name, content)
    (o,) = outcomes
    assert o.status == "quarantined"
    assert o.reason == reason
    assert hint in o.detail
    assert q.height == 1 and q.item(0, "source_row") is None and q.item(0, "reason") == reason


def test_cli_options_fill_in_platform_and_date(tmp_path: Path) -> None:
    outcomes, _ = _ingest(
        tmp_path,
        "creators.csv",
        HEADER + "a,A,1,1,1,\n",
        platform="youtube",
        snapshot_date=dt.date(2024, 5, 1),
    )
    assert outcomes[0].status == "ok"
    assert (outcomes[0].platform, outcomes[0].snapshot_date) == ("youtube", "2024-05-01")


def test_duplicates_collapse_and_conflicts_are_quarantined(tmp_path: Path) -> None:
    content = HEADER + "abc,A,1000,1,1,\n@ABC,A,1000,1,1,\nabc,A,2000,1,1,\nxyz,X,5,1,1,\n"
    outcomes, _ = _ingest(tmp_path, "tiktok_mar_2025.csv", content)
    build = build_roster(outcomes, RunOptions(), tmp_path / "staging", "run-1")
    counts = build.per_file["tiktok_mar_2025.csv"]
    # '@ABC' is 'abc' written differently: a duplicate; 2000 followers is a conflict
    assert counts == {"enriched": 2, "duplicates": 1, "conflicts": 1, "enrich_failed": 0}
    q = pl.concat([pl.read_parquet(p) for p in build.quarantine_paths])
    conflicts = q.filter(pl.col("reason") == "duplicate_conflict")
    assert conflicts.get_column("source_row").to_list() == [4]
    assert "tiktok_mar_2025.csv row 2" in conflicts.item(0, "raw_value")


def test_exact_duplicate_rows_collapse(tmp_path: Path) -> None:
    content = HEADER + "abc,A,1000,1,1,\nabc,A,1000,1,1,\n"
    outcomes, _ = _ingest(tmp_path, "tiktok_mar_2025.csv", content)
    build = build_roster(outcomes, RunOptions(), tmp_path / "staging", "run-1")
    assert build.per_file["tiktok_mar_2025.csv"] == {
        "enriched": 1,
        "duplicates": 1,
        "conflicts": 0,
        "enrich_failed": 0,
    }


def test_a_file_over_the_memory_bound_is_quarantined_whole(tmp_path: Path) -> None:
    outcomes, _ = _ingest(
        tmp_path, "tiktok_mar_2025.csv", HEADER + "a,A,1,1,1,\n" * 20_000, max_file_bytes=100_000
    )
    (o,) = outcomes
    assert (o.status, o.reason) == ("quarantined", "file_too_large")
    assert "--max-file-mb" in o.detail
