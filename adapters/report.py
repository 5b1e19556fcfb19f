"""``OUT/report.html``: the roster as a picture, written at the end of each run.

One self-contained HTML file (inline CSS, inline SVG charts drawn here, no script or font
from a CDN: it opens offline, from a mail attachment too):

* the roster by platform and tier (creators, stacked bars);
* cost versus reach (one dot per creator, log scales, by platform);
* engagement against peers (median and inter-quartile range of engagement_rate per
  platform and tier);
* biggest movers (largest follower change since each creator's previous snapshot);
* quarantine by reason, with an example of the fix;
* estimate quality (how reach was estimated, how wide the band is, and the measured error
  when the run's manifest carries one).

The data come from the published tables (``creators``, ``quarantine``) and the run's
manifest; nothing here changes them.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from schemas.manifest import Manifest
from schemas.vocabulary import Tier

if TYPE_CHECKING:
    from adapters.store import TableStore

REPORT_NAME = "report.html"
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948"]
TIER_ORDER = list(Tier.codes())
SCATTER_MAX_POINTS = 3000  # an even sample beyond this: an SVG of 10M dots helps nobody
W = 760  # chart width, px
LABEL_W = 230  # room for row labels, px (longer labels are shortened, in full on hover)


def _short(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    a = abs(v)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= div:
            return f"{v / div:.1f}{suffix}"
    return f"{v:,.0f}" if a >= 10 or float(v).is_integer() else f"{v:.2g}"


# --------------------------------------------------------------------------- SVG charts


def hbars(
    rows: list[tuple[str, list[tuple[str, float]]]],
    *,
    value_label: str,
    order: list[str] | None = None,
) -> str:
    """Horizontal bars, one per row, stacked by segment (negative values extend left);
    segments coloured and stacked in ``order`` (default: as they first appear)."""
    if not rows:
        return '<p class="empty">nothing to show</p>'
    seen = list(dict.fromkeys(s for _, segs in rows for s, _ in segs))
    segments = [s for s in order if s in seen] if order else seen
    rank = {s: i for i, s in enumerate(segments)}
    rows = [(label, sorted(segs, key=lambda sv: rank[sv[0]])) for label, segs in rows]
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(segments)}
    hi = max([sum(max(v, 0) for _, v in segs) for _, segs in rows] + [0])
    lo = min([sum(min(v, 0) for _, v in segs) for _, segs in rows] + [0])
    span = (hi - lo) or 1.0
    left, bar_w, row_h = LABEL_W, W - LABEL_W - 70, 24
    zero = left + (-lo) / span * bar_w
    height = 30 + row_h * len(rows) + (24 if len(segments) > 1 else 0)
    parts = [f'<svg viewBox="0 0 {W} {height}" width="{W}" height="{height}" role="img">']
    for i, (label, segs) in enumerate(rows):
        y = 10 + i * row_h
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" class="lbl">{_e(_short(label))}'
            f"<title>{_e(label)}</title></text>"
        )
        pos, neg = zero, zero
        for seg, v in segs:
            w = abs(v) / span * bar_w
            x = pos if v >= 0 else neg - w
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" '
                f'height="{row_h - 6}" fill="{colour[seg]}"><title>{_e(label)} {_e(seg)}: '
                f"{_e(_num(v))}</title></rect>"
            )
            if v >= 0:
                pos += w
            else:
                neg -= w
        total = sum(v for _, v in segs)
        parts.append(  # the value right of the plot area, whatever its sign
            f'<text x="{left + bar_w + 6}" y="{y + 15}" class="val">{_e(_num(total))}</text>'
        )
    parts.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="6" y2="{10 + row_h * len(rows)}" class="axis"/>'
    )
    if len(segments) > 1:
        parts.append(_legend(segments, colour, height - 10))
    parts.append(
        f'<text x="{W - 4}" y="{10 + row_h * len(rows) + 14}" text-anchor="end" class="note">'
        f"{_e(value_label)}</text></svg>"
    )
    return "".join(parts)


def _legend(names: list[str], colour: dict[str, str], y: float) -> str:
    out, x = [], float(LABEL_W)
    for n in names:
        out.append(
            f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour[n]}"/>'
            f'<text x="{x + 16}" y="{y}" class="lbl">{_e(n)}</text>'
        )
        x += 28 + 7 * len(n)
    return "".join(out)


def scatter(points: list[tuple[float, float, str]], *, x_label: str, y_label: str) -> str:
    """Dots on log-log axes, coloured by series."""
    pts = [(x, y, s) for x, y, s in points if x and y and x > 0 and y > 0]
    if not pts:
        return '<p class="empty">nothing to show</p>'
    series = sorted({s for _, _, s in pts})
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    lx = [math.log10(x) for x, _, _ in pts]
    ly = [math.log10(y) for _, y, _ in pts]
    x0, x1 = math.floor(min(lx)), math.ceil(max(lx)) + (max(lx) == min(lx))
    y0, y1 = math.floor(min(ly)), math.ceil(max(ly)) + (max(ly) == min(ly))
    left, top, pw, ph = 70, 10, W - 90, 300
    height = top + ph + 60

    def px(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * pw

    def py(v: float) -> float:
        return top + ph - (v - y0) / (y1 - y0) * ph

    parts = [f'<svg viewBox="0 0 {W} {height}" width="{W}" height="{height}" role="img">']
    for d in range(x0, x1 + 1):
        parts.append(
            f'<line x1="{px(d):.1f}" x2="{px(d):.1f}" y1="{top}" y2="{top + ph}" class="grid"/>'
            f'<text x="{px(d):.1f}" y="{top + ph + 16}" text-anchor="middle" class="lbl">'
            f"{_e(_num(10.0**d))}</text>"
        )
    for d in range(y0, y1 + 1):
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{py(d):.1f}" y2="{py(d):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{py(d) + 4:.1f}" text-anchor="end" class="lbl">'
            f"{_e(_num(10.0**d))}</text>"
        )
    for (_, _, s), a, b in zip(pts, lx, ly, strict=True):
        parts.append(
            f'<circle class="dot" cx="{px(a):.1f}" cy="{py(b):.1f}" r="2.5" fill="{colour[s]}"/>'
        )
    parts.append(
        f'<text x="{left + pw / 2}" y="{top + ph + 34}" text-anchor="middle" class="note">'
        f'{_e(x_label)}</text><text x="14" y="{top + ph / 2}" class="note" '
        f'transform="rotate(-90 14 {top + ph / 2})" text-anchor="middle">{_e(y_label)}</text>'
    )
    parts.append(_legend(series, colour, height - 6))
    parts.append("</svg>")
    return "".join(parts)


def ranges(rows: list[tuple[str, float, float, float, int]], *, value_label: str) -> str:
    """Per row a line from the lower to the upper quartile and a dot at the median."""
    if not rows:
        return '<p class="empty">nothing to show</p>'
    hi = max(r[3] for r in rows) or 1.0
    left, bar_w, row_h = LABEL_W, W - LABEL_W - 180, 22
    height = 30 + row_h * len(rows)
    parts = [f'<svg viewBox="0 0 {W} {height}" width="{W}" height="{height}" role="img">']
    for i, (label, p25, med, p75, n) in enumerate(rows):
        y = 10 + i * row_h + 11
        x25, xm, x75 = (left + v / hi * bar_w for v in (p25, med, p75))
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" class="lbl">{_e(_short(label))}'
            f"<title>{_e(label)}</title></text>"
            f'<line class="bar" x1="{x25:.1f}" x2="{x75:.1f}" y1="{y}" y2="{y}" '
            f'stroke="{PALETTE[0]}" stroke-width="6"/>'
            f'<circle class="dot" cx="{xm:.1f}" cy="{y}" r="5" fill="{PALETTE[1]}"/>'
            f'<text x="{left + bar_w + 8}" y="{y + 4}" class="val">median {_e(f"{med:.2%}")}'
            f" (n={n:,})</text>"
        )
    parts.append(
        f'<text x="{W - 4}" y="{height - 4}" text-anchor="end" class="note">{_e(value_label)}'
        "</text></svg>"
    )
    return "".join(parts)


# --------------------------------------------------------------------------- the data


def _by_platform_tier(creators: pl.DataFrame) -> list[tuple[str, list[tuple[str, float]]]]:
    counts = creators.group_by("platform", "tier").len().sort("platform")
    rows = []
    for platform in counts.get_column("platform").unique().sort().to_list():
        mine = dict(counts.filter(pl.col("platform") == platform).select("tier", "len").rows())
        rows.append((platform, [(t, float(mine[t])) for t in TIER_ORDER if t in mine]))
    return rows


def _engagement(creators: pl.DataFrame) -> list[tuple[str, float, float, float, int]]:
    """Quartiles of engagement per platform and tier. On a platform where most creators
    have views (TikTok, YouTube) the rate is per view, the comparable KPI there (a follower-
    based rate can pass 1000%); elsewhere per follower. The row label says which."""
    per_view = "engagement_rate_by_views" in creators.columns
    by_views = (
        set(
            creators.group_by("platform")
            .agg(pl.col("engagement_rate_by_views").is_not_null().mean().alias("share"))
            .filter(pl.col("share") >= 0.5)
            .get_column("platform")
            .to_list()
        )
        if per_view
        else set()
    )
    rate = (
        pl.when(pl.col("platform").is_in(list(by_views)))
        .then(pl.col("engagement_rate_by_views"))
        .otherwise(pl.col("engagement_rate"))
        if per_view
        else pl.col("engagement_rate")
    )
    stats = (
        creators.with_columns(rate=rate)
        .filter(pl.col("rate").is_not_null())
        .group_by("platform", "tier")
        .agg(
            pl.col("rate").quantile(0.25).alias("p25"),
            pl.col("rate").median().alias("med"),
            pl.col("rate").quantile(0.75).alias("p75"),
            pl.len().alias("n"),
        )
        .with_columns(order=pl.col("tier").replace_strict(TIER_ORDER, range(5), default=9))
        .sort("platform", "order")
    )
    return [
        (f"{p} {t} ({'per view' if p in by_views else 'per follower'})", a, m, b, n)
        for p, t, a, m, b, n, _ in stats.iter_rows()
    ]


def scatter_sample(creators: pl.DataFrame, limit: int = SCATTER_MAX_POINTS) -> pl.DataFrame:
    """At most ``limit`` creators spread over the whole roster: every k-th in creator_key
    order (a hash, so effectively a random sample, and the same one every run)."""
    present = creators.filter(
        pl.col("est_reach").is_not_null() & pl.col("est_cost_usd_mid").is_not_null()
    ).sort("creator_key")
    step = max(1, math.ceil(present.height / limit))
    return present.gather_every(step)


def _movers(creators: pl.DataFrame, n: int = 12) -> list[tuple[str, list[tuple[str, float]]]]:
    if "followers_change" not in creators.columns:
        return []
    moved = (
        creators.filter(
            pl.col("followers_change").is_not_null() & (pl.col("followers_change") != 0)
        )
        .with_columns(size=pl.col("followers_change").abs())
        .sort("size", "creator_key", descending=[True, False])
        .head(n)
    )
    return [
        (f"{r['platform']} {r['handle']}", [("change", float(r["followers_change"]))])
        for r in moved.iter_rows(named=True)
    ]


def _quarantine(quarantine: pl.DataFrame | None) -> tuple[list, list[tuple[str, int, str]]]:
    if quarantine is None or quarantine.height == 0:
        return [], []
    by = (
        quarantine.group_by("reason")
        .agg(pl.len().alias("n"), pl.col("detail").drop_nulls().first().alias("fix"))
        .sort("n", "reason", descending=[True, False])
    )
    bars = [(r, [("problems", float(n))]) for r, n, _ in by.iter_rows()]
    return bars, [(r, n, fix or "") for r, n, fix in by.iter_rows()]


def _estimates(creators: pl.DataFrame) -> tuple[list, pl.DataFrame]:
    methods = creators.group_by("platform", "est_reach_method").len().sort("platform")
    rows = []
    for platform in methods.get_column("platform").unique().sort().to_list():
        mine = methods.filter(pl.col("platform") == platform)
        rows.append(
            (
                platform,
                [(m or "unknown", float(n)) for _, m, n in mine.sort("est_reach_method").rows()],
            )
        )
    band = (
        creators.filter(pl.col("est_reach_low") > 0)
        .group_by("platform", "est_reach_method")
        .agg(
            (pl.col("est_reach_high") / pl.col("est_reach_low"))
            .median()
            .alias("band_high_over_low")
        )
        .sort("platform", "est_reach_method")
    )
    return rows, band


# --------------------------------------------------------------------------- the page

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:820px;color:#222}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin:28px 0 6px}
.sub{color:#666}.lbl{font-size:12px;fill:#333}.val{font-size:11px;fill:#555}
.note{font-size:11px;fill:#777}.axis{stroke:#999}.grid{stroke:#eee}
table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #eee;padding:3px 8px;
text-align:left;vertical-align:top;font-size:13px}th{background:#f6f6f6}
.empty{color:#999;font-style:italic}figure{margin:0}
"""


