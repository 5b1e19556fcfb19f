"""`roster inspect`: how a file would be read, from the pipeline's own ingest (no Prefect)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.ingest import RunOptions
from adapters.inspect import inspect_file, inspect_files, number_forms
from tests.conftest import REAL_EXPORTS, SAMPLE_DATA

# The column each field is read from, per real export, as `roster inspect` shows it (and a run
# records in its manifest). A change in header matching shows up here first.
MAPPINGS = {
    "instagram_dec_2022.csv": {
        "avg_engagement": "Eng. (Avg.)",
        "avg_engagement_authentic": "Eng. (Auth.)",
        "categories": "Category_1 + Category_2",
        "country": "country",
        "display_name": "instagram name",
        "followers": "followers",
        "handle": "name",
    },
    "instagram_jun_2022.csv": {
        "avg_engagement": "Comments avg.",
        "categories": "Category_1 + Category_2",
        "country": "Views avg.",
        "display_name": "influencer name ",
        "followers": "Subscribers count",
        "handle": "instagram name",
    },
    "instagram_nov_2022.csv": {
        "avg_engagement": "Eng. (Avg.)",
        "avg_engagement_authentic": "Eng. (Auth.)",
        "categories": "Category-1 + Category-2",
        "country": "\nCountry",
        "display_name": "Instagram Name",
        "followers": "Followers",
        "handle": "Name",
    },
    "instagram_sep_2022.csv": {
        "audience_country": "Audience country",
        "avg_engagement": "Engagement average Values \n",
        "avg_engagement_authentic": "Authentic engagement Values \n",
        "categories": "Category_1 + Category_2",
        "display_name": " Name",
        "followers": "Subscribers",
        "handle": "Instagram name",
    },
    "instagram_undated_2022.csv": {
        "audience_country": "Audience country(mostly)",
        "avg_engagement": "Engagement avg Values \n",
        "avg_engagement_authentic": "Authentic engagement Values \n",
        "categories": "category_1 + category_2",
        "display_name": "instagram name",
        "followers": "Followers Numbers ",
        "handle": "Influencer insta name",
    },
    "tiktok_dec_2022.csv": {
        "avg_comments": "comments(avg.)",
        "avg_likes": "likes(avg.)",
        "avg_shares": "shares(avg.)",
        "avg_views": "views(avg)",
        "display_name": "Tiktok name",
        "followers": "followers",
        "handle": "Tiktoker name",
    },
    "tiktok_jun_2022.csv": {
        "avg_comments": "Comments avg.",
        "avg_likes": "Likes avg",
        "avg_shares": "Shares avg",
        "avg_views": "Views avg.",
        "display_name": "influencer name",
        "followers": "Subscribers count",
        "handle": "Tiktoker",
    },
    "tiktok_nov_2022.csv": {
        "avg_comments": "Comments (Avg.)",
        "avg_likes": "Likes (Avg.)",
        "avg_shares": "Shares (Avg.)",
        "avg_views": "Views (Avg.)",
        "display_name": "Tiktok name",
        "followers": "\nFollowers",
        "handle": "Tiktoker name",
    },
    "tiktok_sep_2022.csv": {
        "avg_comments": "Comments avg.",
        "avg_likes": "Likes avg.",
        "avg_shares": "Shares avg.",
        "avg_views": "Views avg.",
        "display_name": "Tiktok name",
        "followers": "Subscribers",
        "handle": "Tiktoker name",
    },
    "tiktok_undated_2022.csv": {
        "avg_comments": "Comments avg.",
        "avg_likes": "Likes avg",
        "avg_shares": "Shares avg",
        "avg_views": "Views avg.",
        "display_name": "Tiktok name",
        "followers": "Subscribers count",
        "handle": "Tiktoker name",
    },
    "youtube_dec_2022.csv": {
        "avg_comments": "Comments (Avg.)",
        "avg_likes": "Likes (Avg.)",
        "avg_views": "\nViews (Avg.)",
        "categories": "Category + Category-2",
        "country": "Country",
        "display_name": "youtuber name",
        "followers": "Followers",
        "handle": "Youtube channel",
    },
    "youtube_jun_2022.csv": {
        "avg_comments": "Comments avg.",
        "avg_likes": "Likes avg",
        "avg_views": "Views avg.",
        "categories": "Category + Category_2",
        "country": "Country",
        "display_name": "youTuber",
        "followers": "Subscribers count",
        "handle": "channel name",
    },
    "youtube_nov_2022.csv": {
        "avg_comments": "Comments (Avg.)",
        "avg_likes": "Likes (Avg.)",
        "avg_views": "\nViews (Avg.)",
        "categories": "Category + Category-2",
        "country": "Country",
        "display_name": "youtuber name",
        "followers": "Followers",
        "handle": "Youtube channel",
    },
    "youtube_sep_2022.csv": {
        "avg_comments": "Avg Comments",
        "avg_likes": "Avg. likes",
        "categories": "Category_2 + Category_3",
        "country": "Country",
        "display_name": "Name",
        "followers": " Subscribers",
        "handle": "Youtuber",
    },
    "youtube_undated_2022.csv": {
        "audience_country": "Audience Country",
        "avg_comments": "avg comments",
        "avg_likes": "avg likes",
        "avg_views": "avg views",
        "categories": "Category",
        "display_name": "channel name",
        "followers": "Subscribers",
        "handle": "youtuber name",
    },
}


@pytest.mark.real_exports
@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_inspect_shows_the_mapping_of_each_real_export(name: str) -> None:
    [report] = inspect_file(REAL_EXPORTS / name, RunOptions())
    assert report.outcome.mapping == MAPPINGS[name]
    assert report.platform_from == "the file name"
    undated = "undated" in name
    assert report.date_from == ("unknown" if undated else "the file name")
    assert report.outcome.status == ("quarantined" if undated else "ok")
    assert report.file_format == "csv, delimiter ','" and report.header_row == 1
    if not undated:  # the first rows are the staged rows, in file order
        rows = report.first_rows.get_column("source_row").to_list()
        assert len(rows) == 5 and rows == sorted(rows) and rows[0] >= 2
        assert report.first_rows.get_column("followers").null_count() == 0


@pytest.mark.real_exports
def test_inspect_is_what_a_run_records(run_flow, tmp_path: Path) -> None:
    """Same options, same file: inspect's mapping, decisions and counts are the manifest's."""
    files = [REAL_EXPORTS / "tiktok_nov_2022.csv", REAL_EXPORTS / "youtube_undated_2022.csv"]
    manifest = run_flow(files, tmp_path / "out")
    reports = inspect_files(files, RunOptions())
    for report, recorded in zip(reports, manifest["files"], strict=True):
        o = report.outcome
        assert o.mapping == recorded["mapping"]
        assert o.decisions == recorded["decisions"]
        assert (o.status, o.reason, o.rows_read) == (
            recorded["status"],
            recorded["reason"],
            recorded["rows_read"],
        )
        assert report.would_enrich == recorded["enriched"]
        assert report.duplicates == recorded["duplicates_collapsed"]
        problem_rows = report.problems.get_column("rows").sum() if o.status == "ok" else 0
        assert problem_rows == (recorded["quarantined"] if o.status == "ok" else 0)


def test_a_date_option_is_shown_as_the_origin_and_nothing_is_written(tmp_path: Path) -> None:
    export = tmp_path / "creators.csv"
    export.write_text("handle,followers,avg views\nalice,12.3K,1.2K\nbob,1200,N/A\ncarol,lots,5\n")
    options = RunOptions(platform="tiktok", snapshot_date=__import__("datetime").date(2022, 5, 1))
    [report] = inspect_file(export, options)
    assert (report.platform_from, report.date_from) == ("the command-line option",) * 2
    followers = next(c for c in report.columns if c.field == "followers")
    assert followers.forms == {"K/M/B suffix": 1, "other": 1, "plain": 1}
    assert ("12.3K", 12300) in followers.examples and ("1200", 1200) in followers.examples
    # 'lots' is not a number: the run would quarantine that cell, with its raw text
    problems = report.problems.to_dicts()
    assert [(p["reason"], p["column"], p["rows"], p["example"]) for p in problems] == [
        ("unparseable_number", "followers", 1, "lots")
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["creators.csv"]


@pytest.mark.parametrize(
    ("values", "forms"),
    [
        (["1", "2.5", "-3"], {"plain": 3}),
        (["1,234", "12.345.678"], {"thousands separators": 2}),
        (["12.3K", "1.2m", "3B"], {"K/M/B suffix": 3}),
        (["3.4%", "12,5%"], {"percent": 2}),
        (["5e+06"], {"scientific": 1}),
        (["N/A", "-", "#VALOR!", "", None], {"placeholder": 3}),
        (["lots", "1"], {"other": 1, "plain": 1}),
    ],
)
def test_number_forms(values: list[str | None], forms: dict[str, int]) -> None:
    import polars as pl

    assert number_forms(pl.Series(values, dtype=pl.String)) == forms


def test_roster_inspect_json_without_prefect(tmp_path: Path) -> None:
    code = (
        "import sys, json; from flows.cli import app\n"
        "try:\n    app(sys.argv[1:])\nexcept SystemExit as e:\n"
        "    print(json.dumps({'code': e.code, 'prefect': 'prefect' in sys.modules}),"
        " file=sys.stderr)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, "inspect", str(SAMPLE_DATA), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    status = json.loads(res.stderr.strip().splitlines()[-1])
    assert status == {"code": 0, "prefect": False}, res.stderr[-2000:]
    reports = json.loads(res.stdout)
    assert {r["file"].split("#")[0] for r in reports} == {
        p.name for p in SAMPLE_DATA.iterdir() if p.suffix != ".py"
    }
    assert all(r["mapping"]["handle"] and r["mapping"]["followers"] for r in reports)


def test_a_semicolon_decimal_comma_file_shows_how_it_is_read(tmp_path: Path) -> None:
    export = tmp_path / "instagram_mar_2025.csv"
    export.write_text(
        "sep=;\nhandle;followers;engagement rate\nann;1.234.567;3,5%\nbob;12.000;1,25%\n",
        encoding="cp1252",
    )
    [report] = inspect_file(export, RunOptions())
    assert report.file_format == "csv, delimiter ';'"
    assert report.header_row == 2  # below Excel's sep= line
    # the number format is decided per column, from its values (issue 10's evidence)
    assert any("followers" in d and "decimal comma" in d for d in report.outcome.decisions)
    followers = next(c for c in report.columns if c.field == "followers")
    assert followers.forms == {"thousands separators": 2}
    assert ("1.234.567", 1234567) in followers.examples
    assert report.first_rows.get_column("followers").to_list() == [1234567, 12000]
