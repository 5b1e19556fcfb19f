"""Row shapes, each declared once: the metric columns, the row keys and the columns a
repeated row is compared on. The pandera contracts (``schemas.models``), parsing
(``transforms.headers``, ``transforms.normalise``), duplicate and merge rules
(``transforms.dedupe``, ``transforms.merge``), the published tables and the data dictionary
all derive from here.

Adding a vendor metric is one ``Metric`` entry (with its header spellings, or an entry in
``transforms/config/header_aliases.toml``): it is then parsed, validated, compared when a
row repeats, published in ``creator_snapshots`` and ``creators`` and documented.

Standard library and polars only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

MAX_FOLLOWERS = 10_000_000_000  # more than people on earth: a unit or typing error
MAX_PER_POST = 1_000_000_000_000  # views/likes per post beyond this are a unit or typing error


class MetricKind(StrEnum):
    """How a metric is written and parsed."""

    COUNT = "count"  # a whole number of people (followers): Int64
    PER_POST = "per_post"  # an average per post (views, likes ...): Float64
    RATE = "rate"  # a share: "3.4%", 0.034 or 3.4 points, decided per column
    SCORE = "score"  # a vendor score on 0..max_value


class MetricGroup(StrEnum):
    """Where a metric is published."""

    CORE = "core"  # the roster's own figures, right after display_name
    VENDOR = "vendor"  # passed through from the export, after audience_country
    REPORTED = "reported"  # parsed as ``<name>_reported``; enrich derives the published one


@dataclass(frozen=True)
class Metric:
    """One numeric column of an export, from header to published table."""

    name: str  # the canonical field (header aliases, mapping files) and published column
    description: str  # as the data dictionary shows it
    unit: str
    kind: MetricKind
    group: MetricGroup = MetricGroup.VENDOR
    max_value: float | None = None  # larger values are typing or unit errors (quarantined)
    # a per-post average above followers x this on most rows is not a per-post figure
    max_per_follower: float | None = None
    aliases: tuple[str, ...] = ()  # header spellings, besides header_aliases.toml's

    @property
    def staged_as(self) -> str:
        """The column name from staging on (``engagement_rate_reported``)."""
        return f"{self.name}_reported" if self.group == MetricGroup.REPORTED else self.name

    @property
    def dtype(self) -> pl.DataType:
        return pl.Int64() if self.kind == MetricKind.COUNT else pl.Float64()

    @property
    def published(self) -> bool:
        return self.group != MetricGroup.REPORTED


METRICS: tuple[Metric, ...] = (
    Metric(
        "followers",
        "followers or subscribers",
        "people",
        MetricKind.COUNT,
        MetricGroup.CORE,
        max_value=MAX_FOLLOWERS,
    ),
    Metric(
        "avg_views",
        "average views per post",
        "views",
        MetricKind.PER_POST,
        MetricGroup.CORE,
        max_value=MAX_PER_POST,
        max_per_follower=20.0,
    ),
    Metric(
        "avg_likes",
        "average likes per post",
        "likes",
        MetricKind.PER_POST,
        MetricGroup.CORE,
        max_value=MAX_PER_POST,
        max_per_follower=1.0,
    ),
    Metric(
        "avg_comments",
        "average comments per post",
        "comments",
        MetricKind.PER_POST,
        MetricGroup.CORE,
        max_value=MAX_PER_POST,
        max_per_follower=1.0,
    ),
    Metric(
        "avg_shares",
        "average shares per post",
        "shares",
        MetricKind.PER_POST,
        MetricGroup.CORE,
        max_value=MAX_PER_POST,
        max_per_follower=1.0,
    ),
    Metric(
        "avg_engagement",
        "average interactions per post",
        "interactions",
        MetricKind.PER_POST,
        MetricGroup.CORE,
        max_value=MAX_PER_POST,
        max_per_follower=1.0,
    ),
    Metric(
        "avg_engagement_authentic",
        "average authentic interactions per post, as the export reports them",
        "interactions",
        MetricKind.PER_POST,
        max_value=MAX_PER_POST,
        max_per_follower=1.0,
    ),
    Metric(
        "engagement_rate",
        "engagement rate as reported by the export",
        "fraction",
        MetricKind.RATE,
        MetricGroup.REPORTED,
    ),
    Metric(
        "vendor_quality_score",
        "audience quality score as the export reports it (HypeAuditor AQS, 1-100); read by "
        "the audience-quality rules (docs/QUALITY.md)",
        "score",
        MetricKind.SCORE,
        max_value=100,
    ),
    Metric(
        "audience_credibility",
        "share of real followers as the export reports it (Modash audience credibility, "
        "audience authenticity); read by the audience-quality rules (docs/QUALITY.md)",
        "fraction",
        MetricKind.RATE,
        max_value=1,
    ),
)

METRIC_FIELDS = tuple(m.name for m in METRICS)  # as headers name them, in parsing order
METRIC_COLUMNS = tuple(m.staged_as for m in METRICS)  # as staged rows carry them

# One creator on one platform on one date: the grain of creator_snapshots (with creator_key
# = sha256(platform:handle_norm) standing for the handle), of a merge and of a repeat.
ROW_KEY = ("platform", "handle_norm", "snapshot_date")
# Within one delivery (a file, or a workbook sheet) a key repeats as a duplicate or conflict.
DELIVERY_KEY = ("source_file", *ROW_KEY)
# Besides the metrics, what two rows of one key are compared on (the handle as written is
# not: "@ABC" and "abc" are the same creator). Staged and published names.
COMPARED_STAGED = ("display_name", *METRIC_COLUMNS, "country_raw", "categories")
COMPARED_PUBLISHED = (
    "display_name",
    *(m.name for m in METRICS if m.published),
    "engagement_rate",
    "country",
    "categories",
)