def _figure(key: str, title: str, body: str, caption: str) -> str:
    return (
        f'<h2>{_e(title)}</h2><figure class="chart" data-chart="{_e(key)}">{body}'
        f'<figcaption class="sub">{_e(caption)}</figcaption></figure>'
    )


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _measured_error(evaluation: dict[str, Any] | None) -> list[str]:
    """The run's backtest (manifest ``reach_evaluation``): how far off the reach estimates
    were when each platform's latest views were hidden."""
    if not evaluation or not evaluation.get("metrics"):
        return []
    rows = [
        [
            m["platform"],
            m["slice"],
            f"{m['rows']:,}",
            f"{m['typical_error']:.2f}x",
            f"{m['bias']:.2f}x",
            f"{m['within_2x']:.0%}",
            f"{m['band_coverage']:.0%}",
        ]
        for m in evaluation["metrics"]
        if m.get("typical_error") is not None
    ]
    held = ", ".join(f"{p} {d}" for p, d in evaluation.get("held_out_snapshot", {}).items())
    header = ["platform", "slice", "rows", "typical error", "bias", "within 2x", "80% band"]
    return [
        f"<h2>Measured error of the reach estimates (views hidden: {_e(held)})</h2>",
        _table(header, rows),
    ]


def _roster_figures(creators: pl.DataFrame) -> list[str]:
    """Roster by tier, cost versus reach, engagement against peers, biggest movers."""
    # current creators: in the latest snapshot of their platform (as tier_summary counts)
    current = (
        creators.filter(pl.col("is_current")) if "is_current" in creators.columns else creators
    )
    if not current.height:
        return []
    sample = scatter_sample(creators)
    shown = f"{sample.height:,} of {creators.height:,}, an even sample"
    return [
        _figure(
            "by-tier",
            "Roster by platform and tier",
            hbars(_by_platform_tier(current), value_label="creators", order=TIER_ORDER),
            f"the {current.height:,} current creators (in the latest snapshot of their "
            f"platform; {creators.height - current.height:,} more were last seen earlier)",
        ),
        _figure(
            "cost-reach",
            "Cost versus reach",
            scatter(
                list(sample.select("est_reach", "est_cost_usd_mid", "platform").rows()),
                x_label="estimated reach per post (people)",
                y_label="estimated cost per post, mid (USD)",
            ),
            f"one dot per creator ({shown if sample.height < creators.height else 'all'});"
            " lower right is cheap reach",
        ),
        _figure(
            "engagement",
            "Engagement against peers",
            ranges(
                _engagement(creators),
                value_label="engagement rate (interactions per follower, or per view)",
            ),
            "per platform and tier: the middle half of creators (bar) and the median (dot)",
        ),
        _figure(
            "movers",
            "Biggest movers",
            hbars(
                _movers(creators),
                value_label="followers gained or lost since the previous snapshot",
            ),
            "largest follower changes, either way",
        ),
    ]


