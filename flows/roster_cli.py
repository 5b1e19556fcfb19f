"""``roster plan``, ``roster sql`` and ``roster report``: what the published roster under
--out is used for."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from flows import usage
from flows.terminal import FLAG, console, usage_exit
from flows.usage import UsageProblem
from schemas.options import OPTIONS
from schemas.vocabulary import Tier

TIER_NAMES = Tier.codes()
EnrichedOut = Annotated[
    Path, typer.Option("--out", metavar="FOLDER", help="output folder of roster enrich")
]


def _split(values: list[str] | None) -> list[str]:
    """``--platform tiktok,instagram`` and repeated options alike."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


# roster plan's options
Budget = Annotated[
    float, typer.Option(metavar="USD", help="total to spend, USD (one post per creator)")
]
Objective = Annotated[str, typer.Option(metavar="reach|engagements", help="what to maximise")]
Platforms = Annotated[
    list[str] | None, typer.Option(metavar="PLATFORM", help="only these platforms")
]
Tiers = Annotated[list[str] | None, typer.Option(metavar="TIER", help="only these tiers")]
Niches = Annotated[
    list[str] | None,
    typer.Option(metavar="TEXT", help="niche or category containing TEXT, e.g. beauty"),
]
Countries = Annotated[
    list[str] | None, typer.Option(metavar="CC", help="ISO country codes, e.g. US,GB")
]
MinAudienceQuality = Annotated[
    str | None,
    typer.Option(
        metavar="low|medium|high", help="minimum audience_quality (when the roster has it)"
    ),
]
IncludeFlaggedCosts = Annotated[
    bool,
    typer.Option(
        "--include-flagged-costs",
        metavar=FLAG,
        help="also consider creators whose cost estimate is outside the cited CPM range",
    ),
]
MinCost = Annotated[float | None, typer.Option(metavar="USD", help="cheapest creator to consider")]
MaxCost = Annotated[float | None, typer.Option(metavar="USD", help="dearest creator to consider")]
MaxCreators = Annotated[int | None, typer.Option(metavar="N", help="book at most N creators")]
CostBasis = Annotated[
    str, typer.Option(metavar="low|mid|high", help="which rate-card estimate to budget")
]
PlanCsv = Annotated[
    Path | None,
    typer.Option("--csv", metavar="FILE", help="plan CSV (default OUT/plans/plan-TIME.csv)"),
]


def plan(
    budget: Budget,
    out: EnrichedOut = Path("out"),
    objective: Objective = "reach",
    platform: Platforms = None,
    tier: Tiers = None,
    niche: Niches = None,
    country: Countries = None,
    min_audience_quality: MinAudienceQuality = None,
    include_flagged_costs: IncludeFlaggedCosts = False,
    min_cost: MinCost = None,
    max_cost: MaxCost = None,
    max_creators: MaxCreators = None,
    cost_basis: CostBasis = "mid",
    csv_path: PlanCsv = None,
    json_out: Annotated[
        bool, typer.Option("--json", metavar=FLAG, help="print the plan as JSON")
    ] = False,
) -> None:
    """Choose the creators that maximise estimated reach (or engagements) for a budget.

    An exact integer programme (HiGHS) over the published creators table: the plan costs at
    most --budget at the chosen cost basis, books at most --max-creators, and never two
    accounts of one person (when the roster has person_key). Prints the plan, its total
    cost, reach band and CPM and why each creator is in, and writes it as a CSV.
    """
    platforms, tiers, countries = _split(platform), _split(tier), _split(country)
    try:
        _check_filters(budget, platforms, tiers, countries)
        _check_choices(objective, cost_basis, min_audience_quality, max_creators)
        if not (out / "creators").is_dir():
            raise UsageProblem("--out", str(out), "has no creators table; run roster enrich")
    except UsageProblem as err:
        usage_exit(err)
    from transforms.plan import PlanRequest

    req = PlanRequest(
        budget=budget,
        objective=objective,
        cost_basis=cost_basis,
        platforms=[p.lower() for p in platforms],
        tiers=[t.lower() for t in tiers],
        niches=_split(niche),
        countries=[c.upper() for c in countries],
        min_audience_quality=min_audience_quality,
        min_cost=min_cost,
        max_cost=max_cost,
        max_creators=max_creators,
        include_flagged_costs=include_flagged_costs,
    )
    _plan(req, out, csv_path, json_out)


