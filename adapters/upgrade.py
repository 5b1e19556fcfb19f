"""Upgrading an output folder written by an earlier release, on the first run of this one.

Each release that changes the published layout appends an ``UpgradeStep``: whether a folder
needs it (read from the tables themselves, so a folder is never upgraded twice and a fresh
one never at all) and what it does, in one commit per table it changes. ``upgrade`` runs the
needed steps in order, under the run's lock, before the run reads anything; the lines it
returns go into the manifest (``upgrades``) and the run's summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters import publish as pub
from adapters.store import TableStore
from schemas.tables import DELIVERIES, SNAPSHOTS


@dataclass(frozen=True)
class UpgradeStep:
    name: str
    needed: Callable[[TableStore], bool]
    apply: Callable[[TableStore, str], str]  # (store, run id) -> what was done, one line


def _needs_deliveries(store: TableStore) -> bool:
    return store.exists(SNAPSHOTS) and not store.exists(DELIVERIES)


def _seed_deliveries(store: TableStore, run_id: str) -> str:
    pub.seed_deliveries(store, run_id)
    rows = store.scan(DELIVERIES).select("source_file").collect().height
    return (
        f"deliveries: created from the {rows:,} published snapshot rows (a folder from before "
        "every delivered row was kept)"
    )


STEPS: tuple[UpgradeStep, ...] = (
    UpgradeStep("deliveries_from_snapshots", _needs_deliveries, _seed_deliveries),
)


def upgrade(store: TableStore, run_id: str, steps: tuple[UpgradeStep, ...] = STEPS) -> list[str]:
    """Run every step the folder needs, in order; what was done, one line per step."""
    return [f"{step.name}: {step.apply(store, run_id)}" for step in steps if step.needed(store)]
