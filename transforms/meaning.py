"""Column meaning checked by content, over the whole column (pure; no IO).

Headers lie. A column mapped by its header is kept only if its values are plausible for
that meaning, and every change is a ``ColumnDecision``:

* **interactions together**: on every platform a post gets many more likes than comments.
  When the "comments" column exceeds the "likes" column on most rows, the two are not a
  likes/comments pair (they are two engagement figures, e.g. authentic and average
  engagement): neither is used as likes or comments, and the larger one, a per-post
  engagement figure either way, is used as ``avg_engagement`` when the file has none;
* **lifetime totals vs per-post averages**: a header saying ``total``/``lifetime``/``all
  time``, or values far above the followers on most rows (likes, comments, shares or
  engagement above the followers; views above 20x the followers) are lifetime totals of a
  profile, not per-post averages: the column is not used.

A field the user mapped explicitly (``--mapping``) is never second-guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

from schemas.rows import METRICS
from transforms.evidence import ColumnDecision
from transforms.headers import ColumnMapping
from transforms.numbers import NumberFormat, parse_number

MOST = 0.5  # "most rows": more than half of the rows where both values are present
MIN_ROWS = 5  # fewer rows than this decide nothing
SAMPLE_ROWS = 200_000  # bigger files are judged on this many evenly spaced rows
# a per-post average beyond followers x this on most rows is not per post (schemas.rows)
PER_POST_ABOVE_FOLLOWERS = {m.name: m.max_per_follower for m in METRICS if m.max_per_follower}
LIFETIME_WORDS = re.compile(
    r"\b(total|totals|lifetime|all[ -]?time|overall|cumulative|sum)\b", re.I
)


def parsed_values(
    cells: pl.DataFrame, mapping: ColumnMapping, formats: Mapping[str, NumberFormat]
) -> pl.DataFrame:
    """Each mapped column the checks read, parsed once (in one parallel select), named by
    its field: the checks compare these, never the text again."""
    fields = [f for f in ("followers", *PER_POST_ABOVE_FOLLOWERS) if f in mapping.columns]
    return cells.select(
        parse_number(pl.col(mapping.columns[f]), fmt=formats.get(mapping.columns[f])).value.alias(f)
        for f in fields
    )


def _share_above(
    cells: pl.DataFrame, a: pl.Expr, b: pl.Expr, factor: float = 1.0
) -> tuple[float, int, int]:
    """(share, hits, rows) of the rows with both values where a > b * factor."""
    both = a.is_not_null() & b.is_not_null()
    hits, n = cells.select(
        (both & (a > b * factor)).sum().alias("hits"), both.sum().alias("n")
    ).row(0)
    return (hits / n if n else 0.0), int(hits), int(n)


def _interactions_pair(
    values: pl.DataFrame, mapping: ColumnMapping, overridden: set[str]
) -> list[ColumnDecision]:
    cols = mapping.columns
    if not {"avg_likes", "avg_comments"} <= cols.keys() or overridden & {
        "avg_likes",
        "avg_comments",
    }:
        return []
    likes, comments = pl.col("avg_likes"), pl.col("avg_comments")
    share, hits, n = _share_above(values, comments, likes)
    if n < MIN_ROWS or share <= MOST:
        return []
    evidence = (
        f"comments exceed likes in {hits} of {n} rows ({share:.0%}); posts get far more likes "
        "than comments, so these are two engagement figures, not a likes/comments pair"
    )
    medians = values.select(likes.median().alias("l"), comments.median().alias("c")).row(0)
    larger = "avg_comments" if (medians[1] or 0) >= (medians[0] or 0) else "avg_likes"
    smaller = "avg_likes" if larger == "avg_comments" else "avg_comments"
    larger_col, smaller_col = cols.pop(larger), cols.pop(smaller)
    out = []
    if "avg_engagement" not in cols:
        cols["avg_engagement"] = larger_col
        out.append(
            ColumnDecision(
                mapping.headers[larger_col],
                "avg_engagement",
                "meaning",
                f"used as avg_engagement (the larger figure), not as {larger}",
                evidence,
            )
        )
    else:
        mapping.unmapped.append(mapping.headers[larger_col])
        out.append(
            ColumnDecision(
                mapping.headers[larger_col], None, "meaning", f"not used as {larger}", evidence
            )
        )
    mapping.unmapped.append(mapping.headers[smaller_col])
    out.append(
        ColumnDecision(
            mapping.headers[smaller_col],
            None,
            "meaning",
            f"not used as {smaller}; map it in a --mapping file if it is per-post {smaller}",
            evidence,
        )
    )
    return out


def _lifetime_totals(
    values: pl.DataFrame, mapping: ColumnMapping, overridden: set[str]
) -> list[ColumnDecision]:
    out: list[ColumnDecision] = []
    if "followers" not in mapping.columns:
        return out
    followers = pl.col("followers")
    for f, factor in PER_POST_ABOVE_FOLLOWERS.items():
        if f not in mapping.columns or f in overridden:
            continue
        header = mapping.header_of(f)
        if LIFETIME_WORDS.search(header):
            evidence = f"the header {header!r} names a total, not a per-post average"
        else:
            share, hits, n = _share_above(values, pl.col(f), followers, factor)
            if n < MIN_ROWS or share <= MOST:
                continue
            above = "the followers" if factor == 1 else f"{factor:g}x the followers"
            evidence = (
                f"above {above} in {hits} of {n} rows ({share:.0%}): lifetime totals of the "
                "profile, not per-post averages"
            )
        mapping.unmapped.append(header)
        del mapping.columns[f]
        out.append(
            ColumnDecision(
                header,
                None,
                "meaning",
                f"not used as {f}; map it in a --mapping file if it is per post",
                evidence,
            )
        )
    return out


def check_meaning(
    cells: pl.DataFrame,
    mapping: ColumnMapping,
    formats: Mapping[str, NumberFormat],
    *,
    overridden: set[str],
) -> list[ColumnDecision]:
    """Check the mapped columns' meaning against their values; drop or move the implausible
    ones in ``mapping`` (in place) and return the decisions. Files over ``SAMPLE_ROWS`` are
    judged on evenly spaced rows (shares, not single values, decide)."""
    if cells.height > SAMPLE_ROWS:
        cells = cells.gather_every(cells.height // SAMPLE_ROWS + 1)
    values = parsed_values(cells, mapping, formats)
    out = _lifetime_totals(values, mapping, overridden)
    out += _interactions_pair(values, mapping, overridden)
    return out
