"""Security: no output path from input content, formulas neutralised in every CSV the tool
writes, contact data kept out of BI tables."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import polars as pl
import pytest

from adapters.catalog import connect_catalog
from adapters.publish import neutralise_formulas

HOSTILE = (
    "handle,display name,followers,email,phone\n"
    '=HYPERLINK("http://evil.example","click"),Evil,-5,a@b.example,+1 555 0100\n'
    "+cmd,Plus,12K,,\n"
    "@SUM(A1),At,=1+1,,\n"
    '"=HYPERLINK(""http://evil.example"",""x"")",Quoted,-7,,\n'
    "ok_creator,=1+1,15K,ok@creator.example,+44 20 7946 0000\n"
)


def test_formula_cells_are_neutralised() -> None:
    df = pl.DataFrame({"v": ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "fine", None]})
    assert neutralise_formulas(df).get_column("v").to_list() == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        "'\rx",
        "fine",
        None,
    ]


@pytest.mark.parametrize(
    "cell",
    [
        *(" =1+1", "  @SUM(A1)", "\u00a0=1+1", "\n=1+1", "\r\n-2", "\x01+1", "\ufeff=1"),
        *("\u3000=1", "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20x", " \uff1d1"),
    ],
)
def test_formula_starts_after_whitespace_control_or_full_width_are_neutralised(cell: str) -> None:
    [out] = neutralise_formulas(pl.DataFrame({"v": [cell]})).get_column("v").to_list()
    assert out == "'" + cell


@pytest.mark.parametrize("cell", ["a=b", " ok", "1+1", "user@example.com", "\u00a0plain", ""])
def test_text_that_is_no_formula_is_left_alone(cell: str) -> None:
    assert neutralise_formulas(pl.DataFrame({"v": [cell]})).get_column("v").to_list() == [cell]


def test_hostile_file_name_and_cells(run_flow, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    name = "tiktok_jan_2025 ..ünï=cøde.csv"
    (inputs / name).write_text(HOSTILE)
    out = tmp_path / "out"
    manifest = run_flow([inputs], out)

    # every path written is one of ours, under OUT
    written = {p.relative_to(out).parts[0] for p in out.rglob("*")}
    assert written <= {
        "deliveries",
        "creator_snapshots",
        "creators",
        "quarantine",
        "ledger",
        "runs",
        "roster.duckdb",
        "data_dictionary.md",
        "data_dictionary.json",
        ".roster.lock",
        "_staging",
        "report.html",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]
    assert any(n.startswith("lenient CSV reader used") for n in manifest["files"][0]["notes"])

    # the quarantine report for spreadsheets: formulas neutralised
    report = out / "runs" / manifest["run_id"] / "quarantine.csv"
    with report.open(newline="", encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert cells and not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert "'=1+1" in cells and "'-7" in cells

    # contact data never reaches the BI tables or the catalog
    con = connect_catalog(out)
    for view in ("creators", "creator_snapshots", "quarantine"):
        cols = {r[0] for r in con.sql(f"DESCRIBE {view}").fetchall()}
        assert not cols & {"email", "phone"}, view
        text = str(con.sql(f"SELECT * FROM {view}").fetchall())
        assert "@creator.example" not in text and "7946" not in text
    con.close()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "@creator.example" not in page and "<script" not in page
    assert not (out / "contacts").exists()


def test_keep_contacts_writes_a_separate_table(run_flow, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "tiktok_jan_2025.csv").write_text(HOSTILE)
    out = tmp_path / "out"
    run_flow([inputs], out, keep_contacts=True)
    contacts = pl.read_delta(str(out / "contacts"))
    assert contacts.get_column("email").to_list() == ["ok@creator.example"]
    assert "contacts" not in {
        r[0]
        for r in duckdb.connect(str(out / "roster.duckdb"), read_only=True)
        .sql("SHOW TABLES")
        .fetchall()
    }
