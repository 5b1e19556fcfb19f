"""Column meaning checked by content, and where the table sits in a sheet (pure steps)."""

from __future__ import annotations

import polars as pl
import pytest

from adapters.config import load_header_aliases
from schemas.reasons import Reason, Scope, fix_for, reason_for_check
from tests.corpus.make_corpus import cases
from transforms.headers import ColumnMapping, platform_group
from transforms.layout import find_header_row, footer_rows, group_labels
from transforms.meaning import check_meaning


def _mapping(columns: dict[str, str], headers: dict[str, str]) -> ColumnMapping:
    return ColumnMapping(columns=dict(columns), headers=dict(headers))


def _cells(**cols: list[str]) -> pl.DataFrame:
    return pl.DataFrame({k: pl.Series(v, dtype=pl.String) for k, v in cols.items()})


HEADERS = {"c0": "followers", "c1": "Likes avg", "c2": "Comments avg."}


@pytest.mark.parametrize(
    ("likes", "comments", "columns_after"),
    [
        # comments above likes on every row: an engagement pair, the larger is used
        (
            ["20", "40", "60", "80", "100"],
            ["25", "50", "75", "99", "130"],
            {"avg_engagement": "c2"},
        ),
        # the usual: many more likes than comments -> untouched
        (
            ["200", "400", "600", "800", "1000"],
            ["5", "9", "12", "30", "40"],
            {"avg_likes": "c1", "avg_comments": "c2"},
        ),
        # too few rows to decide anything
        (["1", "2"], ["5", "9"], {"avg_likes": "c1", "avg_comments": "c2"}),
    ],
)
def test_interaction_columns_must_be_plausible_together(
    likes: list[str], comments: list[str], columns_after: dict[str, str]
) -> None:
    n = len(likes)
    cells = _cells(c0=["1000"] * n, c1=likes, c2=comments)
    m = _mapping({"followers": "c0", "avg_likes": "c1", "avg_comments": "c2"}, HEADERS)
    decisions = check_meaning(cells, m, {}, overridden=set())
    assert {k: v for k, v in m.columns.items() if k != "followers"} == columns_after
    if "avg_engagement" in columns_after:
        assert [d.field for d in decisions] == ["avg_engagement", None]
        assert "comments exceed likes in 5 of 5 rows" in decisions[0].evidence


def test_a_mapped_field_is_never_second_guessed() -> None:
    cells = _cells(c0=["1000"] * 5, c1=["1"] * 5, c2=["9"] * 5)
    m = _mapping({"followers": "c0", "avg_likes": "c1", "avg_comments": "c2"}, HEADERS)
    assert check_meaning(cells, m, {}, overridden={"avg_comments"}) == []
    assert m.columns["avg_comments"] == "c2"


@pytest.mark.parametrize(
    ("field", "values", "kept"),
    [
        ("avg_views", ["30000", "50000", "90000", "25000", "40000"], False),  # > 20x followers
        ("avg_views", ["3000", "5000", "9000", "2500", "4000"], True),  # viral, but per post
        ("avg_likes", ["2000", "3000", "5000", "1500", "9000"], False),  # likes > followers
        ("avg_likes", ["20", "30", "50", "15", "90"], True),
    ],
)
def test_lifetime_totals_are_not_per_post_averages(
    field: str, values: list[str], kept: bool
) -> None:
    cells = _cells(c0=["1000"] * 5, c1=values)
    m = _mapping({"followers": "c0", field: "c1"}, {"c0": "followers", "c1": "x"})
    decisions = check_meaning(cells, m, {}, overridden=set())
    assert (field in m.columns) is kept
    assert (decisions == []) is kept
    if not kept:
        assert "lifetime totals" in decisions[0].evidence and m.unmapped == ["x"]


def test_header_words_name_a_total() -> None:
    cells = _cells(c0=["1000"], c1=["5"])
    m = _mapping({"followers": "c0", "avg_likes": "c1"}, {"c0": "f", "c1": "Likes (lifetime)"})
    (d,) = check_meaning(cells, m, {}, overridden=set())
    assert "avg_likes" not in m.columns and "names a total" in d.evidence


# ---- layout ----------------------------------------------------------------------
def _known(cell: str) -> bool:
    return cell.strip().lower() in {"handle", "followers", "avg likes"}


@pytest.mark.parametrize(
    ("rows", "at"),
    [
        ([["handle", "followers"], ["a", "1"]], 0),
        ([["Report"], ["Exported today"], [], ["handle", "followers"], ["a", "1"]], 3),
        ([["", "Instagram", "", "YouTube"], ["handle", "followers", "avg likes"]], 1),
        ([["Name", "Subs"], ["a", "1"]], 0),  # nothing known: the first row, as before
    ],
)
def test_find_header_row(rows: list[list[str]], at: int) -> None:
    assert find_header_row(rows, _known) == at


def test_group_labels_span_merged_cells() -> None:
    lookup = load_header_aliases().platform_lookup()
    row = [None, "Instagram", None, "YouTube", None]
    assert group_labels(row, lambda c: platform_group(c, lookup), 5) == [
        None,
        "instagram",
        "instagram",
        "youtube",
        "youtube",
    ]
    assert group_labels(["Report", None], lambda c: platform_group(c, lookup), 2) is None


def test_only_trailing_footer_rows_are_footers() -> None:
    cells = pl.DataFrame(
        {
            "c0": ["total", "b", None, "Grand total"],
            "c1": ["1", "2", "Average", "9"],
            "source_row": [2, 3, 4, 5],
        }
    )
    assert footer_rows(cells, ["c0", "c1"]).to_list() == [4, 5]  # a creator named "total" stays


# ---- reasons ---------------------------------------------------------------------
def test_every_reason_has_a_fix_and_a_scope() -> None:
    assert len({r.value for r in Reason}) == len(Reason)
    for r in Reason:
        assert r.fix and isinstance(r.scope, Scope)
    assert fix_for("no_handle_column+unknown_platform").count(" | ") == 1
    assert reason_for_check("not_nullable", "handle") == Reason.MISSING_HANDLE
    assert reason_for_check("engagement_rate_over_100pct", "x") == "engagement_rate_over_100pct"


def test_every_reason_the_corpus_expects_is_defined_once() -> None:
    defined = {r.value for r in Reason}
    seen: set[str] = set()
    for case in cases():
        for e in case.expect:
            if e.file_reason:
                seen |= set(e.file_reason.split("+"))
            for reasons in e.quarantined.values():
                options = reasons.options if hasattr(reasons, "options") else (reasons,)
                for option in options:
                    seen |= set(option)
    assert seen - defined == set()


def test_every_reason_the_flows_name_is_a_member_with_a_fix() -> None:
    """Reason codes named as text (the CLI's unreadable set, the merge's superseded rows)
    are members of the one enum, each with its fix text."""
    from flows.cli import UNREADABLE

    for code in [*UNREADABLE, "superseded", "duplicate_conflict"]:
        assert Reason(code).fix, code
    assert all(r.scope == Scope.FILE for r in map(Reason, UNREADABLE))
