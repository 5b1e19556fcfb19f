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

from schemas.rows import METRIC_FIELDS
from transforms.numbers import NumberFormat, is_placeholder, parse_number
from transforms.settings import HeaderAliases, header_key

NUMERIC_FIELDS = METRIC_FIELDS  # schemas.rows: the metric columns, declared once
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


def known_field(header: str, lookup: dict[str, str], platform_words: set[str]) -> str | None:
    """The canonical field (or ``"ignore"``) a header names, through the alias table;
    "Tiktok followers", "Instagram followers count": the platform word is dropped."""
    key = header_key(header)
    target = lookup.get(key)
    if target is None:
        words = [w for w in key.split() if w not in platform_words]
        target = lookup.get(" ".join(words)) if words else None
    return target


def platform_group(header: str, platform_lookup: dict[str, str]) -> str | None:
    """The platform a header names ("YouTube subscribers" -> youtube), if exactly one."""
    found = {platform_lookup[w] for w in header_key(header).split() if w in platform_lookup}
    return found.pop() if len(found) == 1 else None


def _override_keys(
    headers: Sequence[str], overrides: dict[str, str | list[str]] | None, mapping: ColumnMapping
) -> dict[str, str]:
    """header key -> field, from the user's mapping file; names no column matches reported."""
    keys: dict[str, str] = {}
    for f, names in (overrides or {}).items():
        for name in [names] if isinstance(names, str) else names:
            keys[header_key(name)] = f
    present = {header_key(h) for h in headers}
    for key, f in keys.items():
        if key not in present:
            mapping.decisions.append(f"mapping file: no column headed like {key!r} for {f}")
    return keys


def _by_alias(
    headers: Sequence[str],
    sample: pl.DataFrame,
    aliases: HeaderAliases,
    override_keys: dict[str, str],
    mapping: ColumnMapping,
    exclude: frozenset[int],
) -> dict[str, list[str]]:
    """field -> candidate columns by header; mapping-file columns go straight into
    ``mapping``; ignored and unknown headers are listed."""
    lookup, platform_words = aliases.lookup(), set(aliases.platform_lookup())
    by_field: dict[str, list[str]] = {}
    overridden: dict[str, str] = {}
    for i, header in enumerate(headers):
        col = f"c{i}"
        target = override_keys.get(header_key(header))
        if target == "categories":
            mapping.categories.append(col)
        elif target is not None and target in overridden:
            mapping.decisions.append(
                f"mapping file: {target!r} matches several columns; using the first"
            )
        elif target is not None:
            overridden[target] = col
        elif i in exclude:
            mapping.ignored.append(header)
        elif (target := known_field(header, lookup, platform_words)) is None:
            if header.strip() or sample.get_column(col).drop_nulls().len() > 0:
                mapping.unmapped.append(header)
        elif target == "ignore":
            mapping.ignored.append(header)
        else:
            by_field.setdefault(target, []).append(col)
    for target, col in overridden.items():
        mapping.columns[target] = col
        mapping.decisions.append(f"{target} <- {mapping.headers[col]!r} (mapping file)")
    return by_field


def _numeric_fields(
    sample: pl.DataFrame, by_field: dict[str, list[str]], mapping: ColumnMapping
) -> None:
    """Prefer the plain-number copy; drop columns whose content is not numbers."""
    for target in NUMERIC_FIELDS:
        if target in mapping.columns:
            continue
        usable = []
        for col in by_field.pop(target, []):
            share = number_share(sample, col)
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


def _name_fields(
    sample: pl.DataFrame, by_field: dict[str, list[str]], mapping: ColumnMapping
) -> None:
    """Explicit handle/display columns first, then ambiguous ones ranked by content."""
    explicit_handle = by_field.pop("handle", [])
    explicit_display = by_field.pop("display_name", [])
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


def _single_fields(by_field: dict[str, list[str]], mapping: ColumnMapping) -> None:
    """Remaining single-valued fields: first column wins, later ones reported."""
    for target in SINGLE_FIELDS:
        cols = by_field.pop(target, [])
        if cols and target in mapping.columns:
            mapping.ignored.extend(mapping.headers[c] for c in cols)
        elif cols:
            mapping.columns[target] = cols[0]
            mapping.ignored.extend(mapping.headers[c] for c in cols[1:])
    if not mapping.categories:
        mapping.categories = by_field.pop("categories", [])


def _lying_columns(
    sample: pl.DataFrame,
    by_field: dict[str, list[str]],
    mapping: ColumnMapping,
    country_share: Callable[[pl.Series], float],
) -> None:
    """A mislabeled column full of country names is the country column."""
    for col in by_field.pop("_lying", []):
        values = sample.get_column(col).drop_nulls()
        if "country" not in mapping.columns and country_share(values) >= MIN_NUMERIC_SHARE:
            mapping.columns["country"] = col
            mapping.decisions.append(
                f"country <- {mapping.headers[col]!r} (its values are country names)"
            )
        else:
            mapping.unmapped.append(mapping.headers[col])


def resolve_columns(
    headers: Sequence[str],
    sample: pl.DataFrame,
    aliases: HeaderAliases,
    *,
    country_share: Callable[[pl.Series], float],
    decimal_comma: bool = False,  # unused: number formats are decided on the whole column
    overrides: dict[str, str | list[str]] | None = None,
    exclude: frozenset[int] = frozenset(),
) -> ColumnMapping:
    """Map headers to canonical fields.

    ``sample`` has one String column per header, named ``c0``, ``c1`` ... in header order.
    ``overrides`` (from a user's ``--mapping`` file) maps canonical field -> header text and
    wins over aliases and content rules. ``exclude``: positions not to map (another
    platform's column group), listed as ignored.
    """
    mapping = ColumnMapping(headers={f"c{i}": h for i, h in enumerate(headers)})
    keys = _override_keys(headers, overrides, mapping)
    by_field = _by_alias(headers, sample, aliases, keys, mapping, exclude)
    _numeric_fields(sample, by_field, mapping)
    _name_fields(sample, by_field, mapping)
    _single_fields(by_field, mapping)
    _lying_columns(sample, by_field, mapping, country_share)
    return mapping
