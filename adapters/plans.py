"""``roster plan``'s IO: the published creators in, the plan's CSV out (the choice itself is
``transforms.plan``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from adapters.store import DeltaTableStore, read_table
from adapters.writers import write_csv_safe
from schemas.tables import CREATORS
from transforms.plan import PLAN_COLUMNS, Plan, PlanError


def read_roster(out: Path) -> pl.DataFrame:
    roster = read_table(DeltaTableStore(out), CREATORS)
    if roster is None:
        raise PlanError(
            f"--out {out}: no creators table; run `roster enrich ... --out {out}` first"
        )
    return roster


def write_plan_csv(plan: Plan, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [c for c in PLAN_COLUMNS if c in plan.chosen.columns]
    write_csv_safe(path, plan.chosen.select(cols))
    return path
