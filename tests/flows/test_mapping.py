"""A user maps an unknown export with a small TOML file, no code."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from adapters.build import build_roster
from adapters.ingest import RunOptions, ingest_file

EXPORT = (
    "Creator ID,Creator,Audience (total),Typical plays,Market,Vertical A,Vertical B,Notes\n"
    "studio.nova,Studio Nova,48.2K,12K,Portugal,Design,Home,call back\n"
    "bikes_by_bo,Bo,1.3M,220K,Netherlands,Sports,,\n"
)
MAPPING = """
[columns]
handle = "Creator ID"
display_name = "Creator"
followers = "Audience (total)"
avg_views = "Typical plays"
country = "Market"
categories = ["Vertical A", "Vertical B"]
"""


def test_mapping_file_maps_an_unknown_export(tmp_path: Path) -> None:
    export = tmp_path / "agency_youtube_2025-04.csv"
    export.write_text(EXPORT)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING)
    staging = tmp_path / "staging"
    staging.mkdir()
    outcomes = ingest_file(export, export.name, 0, RunOptions(mapping_file=str(mapping)), staging)
    (o,) = outcomes
    assert o.status == "ok" and o.staged_rows == 2
    assert o.mapping["followers"] == "Audience (total)"
    assert o.mapping["categories"] == "Vertical A + Vertical B"
    build = build_roster(outcomes, RunOptions(), staging, "run-1")
    roster = pl.read_parquet(build.enriched_path).sort("handle_norm")
    assert roster.get_column("followers").to_list() == [1_300_000, 48_200]
    assert roster.get_column("country").to_list() == ["NL", "PT"]
    assert roster.get_column("categories").to_list() == [["Sports"], ["Design", "Home"]]
    assert roster.get_column("est_reach_method").to_list() == ["observed_views"] * 2


def test_without_the_mapping_the_same_export_is_quarantined_whole(tmp_path: Path) -> None:
    export = tmp_path / "agency_youtube_2025-04.csv"
    export.write_text(EXPORT)
    staging = tmp_path / "staging"
    staging.mkdir()
    (o,) = ingest_file(export, export.name, 0, RunOptions(), staging)
    assert o.status == "quarantined"
    assert "--mapping" in (o.detail or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[columns]\nfollwers = "Audience"\n', "unknown field"),
        ("[columns]\nfollowers = 3\n", "header strings"),
        ("[columns\nfollowers = 'x'\n", "Expected"),
    ],
)
def test_a_bad_mapping_file_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    from flows.enrich_roster import EnrichParams

    mapping = tmp_path / "mapping.toml"
    mapping.write_text(text)
    with pytest.raises(ValidationError, match=message):
        EnrichParams(inputs=[str(tmp_path)], out=str(tmp_path / "out"), mapping=str(mapping))
