"""The contracts between stages. Descriptions and units feed the data dictionary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandera.polars as pa
import polars as pl

from schemas.rows import METRICS, Metric, MetricGroup, MetricKind
from schemas.vocabulary import Platform, ReachMethod, Tier

TIERS = Tier.codes()
PLATFORMS = Platform.codes()


def _f(description: str, *, unit: str | None = None, **kw: Any) -> Any:
    """``pa.Field`` with a unit in its metadata.

    Returns ``Any``, as ``pa.Field`` itself does, so that ``followers: int = _f(...)``
    type-checks: pandera reads the dtype from the annotation, not from this value.
    """
    meta = {"unit": unit} if unit else None
    return pa.Field(description=description, metadata=meta, **kw)


class RawExport(pa.DataFrameModel):
    """An export as read: every cell is text, columns are positions ``c0..cN``."""

    source_row: int = _f("1-based row of the record in the file, header = row 1", ge=1)
    cells: str = _f("a cell as text", nullable=True, alias=r"^c\d+$", regex=True)

    class Config:
        strict = True


class _NormalisedFields:
    """One creator row per input row: renamed and cast, no business logic yet."""

    source_file: str = _f("input file (and sheet) the row came from")
    source_row: int = _f("1-based row in the source file, header = row 1", ge=1)
    platform: str = _f("social platform", isin=list(PLATFORMS))
    snapshot_date: dt.date = _f(
        "date the export describes (first of the month for monthly exports)"
    )
    handle: str = _f("creator handle as written in the export", str_length={"min_value": 1})
    handle_norm: str = _f(
        "handle: NFC, trimmed, no leading @, lower case", str_length={"min_value": 1}
    )
    display_name: str = _f("display name", nullable=True)
    # the metrics (schemas.rows.METRICS) go here
    country_raw: str = _f("the creator's country as written in the export", nullable=True)
    audience_country_raw: str = _f(
        "the main country of the creator's audience as written in the export", nullable=True
    )
    categories: list[str] = _f(
        "content categories as the export writes them; null when the export has none "
        "(the niche columns map them onto the taxonomy)",
        nullable=True,
    )
    email: str = _f("contact email (never published to BI tables)", nullable=True)
    phone: str = _f("contact phone (never published to BI tables)", nullable=True)

    class Config:
        strict = "filter"


class _EnrichedFields:
    """A published roster row: one per (platform, creator, snapshot_date)."""

    creator_key: str = _f(
        "sha256('platform:handle_norm'), first 16 hex digits; stable", str_length=16
    )
    platform: str = _f("social platform", isin=list(PLATFORMS))
    handle: str = _f("creator handle as written in the export")
    handle_norm: str = _f("handle: NFC, trimmed, no leading @, lower case")
    display_name: str = _f("display name", nullable=True)
    # the core metrics (schemas.rows.METRICS) go here
    engagement_rate: float = _f(
        "the platform's engagement convention, as the leading tools define it: "
        "engagement_rate_by_views on TikTok and YouTube, engagement_rate_by_followers on "
        "Instagram, Facebook, X and Twitch (rate card [engagement]); null where that "
        "rate is missing or impossible (see estimate_flags)",
        unit="fraction",
        nullable=True,
        ge=0,
    )
    engagement_rate_by_followers: float = _f(
        "interactions per post / followers (interactions = avg_likes+avg_comments+avg_shares, "
        "else avg_engagement); can exceed 1 on TikTok and "
        "YouTube, where views come from outside the follower base; null when over 1 on "
        "per-follower platforms (flagged)",
        unit="fraction",
        nullable=True,
        ge=0,
    )
    engagement_formula: str = _f(
        "numerator used: interactions = avg_likes+avg_comments+avg_shares; aggregate = "
        "avg_engagement; reported = the export's own rate, taken as the platform's convention "
        "(it fills engagement_rate only)",
        nullable=True,
        isin=["interactions", "aggregate", "reported"],
    )
    engagement_rate_by_views: float = _f(
        "interactions per post / avg_views: the engagement KPI of view-driven platforms "
        "(TikTok, YouTube), comparable across follower counts; null without views, or when "
        "over 1 (flagged)",
        unit="fraction",
        nullable=True,
        le=1,
        ge=0,
    )
    estimate_flags: list[str] = _f(
        "why an estimate or rate of the row was left out or is outside its cited range "
        "(empty when none): engagement_by_views_over_100pct, "
        "engagement_by_followers_over_100pct, zero_views, cpm_below_cited_range, "
        "cpm_above_cited_range; see docs/ESTIMATES.md"
    )
    tier: str = _f("influencer tier from the rate card's tier scheme", isin=list(TIERS))
    est_reach: int = _f("estimated people reached by one sponsored post", unit="people", ge=0)
    est_reach_low: int = _f(
        "low end of the 80% band of est_reach (measured: see docs/ESTIMATES.md)",
        unit="people",
        ge=0,
    )
    est_reach_high: int = _f("high end of the 80% band of est_reach", unit="people", ge=0)
    est_reach_method: str = _f(
        "how est_reach was found: observed_views = the export's average views; history = "
        "the creator's latest earlier observed views; model_interactions / model_followers "
        "= views predicted by the per-platform log-log model fitted in the run (with / "
        "without interactions); benchmark = followers x the rate card's cited reach rate",
        isin=[m.value for m in ReachMethod],
    )
    est_cost_usd_low: float = _f(
        "estimated cost per sponsored post, low: est_reach x the platform's low cited CPM, "
        "kept inside the tier's cited price range",
        unit="USD",
        ge=0,
    )
    est_cost_usd_mid: float = _f(
        "estimated cost per sponsored post, typical: est_reach x the mid cited CPM, kept "
        "inside the tier's cited price range",
        unit="USD",
        ge=0,
    )
    est_cost_usd_high: float = _f(
        "estimated cost per sponsored post, high: est_reach x the high cited CPM, kept "
        "inside the tier's cited price range",
        unit="USD",
        ge=0,
    )
    est_cpm_usd: float = _f(
        "est_cost_usd_mid per 1,000 est_reach: inside the platform's cited CPM range unless "
        "estimate_flags says cpm_below_cited_range / cpm_above_cited_range",
        unit="USD",
        nullable=True,
        ge=0,
    )
    est_cpe_usd: float = _f(
        "est_cost_usd_mid per interaction of an average post (likes+comments+shares, else "
        "avg_engagement); null without interactions",
        unit="USD",
        nullable=True,
        ge=0,
    )
    country: str = _f(
        "the creator's country (where the creator is based), ISO 3166-1 alpha-2",
        nullable=True,
        str_length=2,
    )
    audience_country: str = _f(
        "the main country of the creator's audience (not the creator's own: see country), "
        "ISO 3166-1 alpha-2",
        nullable=True,
        str_length=2,
    )
    # the vendor metrics (schemas.rows.METRICS) go here
    categories: list[str] = _f(
        "content categories as the export writes them; null when the export has none "
        "(the niche columns map them onto the taxonomy)",
        nullable=True,
    )
    snapshot_date: dt.date = _f("date the export describes")
    source_file: str = _f("input file (and sheet) of the row")
    source_row: int = _f("1-based row in the source file, header = row 1", ge=1)
    run_id: str = _f("run that published the row")
    rate_card_version: str = _f("version of the rate card used")

    @pa.dataframe_check(name="cost_low_le_mid_le_high")
    def _cost_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        c = pl.col
        return data.lazyframe.select(
            (c("est_cost_usd_low") <= c("est_cost_usd_mid"))
            & (c("est_cost_usd_mid") <= c("est_cost_usd_high"))
        )

    @pa.dataframe_check(name="reach_low_le_mid_le_high")
    def _reach_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        c = pl.col
        return data.lazyframe.select(
            (c("est_reach_low") <= c("est_reach")) & (c("est_reach") <= c("est_reach_high"))
        )

    class Config:
        strict = True


def _metric_field(metric: Metric, *, staged: bool) -> tuple[str, str, Any]:
    """(column, annotation, pandera Field) of a metric as staging (``staged``) or the
    published roster checks it: staged values up to the metric's bound (beyond it they are
    typing or unit errors), published scores and shares up to theirs."""
    bounded = staged or metric.kind in (MetricKind.SCORE, MetricKind.RATE)
    le = {"le": metric.max_value} if bounded and metric.max_value is not None else {}
    field = _f(
        metric.description,
        unit=metric.unit,
        nullable=metric.kind != MetricKind.COUNT,
        ge=0,
        **le,
    )
    annotation = "int" if metric.kind == MetricKind.COUNT else "float"
    return (metric.staged_as if staged else metric.name), annotation, field


def _at_most_one(column: str, name: str) -> Any:
    """A named check that a reported rate is at most 100% (its reason code is ``name``)."""

    def check(cls: Any, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_null() | (pl.col(data.key) <= 1.0))

    return pa.check(column, name=name)(check)


def _with_metrics(
    name: str, fields: type, after: dict[MetricGroup, str], *, staged: bool
) -> type[pa.DataFrameModel]:
    """The pandera model of ``fields`` (a plain class: annotations, fields, checks, Config)
    with every metric of ``METRICS`` inserted after the column ``after`` names for its
    group (groups without an entry are left out)."""
    namespace: dict[str, Any] = {"__module__": __name__, "__doc__": fields.__doc__}
    annotations: dict[str, Any] = {}
    for attr, value in vars(fields).items():
        if not attr.startswith("__"):
            namespace[attr] = value
    for column, annotation in fields.__annotations__.items():
        annotations[column] = annotation
        for metric in METRICS:
            if after.get(metric.group) == column:
                metric_column, metric_annotation, field = _metric_field(metric, staged=staged)
                annotations[metric_column] = metric_annotation
                namespace[metric_column] = field
                if staged and metric.group == MetricGroup.REPORTED:
                    namespace[f"_{metric_column}_at_most_one"] = _at_most_one(
                        metric_column, f"{metric.name}_over_100pct"
                    )
    namespace["__annotations__"] = annotations
    return type(name, (pa.DataFrameModel,), namespace)


NormalisedCreator = _with_metrics(
    "NormalisedCreator",
    _NormalisedFields,
    {group: "display_name" for group in MetricGroup},
    staged=True,
)
# polars types of a staged row, derived from its contract
NORMALISED_COLUMNS = {n: c.dtype.type for n, c in NormalisedCreator.to_schema().columns.items()}
EnrichedRoster = _with_metrics(
    "EnrichedRoster",
    _EnrichedFields,
    {MetricGroup.CORE: "display_name", MetricGroup.VENDOR: "audience_country"},
    staged=False,
)


class QuarantineRow(pa.DataFrameModel):
    """A rejected row, or a whole rejected file (source_row null), with the reason."""

    source_file: str = _f("input file (and sheet)")
    source_row: int = _f(
        "1-based row in the file, header = row 1; null for a whole file", nullable=True
    )
    reason: str = _f("machine-readable reason code")
    column: str = _f("header of the offending column as written in the file", nullable=True)
    field: str = _f("canonical field the column maps to", nullable=True)
    raw_value: str = _f("the offending cell as written, or details", nullable=True)
    detail: str = _f("human-readable explanation and how to fix it", nullable=True)
    platform: str = _f("platform of the file, when known", nullable=True)
    snapshot_date: dt.date = _f("snapshot date of the file, when known", nullable=True)
    run_id: str = _f("run that quarantined it")

    class Config:
        strict = True


class CreatorsGrowth(pa.DataFrameModel):
    """The columns ``creators_from_snapshots`` adds to ``EnrichedRoster`` for ``creators``.

    A separate model, not a subclass of ``EnrichedRoster``: pandera 0.35 hands a dataframe
    check's ``name=`` to the first model that builds its schema only (``CheckInfo.to_check``
    pops it), so a subclass would rename ``EnrichedRoster``'s row checks to the method names
    (``_cost_order``) in whichever of the two models is built second.
    """

    followers_prev: int = pa.Field(
        description="followers at the creator's previous snapshot (the latest one before "
        "snapshot_date; not necessarily the previous month); null on the first snapshot",
        nullable=True,
        ge=0,
        metadata={"unit": "people"},
    )
    snapshot_date_prev: dt.date = pa.Field(
        description="snapshot_date of that previous snapshot; null on the first snapshot",
        nullable=True,
    )
    snapshots_count: int = pa.Field(
        description="number of snapshots of the creator in creator_snapshots, this one included",
        ge=1,
        metadata={"unit": "snapshots"},
    )
    first_seen_date: dt.date = pa.Field(
        description="earliest snapshot_date of the creator in creator_snapshots"
    )
    followers_change: int = pa.Field(
        description="followers - followers_prev (negative when the creator lost followers); "
        "null on the first snapshot",
        nullable=True,
        metadata={"unit": "people"},
    )
    followers_change_pct: float = pa.Field(
        description="(followers - followers_prev) / followers_prev, as a fraction (0.05 = +5 %); "
        "null on the first snapshot or when followers_prev is 0",
        nullable=True,
        metadata={"unit": "fraction"},
    )
