"""The data dictionary is generated from the pandera models and covers every published column."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from adapters import dictionary as dd
from adapters.dictionary import data_dictionary, render_markdown, write_data_dictionary
from adapters.publish import creators_from_snapshots
from schemas.models import PLATFORMS, TIERS, EnrichedRoster, QuarantineRow
from schemas.quality import CreatorProfile

REPO = Path(__file__).resolve().parents[2]
GROWTH = [
    "followers_prev",
    "snapshot_date_prev",
    "snapshots_count",
    "first_seen_date",
    "followers_change",
    "followers_change_pct",
]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return data_dictionary()


def by_table(rows: list[dict], table: str) -> dict[str, dict]:
    return {r["column"]: r for r in rows if r["table"] == table}


def test_rows_have_the_documented_keys(rows: list[dict]) -> None:
    assert rows
    assert all(tuple(r) == dd.COLUMN_KEYS for r in rows)
    assert [r["table"] for r in rows] == sorted(
        (r["table"] for r in rows), key=["creators", "creator_snapshots", "quarantine"].index
    )


@pytest.mark.parametrize("table", ["creators", "creator_snapshots"])
def test_every_enriched_roster_column_is_described(rows: list[dict], table: str) -> None:
    cols = by_table(rows, table)
    for name, col in EnrichedRoster.to_schema().columns.items():
        assert name in cols, name
        assert cols[name]["description"] == col.description and col.description, name
        assert cols[name]["nullable"] is col.nullable, name


def test_creators_columns_are_what_publish_writes(rows: list[dict]) -> None:
    snaps = pl.DataFrame(schema=dd.polars_schema("creator_snapshots"))
    published = creators_from_snapshots(snaps).schema
    assert list(by_table(rows, "creators")) == list(published)
    assert dd.polars_schema("creators") == published
    profile = list(CreatorProfile.to_schema().columns)
    assert list(by_table(rows, "creators"))[-len(GROWTH) - len(profile) :] == GROWTH + profile
    for name in GROWTH + profile:
        assert by_table(rows, "creators")[name]["description"], name
    only_creators = set(GROWTH + profile)
    assert "creator_snapshots" not in {r["table"] for r in rows if r["column"] in only_creators}


def test_quarantine_is_the_quarantine_model(rows: list[dict]) -> None:
    cols = by_table(rows, "quarantine")
    assert list(cols) == list(QuarantineRow.to_schema().columns)
    assert all(c["description"] for c in cols.values())
    assert cols["source_row"]["nullable"] is True
    assert cols["reason"]["nullable"] is False


@pytest.mark.parametrize("table", ["creators", "creator_snapshots"])
def test_allowed_values_and_units(rows: list[dict], table: str) -> None:
    cols = by_table(rows, table)
    assert cols["tier"]["allowed_values"] == list(TIERS)
    assert cols["platform"]["allowed_values"] == list(PLATFORMS)
    assert cols["est_reach_method"]["allowed_values"] == [
        "observed_views",
        "history",
        "model_interactions",
        "model_followers",
        "benchmark",
    ]
    assert cols["handle"]["allowed_values"] is None
    assert cols["followers"]["unit"] == "people"
    assert cols["est_reach"]["unit"] == "people"
    assert cols["engagement_rate"]["unit"] == "fraction"
    for cost in ("est_cost_usd_low", "est_cost_usd_mid", "est_cost_usd_high", "est_cpm_usd"):
        assert cols[cost]["unit"] == "USD", cost
    assert cols["tier"]["unit"] is None
    assert cols["followers"]["constraints"] == ">= 0"
    assert cols["creator_key"]["constraints"] == "length 16"


def test_growth_columns_units_and_nullability(rows: list[dict]) -> None:
    cols = by_table(rows, "creators")
    assert cols["followers_change"]["unit"] == "people"
    assert cols["followers_change_pct"]["unit"] == "fraction"
    assert cols["followers_prev"]["nullable"] is True
    assert cols["snapshots_count"]["nullable"] is False
    assert cols["snapshots_count"]["constraints"] == ">= 1"


def test_types_are_sql_types(rows: list[dict]) -> None:
    cols = by_table(rows, "creators")
    assert cols["followers"]["type"] == "BIGINT"
    assert cols["engagement_rate"]["type"] == "DOUBLE"
    assert cols["snapshot_date"]["type"] == "DATE"
    assert cols["categories"]["type"] == "VARCHAR[]"
    assert cols["platform"]["type"] == "VARCHAR"


def test_partition_columns(rows: list[dict]) -> None:
    flagged = {(r["table"], r["column"]) for r in rows if r["partition_column"]}
    assert flagged == {("creators", "platform"), ("creator_snapshots", "snapshot_date")}


def test_models_keep_their_check_names() -> None:
    # guards against subclassing EnrichedRoster (pandera 0.35 gives a dataframe check's
    # name= to the first model built only; the other gets the method name)
    data_dictionary()
    names = [c.name for c in EnrichedRoster.to_schema().checks]
    assert names == ["cost_low_le_mid_le_high", "reach_low_le_mid_le_high"]


def test_markdown(rows: list[dict]) -> None:
    md = render_markdown(rows)
    assert md.endswith("|\n")
    for table in ("creators", "creator_snapshots", "quarantine"):
        assert f"\n## {table}\n" in md
    lines = md.splitlines()
    tier_lines = [line for line in lines if line.startswith("| `tier` |")]
    assert len(tier_lines) == 2
    assert "`nano`, `micro`, `mid`, `macro`, `mega`" in tier_lines[0]
    followers = next(line for line in lines if line.startswith("| `followers` |"))
    assert "| people |" in followers
    # every column row has the 7 cells of the header (pipes inside text are escaped)
    header = "| column | type | nullable | unit | allowed values | checks | description |"
    assert md.count(header) == 3
    for line in lines:
        if line.startswith("| `"):
            assert line.replace("\\|", "").count("|") == 8, line
    assert render_markdown(data_dictionary()) == md  # deterministic: no timestamps


def test_markdown_escapes_pipes() -> None:
    row = {**data_dictionary()[0], "description": "a | b\nc"}
    assert "a \\| b c" in render_markdown([row])


def test_write_data_dictionary(tmp_path: Path, rows: list[dict]) -> None:
    out = tmp_path / "out"
    write_data_dictionary(out)
    assert sorted(p.name for p in out.iterdir()) == ["data_dictionary.json", "data_dictionary.md"]
    assert (out / "data_dictionary.md").read_text(encoding="utf-8") == render_markdown(rows)
    payload = json.loads((out / "data_dictionary.json").read_text(encoding="utf-8"))
    assert payload["columns"] == json.loads(json.dumps(rows))
    assert [t["table"] for t in payload["tables"]] == [
        "creators",
        "creator_snapshots",
        "quarantine",
    ]
    assert payload["tables"][0]["partitioned_by"] == "platform"
    write_data_dictionary(out)  # rewriting leaves no temp files behind
    assert len(list(out.iterdir())) == 2


def test_main_prints_the_markdown(capsys: pytest.CaptureFixture[str], rows: list[dict]) -> None:
    dd.main()
    assert capsys.readouterr().out == render_markdown(rows)


def test_docs_copy_is_current(rows: list[dict]) -> None:
    docs = REPO / "docs" / "DATA_DICTIONARY.md"
    if not docs.exists():
        pytest.skip("docs/DATA_DICTIONARY.md not generated yet (python -m adapters.dictionary)")
    assert docs.read_text(encoding="utf-8") == render_markdown(rows), (
        "docs/DATA_DICTIONARY.md is stale: python -m adapters.dictionary > docs/DATA_DICTIONARY.md"
    )


def test_dates_in_constraints_render_as_iso() -> None:
    class Check:
        name = "greater_than_or_equal_to"
        statistics = {"min_value": dt.date(2020, 1, 1)}  # noqa: RUF012

    assert dd._constraint(Check()) == ">= 2020-01-01"
