"""``roster plan``: which creators to book for a budget, from the published roster.

The choice is a 0/1 knapsack solved exactly as an integer programme by HiGHS (``highspy``):

    maximise   sum(value_i * x_i)        value = estimated reach (or engagements) of one post
    subject to sum(cost_i * x_i) <= budget               cost = the rate card's mid estimate
               sum(x_i) <= max_creators                  (when given)
               sum(x_i for i of one person) <= 1         (when the roster has ``person_key``)
               x_i in {0, 1}

A greedy "best reach per dollar first" can miss the optimum by a wide margin when costs are
lumpy (a few mega creators at $15,000 against a $20,000 budget); the ILP cannot, and on a
roster of thousands it solves in well under a second. The plan reports its total cost (mid,
with the low-high range), its reach (central, with the band from ``est_reach_low/high``) and
its CPM, and says for each creator why it is in.

Filters read the columns the roster has: ``--niche`` matches ``niches``/``primary_niche`` when
published, else ``categories``; ``--min-audience-quality`` needs ``audience_quality``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

OBJECTIVES = ("reach", "engagements")
COST_BASES = ("low", "mid", "high")
TIME_LIMIT_SECONDS = 60.0


class PlanError(ValueError):
    """The request cannot be planned (a filter on a column the roster lacks, no roster)."""


@dataclass
class PlanRequest:
    budget: float
    objective: str = "reach"
    cost_basis: str = "mid"
    platforms: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    niches: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    min_audience_quality: str | None = None  # low, medium or high (AUDIENCE_RANK)
    min_cost: float | None = None
    max_cost: float | None = None
    max_creators: int | None = None
    one_account_per_person: bool = True
    # rows whose cost estimate is outside the platform's cited CPM range (estimate_flags)
    include_flagged_costs: bool = False


AUDIENCE_RANK = {"low": 1, "medium": 2, "high": 3}  # unknown: below any minimum
FLAGGED_COSTS = ["cpm_below_cited_range", "cpm_above_cited_range"]


@dataclass
class Plan:
    chosen: pl.DataFrame  # one row per creator booked, with `why`
    eligible: int  # creators that passed the filters and have a value and a cost
    considered: int  # creators in the roster
    status: str  # "optimal", or what HiGHS said
    notes: list[str]
    totals: dict[str, float | int | None]


def _value(objective: str) -> pl.Expr:
    """Estimated value of one sponsored post: people reached, or interactions."""
    if objective == "reach":
        return pl.col("est_reach").cast(pl.Float64)
    interactions = pl.sum_horizontal("avg_likes", "avg_comments", "avg_shares")
    any_counts = pl.any_horizontal(
        pl.col(c).is_not_null() for c in ("avg_likes", "avg_comments", "avg_shares")
    )
    return pl.coalesce(
        pl.when(any_counts).then(interactions),
        pl.col("avg_engagement"),
        pl.col("engagement_rate") * pl.col("followers"),
    ).cast(pl.Float64)


def _niche_filter(roster: pl.DataFrame, niches: list[str], notes: list[str]) -> pl.Expr:
    wanted = [n.strip().lower() for n in niches]

    def matches(col: pl.Expr) -> pl.Expr:
        lower = col.str.to_lowercase()
        return pl.any_horizontal(lower.str.contains(w, literal=True) for w in wanted)

    list_col = "niches" if "niches" in roster.columns else "categories"
    expr = matches(pl.col(list_col).list.join(" | ")).fill_null(False)
    if "primary_niche" in roster.columns:
        expr = expr | matches(pl.col("primary_niche")).fill_null(False)
    if list_col == "categories":
        notes.append("niche matched on the exports' categories (no niche classification yet)")
    return expr


def eligible_creators(roster: pl.DataFrame, req: PlanRequest) -> tuple[pl.DataFrame, list[str]]:
    """The creators the request allows, with ``value`` and ``cost``; and notes on how the
    filters were applied."""
    notes: list[str] = []
    cost = pl.col(f"est_cost_usd_{req.cost_basis}")
    conds: list[pl.Expr] = [_value(req.objective).is_not_null(), cost.is_not_null()]
    if req.platforms:
        conds.append(pl.col("platform").is_in(req.platforms))
    if req.tiers:
        conds.append(pl.col("tier").is_in(req.tiers))
    if req.countries:
        conds.append(pl.col("country").is_in([c.upper() for c in req.countries]))
    if req.niches:
        conds.append(_niche_filter(roster, req.niches, notes))
    if req.min_audience_quality is not None:
        if "audience_quality" not in roster.columns:
            raise PlanError(
                "--min-audience-quality: this roster has no audience_quality column "
                "(published by a later version of the pipeline); drop the option"
            )
        rank = pl.col("audience_quality").replace_strict(
            AUDIENCE_RANK, default=0, return_dtype=pl.Int8
        )
        conds.append(rank >= AUDIENCE_RANK[req.min_audience_quality])
    if "is_current" in roster.columns:  # creators missing from their platform's latest export
        stale = roster.filter(~pl.col("is_current")).height
        conds.append(pl.col("is_current"))
        if stale:
            notes.append(f"{stale:,} creators not in their platform's latest snapshot left out")
    if "estimate_flags" in roster.columns and not req.include_flagged_costs:
        flagged = pl.col("estimate_flags").list.set_intersection(FLAGGED_COSTS).list.len() > 0
        conds.append(~flagged.fill_null(False))
        n = roster.filter(flagged.fill_null(False)).height
        if n:
            notes.append(
                f"{n:,} creators whose cost estimate is outside the cited CPM range left out "
                "(--include-flagged-costs keeps them)"
            )
    if req.min_cost is not None:
        conds.append(cost >= req.min_cost)
    if req.max_cost is not None:
        conds.append(cost <= req.max_cost)
    conds.append(cost <= req.budget)  # a creator who alone costs more can never be booked
    if req.one_account_per_person and "person_key" not in roster.columns:
        notes.append("no person_key in the roster: each account counts as its own person")
    out = (
        roster.with_columns(value=_value(req.objective), cost=cost.cast(pl.Float64))
        .filter(pl.all_horizontal(conds))
        .filter(pl.col("value") > 0)
        .sort("creator_key")  # a deterministic order for the solver
    )
    return out, notes


def solve_knapsack(
    values: list[float],
    costs: list[float],
    budget: float,
    max_items: int | None = None,
    groups: list[str | None] | None = None,
) -> tuple[list[int], str]:
    """Indices of the items that maximise the total value within the budget (at most
    ``max_items``, at most one per non-null group), solved to optimality by HiGHS."""
    import highspy
    import numpy as np

    n = len(values)
    if n == 0:
        return [], "optimal"
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("time_limit", TIME_LIMIT_SECONDS)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.asarray(values, dtype=float)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    rows: list[tuple[list[int], list[float], float]] = [(list(range(n)), list(costs), budget)]
    if max_items is not None:
        rows.append((list(range(n)), [1.0] * n, float(max_items)))
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups or []):
        if g is not None:
            members.setdefault(g, []).append(i)
    rows += [(ix, [1.0] * len(ix), 1.0) for ix in members.values() if len(ix) > 1]
    lp.num_row_ = len(rows)
    lp.row_lower_ = np.full(len(rows), -highspy.kHighsInf)
    lp.row_upper_ = np.asarray([r[2] for r in rows], dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    starts = np.cumsum([0] + [len(r[0]) for r in rows])
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = np.asarray([i for r in rows for i in r[0]], dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray([v for r in rows for v in r[1]], dtype=float)
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus()).lower()
    chosen = [i for i, x in enumerate(h.getSolution().col_value) if x > 0.5]
    return chosen, status


def why_chosen(chosen: pl.DataFrame, eligible: int, objective: str) -> list[str]:
    """Why each creator is in the plan: what it brings for what it costs, how that ranks by
    value per dollar, and its share of the plan. (The solver picks the best *set*: a creator
    ranked lower can be in because it fills the budget better than a higher-ranked one.)"""
    unit = "reach" if objective == "reach" else "engagements"
    total = chosen.get_column("value").sum() or 1.0
    return [
        f"{r['value']:,.0f} {unit} for ${r['cost']:,.0f} ({r['value'] / r['cost']:,.0f} per $);"
        f" #{r['rank']} of {eligible:,} eligible by {unit} per dollar;"
        f" {r['value'] / total:.1%} of the plan's {unit}"
        for r in chosen.iter_rows(named=True)
    ]


def make_plan(roster: pl.DataFrame, req: PlanRequest) -> Plan:
    eligible, notes = eligible_creators(roster, req)
    groups = (
        eligible.get_column("person_key").to_list()
        if req.one_account_per_person and "person_key" in eligible.columns
        else None
    )
    idx, status = solve_knapsack(
        eligible.get_column("value").to_list(),
        eligible.get_column("cost").to_list(),
        req.budget,
        req.max_creators,
        groups,
    )
    ranked = eligible.with_columns(
        rank=(pl.col("value") / pl.col("cost")).rank("min", descending=True).cast(pl.Int64)
    )
    chosen = ranked[idx].sort("value", descending=True)
    chosen = chosen.with_columns(
        why=pl.Series(why_chosen(chosen, eligible.height, req.objective), dtype=pl.String)
    )
    return Plan(
        chosen=chosen,
        eligible=eligible.height,
        considered=roster.height,
        status=status,
        notes=notes,
        totals=plan_totals(chosen, req),
    )


def plan_totals(chosen: pl.DataFrame, req: PlanRequest) -> dict[str, float | int | None]:
    """Cost (the basis, and the rate card's low-high range), value, reach band, CPM."""
    if chosen.height == 0:
        return {"creators": 0, "cost_usd": 0.0, "value": 0}
    sums = chosen.select(
        pl.len().alias("creators"),
        pl.col("cost").sum().alias("cost_usd"),
        pl.col("est_cost_usd_low").sum().alias("cost_usd_low"),
        pl.col("est_cost_usd_high").sum().alias("cost_usd_high"),
        pl.col("value").sum().alias("value"),
        pl.col("est_reach").sum().alias("reach"),
        pl.col("est_reach_low").sum().alias("reach_low"),
        pl.col("est_reach_high").sum().alias("reach_high"),
    ).to_dicts()[0]
    reach = sums["reach"] or 0
    sums["cpm_usd"] = sums["cost_usd"] / reach * 1000 if reach else None
    # the CPM band: the same spend over the high and the low end of the reach band
    high, low = sums["reach_high"], sums["reach_low"]
    sums["cpm_usd_best"] = sums["cost_usd"] / high * 1000 if high else None
    sums["cpm_usd_worst"] = sums["cost_usd"] / low * 1000 if low else None
    sums["budget_usd"] = req.budget
    return sums


PLAN_COLUMNS = [
    "platform",
    "handle",
    "display_name",
    "tier",
    "country",
    "followers",
    "est_reach",
    "est_reach_low",
    "est_reach_high",
    "value",
    "cost",
    "est_cost_usd_low",
    "est_cost_usd_high",
    "est_cpm_usd",
    "creator_key",
    "why",
]
