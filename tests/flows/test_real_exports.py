"""Acceptance on the real 2022 exports: >= 99% enriched, counts reconcile per file and
against an independent count made with Python's csv module."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REAL_EXPORTS

pytestmark = [pytest.mark.real_exports, pytest.mark.slow]
UNDATED = ["instagram_undated_2022.csv", "tiktok_undated_2022.csv", "youtube_undated_2022.csv"]


def csv_module_count(path: Path) -> int:
    """Non-blank data records after the header, counted independently of the pipeline."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return sum(1 for r in rows[1:] if any(cell.strip() for cell in r))


@pytest.fixture(scope="module")
def real_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    from flows.enrich_roster import EnrichParams, run_enrich

    out = tmp_path_factory.mktemp("real") / "out"
    return run_enrich(EnrichParams(inputs=[str(REAL_EXPORTS)], out=str(out))), out


def test_every_file_reconciles_and_matches_the_csv_module_count(
    real_run: tuple[dict, Path],
) -> None:
    manifest, _ = real_run
    assert len(manifest["files"]) == 15
    for f in manifest["files"]:
        assert f["rows_read"] == csv_module_count(REAL_EXPORTS / f["source_file"]), f["source_file"]
        assert f["rows_read"] == f["enriched"] + f["quarantined"] + f["duplicates_collapsed"], f
        assert f["reconciled"]


def test_dated_files_are_at_least_99_percent_enriched(real_run: tuple[dict, Path]) -> None:
    manifest, _ = real_run
    dated = [f for f in manifest["files"] if f["source_file"] not in UNDATED]
    assert all(f["status"] == "ok" for f in dated)
    read = sum(f["rows_read"] for f in dated)
    represented = sum(f["enriched"] + f["duplicates_collapsed"] for f in dated)
    assert represented / read >= 0.99
    # the tables hold what the manifest says
    enriched = sum(f["enriched"] for f in dated)
    snapshots = pl.read_delta(str(real_run[1] / "creator_snapshots"))
    assert snapshots.height == enriched


def test_undated_files_are_quarantined_whole_with_how_to_fix(real_run: tuple[dict, Path]) -> None:
    manifest, out = real_run
    by_name = {f["source_file"]: f for f in manifest["files"]}
    for name in UNDATED:
        f = by_name[name]
        assert f["status"] == "quarantined"
        assert f["reason"] == "unknown_snapshot_date"
        assert "--snapshot-date YYYY-MM-DD" in f["detail"]
        assert f["quarantined"] == f["rows_read"] == csv_module_count(REAL_EXPORTS / name)
    q = pl.read_delta(str(out / "quarantine")).filter(pl.col("source_row").is_null())
    assert sorted(q.get_column("source_file").to_list()) == UNDATED


def test_undated_files_are_enriched_with_snapshot_date(run_flow, tmp_path: Path) -> None:
    manifest = run_flow(
        [REAL_EXPORTS / n for n in UNDATED], tmp_path / "out", snapshot_date="2022-03-01"
    )
    for f in manifest["files"]:
        assert f["status"] == "ok"
        assert f["snapshot_date"] == "2022-03-01"
        assert (f["enriched"] + f["duplicates_collapsed"]) / f["rows_read"] >= 0.99


def test_real_values_land_where_a_marketer_expects(real_run: tuple[dict, Path]) -> None:
    _, out = real_run
    snaps = pl.read_delta(str(out / "creator_snapshots"))
    messi = snaps.filter(
        (pl.col("platform") == "instagram")
        & (pl.col("handle_norm") == "leomessi")
        & (pl.col("snapshot_date") == pl.date(2022, 12, 1))
    ).row(0, named=True)
    assert messi["followers"] == 409_800_000
    assert messi["display_name"] == "Leo Messi"
    assert messi["country"] == "AR"
    assert messi["tier"] == "mega"
    assert messi["engagement_formula"] == "aggregate"
    assert messi["engagement_rate"] == pytest.approx(23_400_000 / 409_800_000)
    assert messi["categories"] == ["Sports with a ball", "Family"]
    # youtube_sep_2022: "Name" holds the display name and "Youtuber" the handle
    tseries = snaps.filter(
        (pl.col("platform") == "youtube")
        & (pl.col("snapshot_date") == pl.date(2022, 9, 1))
        & (pl.col("handle_norm") == "tseries")
    ).row(0, named=True)
    assert tseries["display_name"] == "T-Series"
    assert tseries["followers"] == 224_400_000
    # instagram_jun_2022: the column headed "Views avg." holds countries
    jun = snaps.filter(
        (pl.col("platform") == "instagram") & (pl.col("snapshot_date") == pl.date(2022, 6, 1))
    )
    assert jun.get_column("avg_views").null_count() == jun.height
    assert jun.get_column("country").null_count() < jun.height * 0.2
    # micro TikTok creators exist in the real data
    assert snaps.filter((pl.col("platform") == "tiktok") & (pl.col("tier") == "micro")).height > 0


def test_creators_growth_against_the_previous_monthly_snapshot(real_run: tuple[dict, Path]) -> None:
    _, out = real_run
    snaps = pl.read_delta(str(out / "creator_snapshots"))
    creators = pl.read_delta(str(out / "creators"))
    beast = snaps.filter(
        (pl.col("platform") == "tiktok") & (pl.col("handle_norm") == "mrbeast")
    ).sort("snapshot_date")
    latest, prev = beast.row(-1, named=True), beast.row(-2, named=True)
    row = creators.filter(pl.col("creator_key") == latest["creator_key"]).row(0, named=True)
    assert row["snapshot_date"] == latest["snapshot_date"]
    assert row["followers_prev"] == prev["followers"]
    assert row["snapshot_date_prev"] == prev["snapshot_date"]
    assert row["followers_change"] == latest["followers"] - prev["followers"]
    assert row["followers_change_pct"] == pytest.approx(
        (latest["followers"] - prev["followers"]) / prev["followers"]
    )
    assert row["snapshots_count"] == beast.height
    # a creator seen once has no previous snapshot
    once = creators.filter(pl.col("snapshots_count") == 1).row(0, named=True)
    assert once["followers_prev"] is None and once["followers_change"] is None