def _check_filters(
    budget: float, platforms: list[str], tiers: list[str], countries: list[str]
) -> None:
    if not budget > 0:
        raise UsageProblem("--budget", str(budget), "expected a positive amount in USD")
    for p in platforms:
        usage.check_value(OPTIONS["platform"], p)
    for t in tiers:
        if t.lower() not in TIER_NAMES:
            raise UsageProblem("--tier", t, f"expected one of {', '.join(TIER_NAMES)}")
    for c in countries:
        if len(c) != 2 or not c.isalpha():
            raise UsageProblem("--country", c, "expected an ISO 3166 alpha-2 code, e.g. US")


def _check_choices(
    objective: str, cost_basis: str, min_audience_quality: str | None, max_creators: int | None
) -> None:
    if objective not in ("reach", "engagements"):
        raise UsageProblem("--objective", objective, "expected reach or engagements")
    if cost_basis not in ("low", "mid", "high"):
        raise UsageProblem("--cost-basis", cost_basis, "expected low, mid or high")
    if min_audience_quality not in (None, "low", "medium", "high"):
        raise UsageProblem(
            "--min-audience-quality", min_audience_quality, "expected low, medium or high"
        )
    if max_creators is not None and max_creators < 1:
        raise UsageProblem("--max-creators", str(max_creators), "expected N >= 1")


def _plan(req: Any, out: Path, csv_path: Path | None, json_out: bool) -> None:
    import datetime as dt

    from adapters.plans import read_roster, write_plan_csv
    from transforms.plan import PlanError, make_plan

    try:
        result = make_plan(read_roster(out), req)
    except PlanError as err:
        usage_exit(str(err))
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    csv_path = csv_path or out / "plans" / f"plan-{stamp}.csv"
    write_plan_csv(result, csv_path)
    if json_out:
        print(json.dumps(
            {"status": result.status, "eligible": result.eligible, "notes": result.notes,
             "totals": result.totals, "csv": str(csv_path),
             "creators": result.chosen.drop("categories", strict=False).to_dicts()},
            indent=2, default=str,
        ))  # fmt: skip
    else:
        from flows.printing import print_plan

        print_plan(result, req.objective, csv_path)


def sql(
    query: Annotated[str, typer.Argument(metavar="QUERY", help="SQL over the catalog's views")],
    out: EnrichedOut = Path("out"),
    csv: Annotated[bool, typer.Option("--csv", metavar=FLAG, help="CSV on stdout")] = False,
) -> None:
    """Query OUT/roster.duckdb (views creators, creator_snapshots, quarantine, tier_summary)
    read-only, with the duckdb package set-up installed; no DuckDB command line needed."""
    try:
        if not (out / "roster.duckdb").is_file():
            raise UsageProblem("--out", str(out), "has no roster.duckdb; run roster enrich")
    except UsageProblem as err:
        usage_exit(err)
    import duckdb

    from adapters.catalog import connect_catalog

    with connect_catalog(out) as con:
        try:
            rel = con.sql(query)
        except duckdb.Error as err:
            usage_exit(UsageProblem("QUERY", query, " ".join(str(err).split())))
        if rel is None:
            return
        if csv:
            import polars as pl

            pl.from_arrow(rel.fetch_arrow_table()).write_csv(sys.stdout)  # type: ignore[union-attr]
        else:
            rel.show(max_width=console.width, max_rows=200)


def report(
    out: EnrichedOut = Path("out"),
) -> None:
    """(Re)write OUT/report.html from the current tables and the latest run's manifest
    (`roster enrich` writes it after each run; use this after nightly runs)."""
    manifests = sorted((out / "runs").glob("*/manifest.json"))
    try:
        if not (out / "creators").is_dir() or not manifests:
            raise UsageProblem("--out", str(out), "has no published run; run roster enrich")
    except UsageProblem as err:
        usage_exit(err)
    from adapters.report import write_report
    from schemas.manifest import Manifest

    # run ids sort by their start time
    manifest = Manifest.model_validate_json(manifests[-1].read_text())
    console.print(f"report: {write_report(out, manifest)}", markup=False)
