"""The published ``creators`` table carries issue 12's columns: one creator across handle
spellings (growth continuous across a rename), ``person_key`` across platforms, currency,
and the catalog's ``people`` view and current-only ``tier_summary``."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from adapters.catalog import BI_EXAMPLE_QUERIES, connect_catalog


def write(folder: Path, name: str, rows: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("handle,display_name,followers\n" + "\n".join(rows) + "\n")


@pytest.fixture
def out(tmp_path: Path, run_flow) -> Path:
    landing = tmp_path / "landing"
    # October: the channel is written as its display name; November: as one word.
    write(
        landing,
        "youtube_oct_2026.csv",
        ["Alejo Igoa,Alejo Igoa,100000", "gone_in_nov,Gone,50000", "stays,Stays,20000"],
    )
    write(landing, "youtube_nov_2026.csv", ["AlejoIgoa,Alejo Igoa,110000", "stays,Stays,21000"])
    write(landing, "tiktok_nov_2026.csv", ["alejoigoa,Alejo Igoa,5000000"])
    folder = tmp_path / "out"
    run_flow([landing], folder)
    return folder


def creators(out: Path) -> pl.DataFrame:
    return pl.read_delta(str(out / "creators")).sort("platform", "handle_norm")


def test_a_renamed_handle_is_one_creator_with_continuous_growth(out: Path) -> None:
    youtube = creators(out).filter(pl.col("platform") == "youtube")
    assert youtube.height == 3  # alejoigoa (two spellings), gone_in_nov, stays
    alejo = youtube.filter(pl.col("display_name") == "Alejo Igoa").row(0, named=True)
    assert (alejo["handle"], alejo["followers"], alejo["followers_prev"]) == (
        "AlejoIgoa",
        110_000,
        100_000,
    )
    assert alejo["followers_change"] == 10_000
    assert alejo["snapshots_count"] == 2
    assert alejo["identity_spellings"] == 2


def test_a_creator_missing_from_the_latest_snapshot_is_not_current(out: Path) -> None:
    youtube = creators(out).filter(pl.col("platform") == "youtube")
    current = dict(youtube.select("handle_norm", "is_current").iter_rows())
    assert current == {"alejoigoa": True, "gone_in_nov": False, "stays": True}
    gone = youtube.filter(pl.col("handle_norm") == "gone_in_nov").row(0, named=True)
    assert str(gone["last_seen_date"]) == "2026-10-01"


def test_tier_summary_counts_current_creators_only(out: Path) -> None:
    with connect_catalog(out) as con:
        counted = con.execute(
            "SELECT sum(creators) FROM tier_summary WHERE platform = 'youtube'"
        ).fetchone()
    assert counted is not None and counted[0] == 2


def test_people_view_links_one_person_across_platforms(out: Path) -> None:
    with connect_catalog(out) as con:
        rows = con.execute(
            "SELECT platforms, accounts, total_followers FROM people WHERE accounts > 1"
        ).fetchall()
    assert rows == [(["tiktok", "youtube"], 2, 5_110_000)]
    one = creators(out).filter(pl.col("display_name") == "Alejo Igoa")
    assert one.get_column("person_key").n_unique() == 1


def test_readme_people_query_lists_the_person(out: Path) -> None:
    people_query = next(q.sql for q in BI_EXAMPLE_QUERIES if q.title.startswith("People"))
    with connect_catalog(out) as con:
        rows = con.execute(people_query).fetchall()
    assert [(r[1], r[2], r[4]) for r in rows] == [("Alejo Igoa", ["tiktok", "youtube"], 5_110_000)]


def test_no_signal_gives_unknown_audience_quality(out: Path) -> None:
    assert set(creators(out).get_column("audience_quality")) == {"unknown"}


def test_people_view_has_one_row_per_person_from_a_plain_duckdb_client(out: Path) -> None:
    con = duckdb.connect(str(out / "roster.duckdb"), read_only=True)
    try:
        con.execute(f"SET file_search_path = '{out}'")
        # four accounts: Alejo Igoa on YouTube and TikTok, gone_in_nov, stays
        assert con.execute("SELECT count(*), sum(accounts) FROM people").fetchone() == (3, 4)
    finally:
        con.close()


@pytest.mark.parametrize(
    ("header", "value", "expected_quality", "expected_flags"),
    [
        ("AQS", "85", "high", []),
        ("AQS", "25", "low", ["low_vendor_quality_score"]),
        ("Audience credibility", "82%", "high", []),
        ("Audience credibility", "0.45", "low", ["low_audience_credibility"]),
        ("Audience credibility", "62", "medium", ["low_audience_credibility"]),
    ],
)
def test_vendor_audience_scores_set_audience_quality(
    tmp_path: Path, run_flow, header: str, value: str, expected_quality: str, expected_flags: list
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "instagram_nov_2026.csv").write_text(
        f"handle,followers,{header}\nscored,50000,{value}\n"
    )
    run_flow([landing], tmp_path / "out")
    row = creators(tmp_path / "out").row(0, named=True)
    assert (row["audience_quality"], row["quality_flags"]) == (expected_quality, expected_flags)
    assert row["audience_quality_basis"] is not None