# ---- a real export re-saved by a European spreadsheet ---------------------------------
DATED = sorted(p.name for p in REAL_EXPORTS.glob("*.csv") if p.name not in UNDATED)
DOT_NUMBER = re.compile(r"^(\d+)\.(\d+)([KMBkmb]?)$")
CREATOR_COLUMNS = [
    "source_row",
    "platform",
    "snapshot_date",
    "handle_norm",
    "display_name",
    "followers",
    "avg_views",
    "avg_likes",
    "avg_comments",
    "avg_shares",
    "avg_engagement",
    "avg_engagement_authentic",
    "engagement_rate_reported",
    "country_raw",
    "audience_country_raw",
]


def european_copy(src: Path, dest: Path) -> int:
    """``src`` as a German/Spanish Excel saves it: ';' between cells, decimal commas
    (60.3M -> 60,3M, 477900000.00 -> 477900000,00). Returns how many cells changed."""
    with src.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    changed = 0
    for row in rows[1:]:
        for i, cell in enumerate(row):
            european = DOT_NUMBER.sub(r"\1,\2\3", cell)
            changed += european != cell
            row[i] = european
    with dest.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    return changed


def _staged_creators(path: Path, staging: Path) -> tuple[pl.DataFrame, list[str]]:
    from adapters.ingest import RunOptions, ingest_file

    staging.mkdir()
    (outcome,) = ingest_file(path, path.name, 0, RunOptions(), staging)
    assert outcome.status == "ok", outcome.detail
    rows = pl.read_parquet(outcome.staged_path).select(CREATOR_COLUMNS).sort("source_row")
    return rows, outcome.decisions


@pytest.mark.parametrize("name", DATED)
def test_a_european_resave_gives_identical_creators(tmp_path: Path, name: str) -> None:
    european = tmp_path / "eu" / name
    european.parent.mkdir()
    changed = european_copy(REAL_EXPORTS / name, european)
    assert changed > 0 or name.startswith("youtube")  # some exports hold only integers
    original, _ = _staged_creators(REAL_EXPORTS / name, tmp_path / "s1")
    resaved, _ = _staged_creators(european, tmp_path / "s2")
    # free text stays text: a number typed into the country column is re-saved too
    country = pl.col("country_raw").str.replace(DOT_NUMBER.pattern, "${1},${2}${3}")
    assert resaved.equals(original.with_columns(country))


def test_tiktok_dec_resaved_keeps_mrbeast_at_60_3_million(tmp_path: Path) -> None:
    european = tmp_path / "tiktok_dec_2022.csv"
    european_copy(REAL_EXPORTS / "tiktok_dec_2022.csv", european)
    assert "mrbeast;MrBeast;60,3M" in european.read_text(encoding="utf-8")
    rows, _ = _staged_creators(european, tmp_path / "s")
    top = dict(rows.select("handle_norm", "followers").iter_rows())
    assert top["mrbeast"] == 60_300_000
    assert top["khaby.lame"] == 153_100_000


# ---- column meaning on the real exports -----------------------------------------------
INSTAGRAM_DATED = ["instagram_dec_2022.csv", "instagram_nov_2022.csv", "instagram_sep_2022.csv"]


def _engagement_median(path: Path, staging: Path) -> float:
    rows, _ = _staged_creators(path, staging)
    return float(rows.select((pl.col("avg_engagement") / pl.col("followers")).median()).item())


def test_instagram_jun_engagement_is_in_line_with_the_other_months(tmp_path: Path) -> None:
    """'Likes avg' / 'Comments avg.' there hold authentic and average engagement (comments
    exceed likes on most rows): used as one engagement figure, not added up."""
    from adapters.ingest import RunOptions, ingest_file

    name = "instagram_jun_2022.csv"
    (tmp_path / "s").mkdir()
    (o,) = ingest_file(REAL_EXPORTS / name, name, 0, RunOptions(), tmp_path / "s")
    assert o.mapping["avg_engagement"] == "Comments avg."
    assert "avg_likes" not in o.mapping and "avg_comments" not in o.mapping
    assert any("comments exceed likes in" in d for d in o.decisions)
    jun = _engagement_median(REAL_EXPORTS / name, tmp_path / "jun")
    others = [_engagement_median(REAL_EXPORTS / n, tmp_path / n) for n in INSTAGRAM_DATED]
    assert min(others) * 0.8 <= jun <= max(others) * 1.25, (jun, others)


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("instagram_sep_2022.csv", "audience_country"),
        ("instagram_undated_2022.csv", "audience_country"),
        ("youtube_undated_2022.csv", "audience_country"),
        ("instagram_dec_2022.csv", "country"),
        ("youtube_sep_2022.csv", "country"),
    ],
)
def test_audience_country_is_kept_apart_from_country(name: str, column: str) -> None:
    from adapters.config import staging_settings
    from adapters.readers import read_export
    from transforms.staging import map_columns

    (sheet,) = read_export(REAL_EXPORTS / name, name)
    mapping, _ = map_columns(sheet, staging_settings(None), None)
    other = {"country": "audience_country", "audience_country": "country"}[column]
    assert column in mapping.columns and other not in mapping.columns
