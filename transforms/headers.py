"""Decide which export column is which canonical field.

Headers drift and sometimes lie, so the decision uses the alias table *and* a sample of
the column contents:

* a header that appears twice (a formatted and a numeric copy of one metric) resolves to
  the copy whose values are plain numbers;
* a metric column whose values are mostly not numbers is not used as that metric (and is
  used as ``country`` when its values are mostly country names);
* ambiguous name columns ("Name", "Youtuber", "channel name", ...) are ranked by how
  handle-like their values are: the most handle-like becomes ``handle``, the next one
  ``display_name``.

Everything here is pure: headers and a small sample frame in, a ``ColumnMapping`` out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl

from transforms.numbers import NumberFormat, is_placeholder, parse_number
from transforms.settings import HeaderAliases, header_key

NUMERIC_FIELDS = (
    "followers",
    "avg_views",
    "avg_likes",
    "avg_comments",
    "avg_shares",
    "avg_engagement",
    "avg_engagement_authentic",
    "engagement_rate",
)
SINGLE_FIELDS = (
    "handle",
    "display_name",
    *NUMERIC_FIELDS,
    "country",
    "audience_country",
    "platform",
    "snapshot_date",
    "email",
    "phone",
)
NAME_FIELDS = ("handle", "display_name", "name_candidate")
MIN_NUMERIC_SHARE = 0.5


@dataclass
class ColumnMapping:
    """canonical field -> internal column name (``c0``, ``c1`` ...) and why."""

    columns: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # internal name -> original header
    decisions: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def header_of(self, canonical: str) -> str:
        col = self.columns.get(canonical)
        return self.headers.get(col, canonical) if col else canonical


def _share(sample: pl.DataFrame, col: str, expr: pl.Expr) -> float:
    """Share of the non-placeholder values of ``col`` for which ``expr`` is true."""
    present = sample.select(pl.col(col)).filter(~is_placeholder(pl.col(col)))
    if present.height == 0:
        return 0.0
    return float(present.select(expr.cast(pl.Float64).mean()).item() or 0.0)


def plain_number_share(sample: pl.DataFrame, col: str) -> float:
    plain = r"^[+-]?\d+([.,]\d+)?$"  # 1234, 1234.5 or 1234,5: no suffix, no grouping
    return _share(sample, col, pl.col(col).str.strip_chars().str.contains(plain))


def number_share(sample: pl.DataFrame, col: str, decimal_comma: bool = False) -> float:
    """Share of the values that are numbers in either decimal convention (which one the
    column uses is decided later, on the whole column: transforms.evidence)."""
    point = ~parse_number(pl.col(col), fmt=NumberFormat(".", non_ascii_digits=True)).is_invalid
    comma = ~parse_number(pl.col(col), fmt=NumberFormat(",", non_ascii_digits=True)).is_invalid
    return _share(sample, col, point | comma)


def handle_score(sample: pl.DataFrame, col: str) -> float:
    c = pl.col(col).str.strip_chars()
    no_space = _share(sample, col, ~c.str.contains(r"\s"))
    handle_chars = _share(sample, col, c.str.contains(r"^@?[a-z0-9._]+$"))
    return no_space + handle_chars


def resolve_columns(
    headers: Sequence[str],
    sample: pl.DataFrame,
    aliases: HeaderAliases,
    *,
    country_share: Callable[[pl.Series], float],
    decimal_comma: bool = False,
    overrides: dict[str, str | list[str]] | None = None,
) -> ColumnMapping:
    """Map headers to canonical fields.

    ``sample`` has one String column per header, named ``c0``, ``c1`` ... in header order.
    ``overrides`` (from a user's ``--mapping`` file) maps canonical field -> header text and
    wins over aliases and content rules.
    """
    lookup = aliases.lookup()
    platform_words = set(aliases.platform_lookup())
    mapping = ColumnMapping(headers={f"c{i}": h for i, h in enumerate(headers)})
    by_field: dict[str, list[str]] = {}
    overridden: dict[str, str] = {}
    override_categories: list[str] = []

    override_keys: dict[str, str] = {}
    for f, names in (overrides or {}).items():
        for name in [names] if isinstance(names, str) else names:
            override_keys[header_key(name)] = f
    present_keys = {header_key(h) for h in headers}
    for key, f in override_keys.items():
        if key not in present_keys:
            mapping.decisions.append(f"mapping file: no column headed like {key!r} for {f}")
    for i, header in enumerate(headers):
        col = f"c{i}"
        key = header_key(header)
        target = override_keys.get(key)
        if target == "categories":
            override_categories.append(col)
            continue
        if target is not None:
            if target in overridden:
                mapping.decisions.append(
                    f"mapping file: {target!r} matches several columns; using the first"
                )
                continue
            overridden[target] = col
            continue
        target = lookup.get(key)
        if target is None:
            # "Tiktok followers", "Instagram followers count": drop the platform word
            words = [w for w in key.split() if w not in platform_words]
            target = lookup.get(" ".join(words)) if words else None
        if target is None:
            if header.strip() or sample.get_column(col).drop_nulls().len() > 0:
                mapping.unmapped.append(header)
            continue
        if target == "ignore":
            mapping.ignored.append(header)
            continue
        by_field.setdefault(target, []).append(col)

    mapping.categories += override_categories
    for target, col in overridden.items():
        if target == "categories":
            mapping.categories.append(col)
        else:
            mapping.columns[target] = col
        mapping.decisions.append(f"{target} <- {mapping.headers[col]!r} (mapping file)")

    # Numeric fields: prefer the plain-number copy; drop columns whose content is not numbers.
    for target in NUMERIC_FIELDS:
        if target in mapping.columns:
            continue
        cols = by_field.pop(target, [])
        usable = []
        for col in cols:
            share = number_share(sample, col, decimal_comma)
            if share < MIN_NUMERIC_SHARE and sample.height > 0:
                mapping.decisions.append(
                    f"{mapping.headers[col]!r} is headed like {target} but only "
                    f"{share:.0%} of its values are numbers: not used as {target}"
                )
                by_field.setdefault("_lying", []).append(col)
            else:
                usable.append(col)
        if not usable:
            continue
        best = max(usable, key=lambda c: (plain_number_share(sample, c), int(c[1:])))
        mapping.columns[target] = best
        if len(usable) > 1:
            mapping.decisions.append(
                f"{target}: {len(usable)} columns headed {mapping.headers[best]!r}; "
                f"using the numeric copy (column {int(best[1:]) + 1})"
            )

    # Names: explicit handle/display columns first, then rank ambiguous ones by content.
    explicit_handle = [c for c in by_field.pop("handle", [])]
    explicit_display = [c for c in by_field.pop("display_name", [])]
    candidates = by_field.pop("name_candidate", [])
    if "handle" not in mapping.columns:
        pool = explicit_handle or candidates
        if pool:
            ranked = sorted(pool, key=lambda c: (-handle_score(sample, c), int(c[1:])))
            mapping.columns["handle"] = ranked[0]
            if len(pool) > 1 or not explicit_handle:
                mapping.decisions.append(
                    f"handle <- {mapping.headers[ranked[0]]!r} (most handle-like values)"
                )
            candidates = [*candidates] if pool is explicit_handle else ranked[1:]
    if "display_name" not in mapping.columns:
        pool = explicit_display or [c for c in candidates if c != mapping.columns.get("handle")]
        if pool:
            mapping.columns["display_name"] = pool[0]
            if not explicit_display:
                mapping.decisions.append(f"display_name <- {mapping.headers[pool[0]]!r}")

    # Remaining single-valued fields: first column wins, later ones reported.
    for target in SINGLE_FIELDS:
        cols = by_field.pop(target, [])
        if target in mapping.columns or not cols:
            if cols and target in mapping.columns:
                mapping.ignored.extend(mapping.headers[c] for c in cols)
            continue
        mapping.columns[target] = cols[0]
        mapping.ignored.extend(mapping.headers[c] for c in cols[1:])

    if not mapping.categories:
        mapping.categories = by_field.pop("categories", [])

    # A mislabeled column full of country names is the country column.
    for col in by_field.pop("_lying", []):
        values = sample.get_column(col).drop_nulls()
        if "country" not in mapping.columns and country_share(values) >= MIN_NUMERIC_SHARE:
            mapping.columns["country"] = col
            mapping.decisions.append(
                f"country <- {mapping.headers[col]!r} (its values are country names)"
            )
        else:
            mapping.unmapped.append(mapping.headers[col])
    return mapping
