"""One sheet's way from raw cells to typed, validated rows, in readable steps.

``plan_sheet``: decide what every column is and how it writes its numbers (column evidence,
``transforms.evidence``), which platform and snapshot date the file describes, and whether
a file rule refuses it (``FILE_RULES``: one entry per rule, with its reason).
``reader_failures``: rows the reader could not split cleanly (ragged, malformed).
``parse_sheet``: normalise and split off the cells that did not parse.
``validate_rows``: the NormalisedCreator contract, failures with their raw text.

Pure: the settings come in as ``StagingSettings`` (the IO layer loads them:
``adapters.config.staging_settings``); ``adapters.ingest`` strings these steps together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TypeVar

import polars as pl

from schemas import NormalisedCreator, soft_validate
from schemas.reasons import Reason
from schemas.rows import METRICS
from schemas.sheet import RawSheet
from schemas.vocabulary import Platform
from transforms.country import country_share
from transforms.evidence import ColumnDecision, number_formats
from transforms.filenames import date_from_name, platform_from_name
from transforms.headers import NUMERIC_FIELDS, ColumnMapping, platform_group, resolve_columns
from transforms.meaning import check_meaning
from transforms.normalise import (
    PARSED_FIELDS,
    RATE_FIELDS,
    FileContext,
    date_format_of,
    normalise,
    platform_from_url,
    raw_text_long,
    split_parse_failures,
)
from transforms.numbers import Decimal, NumberFormat, plain_number_columns, rate_in_points
from transforms.settings import HeaderAliases

T = TypeVar("T")
FUTURE_DAYS = 7  # a snapshot date further ahead than this is a typo, not a forecast


@dataclass(frozen=True)
class StagingSettings:
    """What staging needs besides the sheet: the alias tables and a ``--mapping`` file's
    choices, loaded by the IO layer (``adapters.config.staging_settings``)."""

    aliases: HeaderAliases
    countries: pl.DataFrame  # transforms.country.country_lookup
    columns: dict[str, str | list[str]] | None = None  # the mapping's [columns]
    numbers: dict[str, Decimal] = field(default_factory=dict)  # the mapping's [numbers]
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class SheetPlan:
    """What the evidence says about one sheet, before any row is parsed."""

    mapping: ColumnMapping
    platform: str | None
    snapshot: dt.date | None
    formats: dict[str, NumberFormat] = field(default_factory=dict)
    column_decisions: list[ColumnDecision] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[tuple[Reason, str]] = field(default_factory=list)

    @property
    def decisions(self) -> list[str]:
        return [*self.mapping.decisions, *(d.line() for d in self.column_decisions)]


# ---------------------------------------------------------------- file rules
@dataclass(frozen=True)
class FileRule:
    """A sheet is refused with ``reason`` when ``applies``; ``says`` gives the specifics."""

    reason: Reason
    applies: Callable[[SheetPlan, dt.date], bool]
    says: Callable[[SheetPlan, RawSheet], str]


def _future(plan: SheetPlan, today: dt.date) -> bool:
    return plan.snapshot is not None and plan.snapshot > today + dt.timedelta(days=FUTURE_DAYS)


FILE_RULES: tuple[FileRule, ...] = (
    FileRule(
        Reason.NO_HANDLE_COLUMN,
        lambda p, _: "handle" not in p.mapping.columns,
        lambda p, s: f"no column looks like a creator handle (headers: {s.headers})",
    ),
    FileRule(
        Reason.NO_FOLLOWERS_COLUMN,
        lambda p, _: "followers" not in p.mapping.columns,
        lambda p, s: f"no usable followers column (headers: {s.headers})",
    ),
    FileRule(
        Reason.UNKNOWN_PLATFORM,
        lambda p, _: "platform" not in p.mapping.columns and p.platform is None,
        lambda p, s: "cannot tell the platform: no platform column and none in the file name",
    ),
    FileRule(
        Reason.UNKNOWN_SNAPSHOT_DATE,
        lambda p, _: "snapshot_date" not in p.mapping.columns and p.snapshot is None,
        lambda p, s: (
            "cannot tell which date the export describes: no date column and no "
            "date in the file name"
        ),
    ),
    FileRule(
        Reason.FUTURE_SNAPSHOT_DATE,
        _future,
        lambda p, s: f"snapshot date {p.snapshot} is more than {FUTURE_DAYS} days in the future",
    ),
)


def file_problems(plan: SheetPlan, sheet: RawSheet, today: dt.date) -> list[tuple[Reason, str]]:
    return [
        (rule.reason, f"{sheet.label}: {rule.says(plan, sheet)}; {rule.reason.fix}")
        for rule in FILE_RULES
        if rule.applies(plan, today)
    ]


# ---------------------------------------------------------------- planning
def source_of(
    column_says: bool,
    option: T | None,
    from_name: T | None,
    what: str,
    notes: list[str],
) -> T | None:
    """An explicit option beats the file name; a disagreement becomes a note."""
    if column_says:
        return None
    if option is not None and from_name is not None and option != from_name:
        notes.append(
            f"{what}: --{what.replace('_', '-')} {option} used; the file name says {from_name}"
        )
    return option if option is not None else from_name


def map_columns(
    sheet: RawSheet, settings: StagingSettings, platform: str | None
) -> tuple[ColumnMapping, str | None]:
    """(the header mapping, a problem with the file's column groups): a wide file keeps
    only its platform's column group."""
    aliases, countries, overrides = settings.aliases, settings.countries, settings.columns
    data_cols = [c for c in sheet.cells.columns if c.startswith("c") and c[1:].isdigit()]
    groups = column_groups(sheet, aliases.platform_lookup())
    exclude, group_problem, group_decision = pick_group(groups, platform)
    mapping = resolve_columns(
        sheet.headers,
        sheet.cells.select(data_cols).head(2000),
        aliases,
        country_share=lambda s: country_share(s, countries),
        overrides=overrides,
        exclude=exclude,
    )
    if group_decision:
        mapping.decisions.append(group_decision)
    return mapping, group_problem


def plan_sheet(
    sheet: RawSheet,
    settings: StagingSettings,
    *,
    platform: str | None,
    snapshot_date: dt.date | None,
) -> SheetPlan:
    """Column meanings and formats, platform and date (explicit options first), problems."""
    overrides = settings.columns
    name = PurePath(sheet.label.split("#", 1)[0]).name
    name_platform = platform_from_name(name, settings.aliases.platform_lookup())
    mapping, group_problem = map_columns(sheet, settings, platform or name_platform)
    numeric = {f: mapping.columns[f] for f in NUMERIC_FIELDS if f in mapping.columns}
    formats, decisions = number_formats(
        sheet.cells,
        numeric,
        mapping.headers,
        delimiter=sheet.delimiter,
        forced=settings.numbers,
        typed=sheet.number_columns,
    )
    decisions += check_meaning(sheet.cells, mapping, formats, overridden=set(overrides or {}))
    notes: list[str] = []
    name_date = date_from_name(name)
    if sheet.snapshot_hint and name_date and sheet.snapshot_hint != name_date:
        notes.append(
            f"snapshot_date: the sheet's name says {sheet.snapshot_hint} (used); "
            f"the file name says {name_date}"
        )
    has = mapping.columns.keys()
    plan = SheetPlan(
        mapping,
        source_of("platform" in has, platform, name_platform, "platform", notes),
        source_of(
            "snapshot_date" in has,
            snapshot_date,
            sheet.snapshot_hint or name_date,
            "snapshot_date",
            notes,
        ),
        formats,
        decisions,
        notes,
    )
    if plan.platform is None and "platform" not in has:
        plan.platform = _platform_of_profile_urls(sheet.cells, mapping, plan)
    plan.problems = (
        [(Reason.AMBIGUOUS_PLATFORM_COLUMNS, f"{sheet.label}: {group_problem}")]
        if group_problem
        else file_problems(plan, sheet, settings.today)
    )
    return plan


def column_groups(sheet: RawSheet, platform_lookup: dict[str, str]) -> list[str | None]:
    """Per column, the platform group it belongs to: from a merged group-header row above
    the header, else from a platform word in its own header ("YouTube subscribers")."""
    above = sheet.column_groups or []
    return [
        (above[i] if i < len(above) and above[i] else platform_group(h, platform_lookup))
        for i, h in enumerate(sheet.headers)
    ]


def pick_group(
    groups: list[str | None], platform: str | None
) -> tuple[frozenset[int], str | None, str | None]:
    """(columns of other platforms' groups, a problem, a decision) for a wide file with one
    column group per platform; nothing for a file with one group or none."""
    named = sorted({g for g in groups if g})
    if len(named) < 2:
        return frozenset(), None, None
    if platform not in named:
        return (
            frozenset(),
            f"one column group per platform ({', '.join(named)}) and the file's platform is "
            f"{platform or 'unknown'}; {Reason.AMBIGUOUS_PLATFORM_COLUMNS.fix}",
            None,
        )
    other = frozenset(i for i, g in enumerate(groups) if g and g != platform)
    return (
        other,
        None,
        (
            f"column groups {', '.join(named)}: the {platform} group is used, "
            f"{len(other)} columns of the other groups are ignored"
        ),
    )


def _platform_of_profile_urls(
    cells: pl.DataFrame, mapping: ColumnMapping, plan: SheetPlan
) -> str | None:
    """The platform of a file without one, when its handles are profile URLs of one
    platform (instagram.com/h/, tiktok.com/@h ...)."""
    col = mapping.columns.get("handle")
    if col is None:
        return None
    found = cells.select(platform_from_url(pl.col(col)).drop_nulls().unique()).to_series()
    urls = cells.select(platform_from_url(pl.col(col)).is_not_null().sum()).item()
    if found.len() != 1 or urls * 2 < cells.height:
        return None
    plan.column_decisions.append(
        ColumnDecision(
            mapping.headers[col],
            "platform",
            "meaning",
            f"platform {found[0]} from its profile URLs",
            f"{urls} of {cells.height} handles are {found[0]} profile URLs",
        )
    )
    return str(found[0])


# ---------------------------------------------------------------- rows
def swallowed(sheet: RawSheet) -> pl.Expr | None:
    """Rows whose quoted cell holds line breaks and at least a row's worth of delimiters:
    an unclosed quote that swallowed the rows after it (their data, not a display name)."""
    width = len(sheet.headers)
    if sheet.delimiter is None or width < 3:
        return None
    data_cols = [f"c{i}" for i in range(width)]
    return pl.any_horizontal(
        (
            pl.col(c).str.contains("\n", literal=True)
            & (pl.col(c).str.count_matches(sheet.delimiter, literal=True) >= width - 1)
        ).fill_null(False)
        for c in data_cols
    )


def _swallowed_failures(sheet: RawSheet, cells: pl.DataFrame, flag: pl.Expr) -> pl.DataFrame:
    data_cols = [f"c{i}" for i in range(len(sheet.headers))]
    biggest = pl.concat_list(data_cols).list.eval(
        pl.element().sort_by(pl.element().str.len_chars(), descending=True).first()
    )
    return cells.filter(flag).select(
        pl.lit(sheet.label).alias("source_file"),
        "source_row",
        reason=pl.lit(Reason.SWALLOWED_ROWS.value),
        column=pl.lit(None, pl.String),
        field=pl.lit(None, pl.String),
        raw_value=biggest.list.first().str.slice(0, 500),
        detail=pl.lit(Reason.SWALLOWED_ROWS.fix),
    )


def reader_failures(
    sheet: RawSheet, cells: pl.DataFrame
) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """(rows with more cells than headers, rows that swallowed others, records the reader
    could not split; the cells left to parse)."""
    out = []
    flag = swallowed(sheet)
    if flag is not None and cells.select(flag.any()).item():
        out.append(_swallowed_failures(sheet, cells, flag))
        cells = cells.filter(~flag)
    ragged = cells.filter(pl.col("_extra_fields").is_not_null())
    if ragged.height:
        out.append(
            ragged.select(
                pl.lit(sheet.label).alias("source_file"),
                "source_row",
                reason=pl.lit(Reason.TOO_MANY_FIELDS.value),
                column=pl.lit(None, pl.String),
                field=pl.lit(None, pl.String),
                raw_value=pl.col("_extra_fields"),
                detail=pl.lit(f"the row has more cells than the {len(sheet.headers)} headers"),
            )
        )
    if sheet.malformed:
        out.append(
            pl.DataFrame(
                {
                    "source_file": [sheet.label] * len(sheet.malformed),
                    "source_row": [m[0] for m in sheet.malformed],
                    "reason": [m[1] for m in sheet.malformed],
                    "raw_value": [m[2] for m in sheet.malformed],
                },
                schema_overrides={"source_row": pl.Int64},
            )
        )
    return out, cells.filter(pl.col("_extra_fields").is_null())


def few_distinct_values(
    cells: pl.DataFrame, columns: list[str], limit: int = 100_000
) -> dict[str, pl.Series]:
    """The distinct values of each column that has at most ``limit`` of them (the platform
    and date columns of an export: parsed once per value, see ``FileContext``)."""
    out = {}
    for c in columns:
        values = cells.get_column(c).unique()
        if values.len() <= limit:
            out[c] = values
    return out


def file_context(
    label: str, cells: pl.DataFrame, plan: SheetPlan, percent_columns: frozenset[str]
) -> FileContext:
    cols = plan.mapping.columns
    date_col = cols.get("snapshot_date")
    castable = plain_number_columns(cells, [cols[f] for f in NUMERIC_FIELDS if f in cols])
    formats = {
        c: NumberFormat(".", plain=True) if c in castable and f.decimal == "." else f
        for c, f in plan.formats.items()
    }
    distinct = few_distinct_values(
        cells,
        [cols[f] for f in ("platform", "snapshot_date") if f in cols]
        + [c for c, f in formats.items() if not f.plain],
    )
    return FileContext(
        label,
        plan.platform,
        plan.snapshot,
        rate_in_points=frozenset(
            f
            for f in RATE_FIELDS
            if f in cols
            and cols[f] not in percent_columns
            and rate_in_points(cells, cols[f], fmt=formats.get(cols[f]))
        ),
        # the format that parses every present date: tried on the distinct values when known
        date_format=None
        if date_col is None
        else date_format_of(
            distinct[date_col].to_frame() if date_col in distinct else cells, date_col
        ),
        distinct_values=distinct,
        number_formats=formats,
        latest_snapshot_date=dt.date.today() + dt.timedelta(days=FUTURE_DAYS),
    )


def parse_sheet(
    sheet: RawSheet, cells: pl.DataFrame, plan: SheetPlan
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows whose every cell parsed, one failure row per cell that did not)."""
    ctx = file_context(sheet.label, cells, plan, sheet.percent_columns)
    platforms = Platform.spelling_lookup()
    normalised = normalise(cells.lazy(), plan.mapping, ctx, platforms)
    good, parse_failures = split_parse_failures(normalised, plan.mapping)
    good_df, parse_df = pl.collect_all([good, parse_failures])
    detail = pl.concat_str(
        pl.lit("'"), pl.col("raw_value"), pl.lit("' in column '"), pl.col("column"), pl.lit("' ")
    )
    return good_df, parse_df.with_columns(
        detail=pl.concat_str(
            detail,
            pl.col("reason").replace_strict(
                {r.value: r.fix for r in Reason}, default="", return_dtype=pl.String
            ),
        )
    )


def validate_rows(
    good: pl.DataFrame, cells: pl.DataFrame, mapping: ColumnMapping
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, failures with the raw text of the cells that failed)."""
    result = soft_validate(NormalisedCreator, good)
    failed_rows = result.failures.get_column("source_row").unique().implode()
    raw_text = raw_text_long(
        cells.filter(pl.col("source_row").is_in(failed_rows)).select(
            "source_row",
            *[
                pl.col(c).alias(f"_raw_{f}")
                for f, c in mapping.columns.items()
                if f in PARSED_FIELDS
            ],
        )
    )
    header_of = {f: mapping.header_of(f) for f in mapping.columns}
    header_of["handle_norm"] = mapping.header_of("handle")
    header_of.update({m.staged_as: mapping.header_of(m.name) for m in METRICS})
    vfail = result.failures.join(raw_text, on=["source_row", "field"], how="left").with_columns(
        raw_value=pl.coalesce("raw_text", "raw_value"),
        column=pl.col("field").replace(header_of),
        detail=pl.concat_str(pl.col("field"), pl.lit(" failed check "), pl.col("reason")),
    )
    return result.valid, vfail.drop("raw_text")
