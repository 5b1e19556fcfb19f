"""Number parsing: every quirk real exports contain."""

from __future__ import annotations

import polars as pl
import pytest

from transforms.numbers import parse_number


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
