"""Number parsing: every quirk real exports contain."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.evidence import (
    NumberEvidence,
    decide_number_format,
    number_evidence,
    number_formats,
)
from transforms.numbers import Decimal, NumberFormat, parse_number


def _parse(values: list[str | None], decimal_comma: bool = False) -> pl.DataFrame:
    p = parse_number(pl.col("s"), decimal_comma=decimal_comma)
    return pl.DataFrame({"s": values}, schema={"s": pl.String}).select(
        value=p.value, pct=p.is_percent, bad=p.is_invalid
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.3K", 12_300),
        ("12.3k", 12_300),
        ("1.2M", 1_200_000),
        ("2.1B", 2_100_000_000),
        ("475.8m", 475_800_000),
        ("0.89k", 890),
        ("1,234", 1_234),
        ("1,234,567", 1_234_567),
        ("5e+06", 5_000_000),
        ("477900000.00", 477_900_000),
        ("199.5", 199.5),
        ("  42 ", 42),
        ("1 234", 1_234),
        ("-5", -5),
        ("+7", 7),
        ("$1.5K", 1_500),
    ],
)
def test_numbers_parse(text: str, expected: float) -> None:
    row = _parse([text]).row(0, named=True)
    assert row["value"] == pytest.approx(expected)
    assert row["bad"] is False


def test_percent_keeps_points_and_flags_percent() -> None:
    row = _parse(["3.4%"]).row(0, named=True)
    assert row["value"] == pytest.approx(3.4)
    assert row["pct"] is True


@pytest.mark.parametrize(
    "text", ["N/A", "N/A'", "-", "#VALOR!", "#N/A", "unknown", "", "  ", "n/a", "#value!"]
)
def test_placeholders_become_null_not_failures(text: str) -> None:
    row = _parse([text]).row(0, named=True)
    assert row["value"] is None
    assert row["bad"] is False


def test_null_is_not_a_failure() -> None:
    assert _parse([None]).row(0, named=True) == {"value": None, "pct": False, "bad": False}


@pytest.mark.parametrize(
    "text", ["abc", "NaN", "inf", "-inf", "12.3.4", "1e400", "12,3O0", "1..2", "K", "5 followers"]
)
def test_present_but_unparseable_is_flagged_never_silently_null(text: str) -> None:
    row = _parse([text]).row(0, named=True)
    assert row["value"] is None
    assert row["bad"] is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12,5%", 12.5), ("1.234.567", 1_234_567), ("3,4", 3.4), ("1.234,5", 1_234.5)],
)
def test_decimal_comma_files(text: str, expected: float) -> None:
    row = _parse([text], decimal_comma=True).row(0, named=True)
    assert row["value"] == pytest.approx(expected)
    assert row["bad"] is False


# ---- formats decided per column ------------------------------------------------------
def _parse_fmt(values: list[str | None], fmt: NumberFormat) -> list[float | None]:
    p = parse_number(pl.col("s"), fmt=fmt)
    return (
        pl.DataFrame({"s": values}, schema={"s": pl.String})
        .select(v=p.value)
        .get_column("v")
        .to_list()
    )


NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("12.345", ",", 12_345),  # German thousands
        ("1.234.567", ",", 1_234_567),
        ("1,2M", ",", 1_200_000),  # Spanish
        ("12,5K", ",", 12_500),
        ("60,3M", ",", 60_300_000),
        (f"1{NBSP}234{NBSP}567", ",", 1_234_567),  # French, no-break spaces
        (f"12{NNBSP}345,6", ",", 12_345.6),  # French, narrow no-break space
        ("1 234 567", ".", 1_234_567),
        ("1'234'567", ".", 1_234_567),  # Swiss
        ("1’234’567", ".", 1_234_567),
        ("0,035", ",", 0.035),
        ("3,5 %", ",", 3.5),
        ("1.2 Mio.", ".", 1_200_000),  # German words
        ("1,2 Mio.", ",", 1_200_000),
        ("2,5 Mrd.", ",", 2_500_000_000),
        ("1,2 mil", ",", 1_200),  # Spanish/Portuguese "mil" = thousand
        ("12 тыс.", ",", 12_000),  # Russian
        ("1,5 млн", ",", 1_500_000),
        ("1.5万", ".", 15_000),  # Chinese/Japanese 10^4
        ("3億", ".", 300_000_000),
        ("10K+", ".", 10_000),
        ("~50k", ".", 50_000),
        ("12,34,567", ".", 1_234_567),  # Indian grouping
        ("2 lakh", ".", 200_000),
        ("١٢٣٤", ".", 1234),  # Arabic-Indic digits
        ("１２３", ".", 123),  # full-width digits
        ("5e+06", ".", 5_000_000),
        ("477900000.00", ".", 477_900_000),
    ],
)
def test_numbers_in_a_decided_format(text: str, decimal: Decimal, expected: float) -> None:
    fmt = NumberFormat(decimal, non_ascii_digits=True)
    assert _parse_fmt([text], fmt) == [pytest.approx(expected)]


@pytest.mark.parametrize(
    ("text", "decimal"),
    [
        ("1.2 mil", "."),  # "mil" is a million in English, a thousand in Spanish: refused
        ("10K-50K", "."),  # a range
        ("1,23,4", "."),  # broken groups
        ("12.34.5", ","),
        ("1.234,5", "."),  # the other locale's number
    ],
)
def test_unclear_forms_are_flagged_with_their_text(text: str, decimal: Decimal) -> None:
    p = parse_number(pl.col("s"), fmt=NumberFormat(decimal))
    row = pl.DataFrame({"s": [text]}).select(v=p.value, bad=p.is_invalid).row(0)
    assert row == (None, True)


def test_undecided_column_flags_only_the_cells_that_read_both_ways() -> None:
    p = parse_number(pl.col("s"), fmt=NumberFormat(None))
    got = pl.DataFrame({"s": ["1.234", "5", "7,500", "N/A"]}).select(
        v=p.value, amb=p.is_ambiguous, bad=p.is_invalid
    )
    assert got.rows() == [
        (None, True, False),
        (5.0, False, False),
        (None, True, False),
        (None, False, False),
    ]


def _evidence(values: list[str | None]) -> NumberEvidence:
    df = pl.DataFrame({"c0": values}, schema={"c0": pl.String})
    return number_evidence(df, ["c0"])["c0"]


@pytest.mark.parametrize(
    ("values", "integral", "others", "delimiter", "decimal"),
    [
        (["12.345", "1.234", "999"], True, [], ",", ","),  # a count has no fraction
        (["12.345", "1.234"], False, [], ";", ","),  # ';' file: decimal comma locale
        (["12.345", "1.234"], False, [], ",", "."),  # ',' file: decimal point locale
        (["12.345", "1.234"], False, [","], "\t", ","),  # the other columns say comma
        (["12.345", "1.234"], False, [], "\t", None),  # nothing decides: refused
        (["12.345", "1.234"], False, [",", "."], None, None),  # the others disagree
        (["1,2M", "12,5K", "300"], False, [], ",", ","),  # the column's own values decide
        (["0,035", "0,1"], False, [], None, ","),
        (["60.3M", "1.234"], True, [], ";", "."),  # own evidence beats the delimiter
        (["12.5", "3,5"], False, [], ",", None),  # both ways in one column: refused
        (["1.234", "5,678"], True, [], ",", None),  # a count with both kinds of groups
        (["100", "200"], False, [], ";", "."),  # no separators: nothing to decide
    ],
)
def test_decide_number_format(
    values: list[str],
    integral: bool,
    others: list[Decimal],
    delimiter: str | None,
    decimal: str | None,
) -> None:
    fmt, why = decide_number_format(
        _evidence(values), integral=integral, others=others, delimiter=delimiter
    )
    assert fmt.decimal == decimal, why


def test_forced_format_from_the_mapping_file() -> None:
    fmt, why = decide_number_format(
        _evidence(["12.345"]), integral=False, others=[], delimiter="\t", forced=","
    )
    assert fmt.decimal == "," and "mapping" in why


def test_number_formats_records_each_decision_with_its_evidence() -> None:
    cells = pl.DataFrame({"c0": ["12.345", "1.234"], "c1": ["1,5", "2,25"]})
    formats, decisions = number_formats(
        cells,
        {"followers": "c0", "avg_views": "c1"},
        {"c0": "Follower", "c1": "Views"},
        delimiter="\t",
    )
    assert formats["c0"].decimal == "," and formats["c1"].decimal == ","
    lines = [d.line() for d in decisions]
    assert lines[0].startswith("'Follower' (followers): decimal comma")
    assert "a count has no fraction" in lines[0]
    assert "2 of 2 values with a decimal comma (e.g. '1,5')" in lines[1]


def test_row_by_row_and_distinct_value_parsing_agree() -> None:
    """Big columns are parsed row by row (with their parts staged once), small ones once
    per distinct value: the same rows either way."""
    from transforms.headers import ColumnMapping
    from transforms.normalise import FileContext, normalise

    values = ["1,2M", "12,5K", "3", "N/A", "abc", "1.234", "0,5", None, "~5k", "10K+"]
    cells = pl.DataFrame(
        {
            "c0": [f"h{i}" for i in range(len(values))],
            "c1": values,
            "c2": values[::-1],
            "source_row": list(range(2, 2 + len(values))),
        }
    )
    mapping = ColumnMapping(
        columns={"handle": "c0", "followers": "c1", "avg_views": "c2"},
        headers={"c0": "h", "c1": "f", "c2": "v"},
    )
    formats = {"c1": NumberFormat(","), "c2": NumberFormat(",")}
    row_by_row = FileContext("x", "tiktok", None, number_formats=formats)
    distinct = FileContext(
        "x",
        "tiktok",
        None,
        number_formats=formats,
        distinct_values={c: cells.get_column(c).unique() for c in ("c1", "c2")},
    )
    a = normalise(cells.lazy(), mapping, row_by_row, {}).collect()
    b = normalise(cells.lazy(), mapping, distinct, {}).collect()
    assert a.equals(b)
    assert a.get_column("followers").to_list()[:3] == [1_200_000, 12_500, 3]
    assert a.get_column("_bad_followers").to_list()[4] is True


# ---- invariants ------------------------------------------------------------------------
SEPARATORS = {".": [",", " ", "\u00a0", "\u202f", "'", "’"], ",": [".", " ", "\u00a0", "'"]}


def _grouped(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


@given(
    n=st.integers(min_value=0, max_value=10**12),
    cents=st.integers(min_value=0, max_value=99),
    decimal=st.sampled_from([".", ","]),
    data=st.data(),
)
@settings(max_examples=300, deadline=None)
def test_any_grouped_number_reads_back_in_its_format(
    n: int, cents: int, decimal: Decimal, data: st.DataObject
) -> None:
    sep = data.draw(st.sampled_from(SEPARATORS[decimal]))
    text = f"{_grouped(n, sep)}{decimal}{cents:02d}"
    fmt = NumberFormat(decimal)
    assert _parse_fmt([text], fmt) == [pytest.approx(n + cents / 100)]
    # and the column's evidence decides that format from such values alone
    decided, _ = decide_number_format(
        _evidence([text, f"{n % 1000}{decimal}5"]), integral=False, others=[], delimiter=None
    )
    assert decided.decimal == decimal


@given(n=st.integers(min_value=1000, max_value=999_999), decimal=st.sampled_from([".", ","]))
@settings(max_examples=100, deadline=None)
def test_a_follower_count_with_one_group_is_thousands(n: int, decimal: Decimal) -> None:
    thousands = "." if decimal == "," else ","
    text = _grouped(n, thousands)
    fmt, _ = decide_number_format(_evidence([text]), integral=True, others=[], delimiter=None)
    assert _parse_fmt([text], fmt) == [n]