def _quarantine_figures(quarantine: pl.DataFrame | None) -> list[str]:
    bars, reasons = _quarantine(quarantine)
    out = [
        _figure(
            "quarantine",
            "Quarantine by reason",
            hbars(bars, value_label="problems (cells or whole files)"),
            "what was kept out of the roster, and how to fix it",
        )
    ]
    if reasons:
        out.append(
            _table(
                ["reason", "problems", "example and fix"],
                [[r, f"{n:,}", fix] for r, n, fix in reasons],
            )
        )
    return out


def _estimate_figures(creators: pl.DataFrame) -> list[str]:
    if not creators.height:
        return []
    rows, band = _estimates(creators)
    return [
        _figure(
            "estimates",
            "Estimate quality",
            hbars(rows, value_label="creators by how reach was estimated"),
            "observed_views: the export's average views; history: the creator's earlier "
            "views; model_*: the reach model fitted on this roster; benchmark: followers "
            "x a cited reach rate (widest band). See docs/ESTIMATES.md",
        ),
        _table(
            ["platform", "method", "median band (high / low)"],
            [[p, m, f"{b:.2f}x"] for p, m, b in band.rows()],
        ),
    ]


def render_report(
    creators: pl.DataFrame | None, quarantine: pl.DataFrame | None, manifest: Manifest
) -> str:
    creators = (
        creators
        if creators is not None
        else pl.DataFrame(
            schema={c: pl.String for c in ("platform", "tier", "handle", "creator_key")}
        )
    )
    files, totals = manifest.files, manifest.totals()
    finished = manifest.finished_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    sections = [
        f"<h1>Creator roster</h1><p class='sub'>run {_e(manifest.run_id)}, "
        f"{_e(finished)}; {len(files)} file(s) this run: {totals['rows_read']:,} rows read, "
        f"{totals['enriched']:,} enriched, {totals['quarantined']:,} quarantined; "
        f"roster: {creators.height:,} creators</p>",
        *_roster_figures(creators),
        *_quarantine_figures(quarantine),
        *_estimate_figures(creators),
        *_measured_error(manifest.reach_evaluation),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        f"<title>Creator roster report</title><style>{CSS}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )  # fmt: skip


def write_report(out: Path, manifest: Manifest, tables: TableStore | None = None) -> Path:
    """Write ``OUT/report.html`` from the published tables (``tables``; by default the
    Delta tables in ``out``) and the run's manifest."""
    from adapters.store import DeltaTableStore, read_table
    from adapters.writers import write_text_atomic
    from schemas.tables import CREATORS, QUARANTINE

    out = Path(out)
    tables = DeltaTableStore(out) if tables is None else tables
    page = render_report(read_table(tables, CREATORS), read_table(tables, QUARANTINE), manifest)
    target = out / REPORT_NAME
    write_text_atomic(target, page)
    return target
