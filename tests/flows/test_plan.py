"""`roster plan`: the best set of creators for a budget (an exact ILP), with filters."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import REAL_EXPORTS
from transforms.plan import PlanError, PlanRequest, make_plan, solve_knapsack


def brute_force(
    values: list[float],
    costs: list[float],
    budget: float,
    max_items: int | None,
    groups: list[str | None],
) -> float:
    best = 0.0
    for r in range(len(values) + 1):
        if max_items is not None and r > max_items:
            break
        for combo in itertools.combinations(range(len(values)), r):
            named = [groups[i] for i in combo if groups[i] is not None]
            if len(named) != len(set(named)):
                continue
            if sum(costs[i] for i in combo) <= budget:
                best = max(best, sum(values[i] for i in combo))
    return best


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.integers(1, 1_000_000),  # reach
            st.sampled_from([80, 400, 1500, 4000, 15000]),  # rate-card-like lumpy costs
            st.sampled_from([None, None, "p1", "p2"]),  # person
        ),
        min_size=0,
        max_size=10,
    ),
    budget=st.integers(0, 40_000),
    max_items=st.one_of(st.none(), st.integers(1, 5)),
)
def test_the_plan_is_optimal_against_brute_force(
    items: list[tuple[int, int, str | None]], budget: int, max_items: int | None
) -> None:
    values = [float(v) for v, _, _ in items]
    costs = [float(c) for _, c, _ in items]
    groups = [g for _, _, g in items]
    chosen, status = solve_knapsack(values, costs, budget, max_items, groups)
    assert status == "optimal"
    assert sum(costs[i] for i in chosen) <= budget
    assert max_items is None or len(chosen) <= max_items
    named = [groups[i] for i in chosen if groups[i] is not None]
    assert len(named) == len(set(named))
    assert sum(values[i] for i in chosen) == brute_force(values, costs, budget, max_items, groups)


def test_greedy_by_reach_per_dollar_would_be_worse() -> None:
    # the best ratio (300 for $200) leaves no room for the pair that fills the budget:
    # greedy books 0 and 1 (1,300), the optimum is 1 and 2 (2,000)
    values, costs = [300.0, 1000.0, 1000.0], [200.0, 1000.0, 1000.0]
    chosen, _ = solve_knapsack(values, costs, budget=2000)
    assert sorted(chosen) == [1, 2]


def roster(**extra: list) -> pl.DataFrame:
    base = {
        "creator_key": ["a", "b", "c", "d", "e"],
        "platform": ["tiktok", "tiktok", "instagram", "tiktok", "tiktok"],
        "handle": ["ann", "bob", "cat", "dan", "eve"],
        "display_name": ["Ann", "Bob", "Cat", "Dan", "Eve"],
        "tier": ["micro", "macro", "micro", "nano", "micro"],
        "country": ["US", "GB", "US", "US", None],
        "followers": [50_000, 500_000, 40_000, 5_000, 60_000],
        "categories": [["Beauty", "Fashion"], ["Gaming"], ["Beauty"], [], ["Skincare & Beauty"]],
        "est_reach": [20_000, 150_000, 15_000, 2_000, 25_000],
        "est_reach_low": [14_000, 105_000, 10_500, 1_400, 17_500],
        "est_reach_high": [22_000, 165_000, 16_500, 2_200, 27_500],
        "est_cost_usd_low": [100.0, 1000.0, 100.0, 10.0, 100.0],
        "est_cost_usd_mid": [400.0, 4000.0, 400.0, 80.0, 400.0],
        "est_cost_usd_high": [2500.0, 10000.0, 2500.0, 250.0, 2500.0],
        "est_cpm_usd": [20.0, 26.7, 26.7, 40.0, 16.0],
        "avg_likes": [1000.0, None, 500.0, 10.0, None],
        "avg_comments": [100.0, None, 50.0, 1.0, None],
        "avg_shares": [None, None, None, None, None],
        "avg_engagement": [None, 9000.0, None, None, None],
        "engagement_rate": [0.02, 0.018, 0.014, 0.0022, 0.05],
    }
    return pl.DataFrame(base | extra)


@pytest.mark.parametrize(
    ("request_", "handles"),
    [
        (PlanRequest(budget=1000), ["eve", "ann", "dan"]),
        (PlanRequest(budget=5000, platforms=["tiktok"]), ["bob", "eve", "ann", "dan"]),
        (PlanRequest(budget=5000, tiers=["micro"], countries=["us"]), ["ann", "cat"]),
        (PlanRequest(budget=5000, niches=["beauty"], max_creators=2), ["eve", "ann"]),
        (PlanRequest(budget=5000, max_cost=400, platforms=["tiktok"]), ["eve", "ann", "dan"]),
        (PlanRequest(budget=5000, min_cost=1000), ["bob"]),
        (PlanRequest(budget=50), []),
        # engagements: likes + comments (+ shares), else the aggregate, else rate x followers
        (PlanRequest(budget=4400, objective="engagements"), ["bob", "eve"]),
    ],
)
def test_filters_and_objective(request_: PlanRequest, handles: list[str]) -> None:
    plan = make_plan(roster(), request_)
    assert plan.chosen.get_column("handle").to_list() == handles
    assert plan.totals["creators"] == len(handles)
    assert plan.chosen.get_column("cost").sum() <= request_.budget
    assert plan.status == "optimal"
    assert all(w.startswith(f"{v:,.0f} ") for w, v in plan.chosen.select("why", "value").rows())


def test_totals_reach_band_and_cpm() -> None:
    plan = make_plan(roster(), PlanRequest(budget=1000))  # eve + ann + dan
    t = plan.totals
    assert (t["cost_usd"], t["cost_usd_low"], t["cost_usd_high"]) == (880.0, 210.0, 5250.0)
    assert (t["reach"], t["reach_low"], t["reach_high"]) == (47_000, 32_900, 51_700)
    assert t["cpm_usd"] == pytest.approx(880 / 47_000 * 1000)
    assert t["cpm_usd_best"] < t["cpm_usd"] < t["cpm_usd_worst"]


def test_one_account_per_person_when_the_roster_knows_people() -> None:
    people = roster(person_key=["p1", "p2", "p3", "p4", "p1"])  # eve is ann's second account
    plan = make_plan(people, PlanRequest(budget=1000))
    assert plan.chosen.get_column("handle").to_list() == ["eve", "cat", "dan"]
    assert not any("person_key" in n for n in plan.notes)
    # without person_key, accounts are people, and the plan says so
    assert any("person_key" in n for n in make_plan(roster(), PlanRequest(budget=1000)).notes)


def test_niche_uses_the_niche_columns_when_published() -> None:
    niched = roster(
        primary_niche=["beauty", "gaming", "food", None, "beauty"],
        niches=[["beauty"], ["gaming"], ["food"], [], ["beauty", "skincare"]],
    )
    plan = make_plan(niched, PlanRequest(budget=5000, niches=["food"]))
    assert plan.chosen.get_column("handle").to_list() == ["cat"]
    assert not plan.notes or "categories" not in " ".join(plan.notes)


def test_audience_quality_filter_needs_the_column() -> None:
    with pytest.raises(PlanError, match="audience_quality"):
        make_plan(roster(), PlanRequest(budget=1000, min_audience_quality="medium"))
    scored = roster(audience_quality=["high", "high", "medium", "unknown", "low"])
    plan = make_plan(scored, PlanRequest(budget=1000, min_audience_quality="medium"))
    assert sorted(plan.chosen.get_column("handle")) == ["ann", "cat"]  # bob is over budget
    plan = make_plan(scored, PlanRequest(budget=1000, min_audience_quality="high"))
    assert plan.chosen.get_column("handle").to_list() == ["ann"]


def test_plan_books_current_creators_with_cost_estimates_inside_the_cited_range() -> None:
    flags = [[], [], ["cpm_below_cited_range"], [], ["zero_views"]]
    current = roster(estimate_flags=flags, is_current=[True, True, True, False, True])
    plan = make_plan(current, PlanRequest(budget=1000))
    assert sorted(plan.chosen.get_column("handle")) == ["ann", "eve"]
    assert any("not in their platform's latest snapshot" in n for n in plan.notes)
    assert any("outside the cited CPM range" in n for n in plan.notes)
    with_flagged = make_plan(current, PlanRequest(budget=1200, include_flagged_costs=True))
    assert sorted(with_flagged.chosen.get_column("handle")) == ["ann", "cat", "eve"]


@pytest.mark.real_exports
def test_roster_plan_on_the_real_exports_stays_within_budget(run_flow, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_flow([REAL_EXPORTS], out)
    csv = tmp_path / "plan.csv"
    res = subprocess.run(
        [sys.executable, "-m", "flows.cli", "plan", "--budget", "20000", "--platform", "tiktok",
         "--out", str(out), "--csv", str(csv), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    plan = json.loads(res.stdout)
    assert plan["status"] == "optimal"
    assert 0 < plan["totals"]["cost_usd"] <= 20000
    assert {c["platform"] for c in plan["creators"]} == {"tiktok"}
    written = pl.read_csv(csv)
    assert written.height == len(plan["creators"]) == plan["totals"]["creators"]
    assert written.get_column("cost").sum() == pytest.approx(plan["totals"]["cost_usd"])
    assert written.get_column("why").str.contains("eligible by reach per dollar").all()
