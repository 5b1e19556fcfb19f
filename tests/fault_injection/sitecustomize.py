"""Fault injection for the crash tests, from the tests' side: a test starts the CLI with
this folder on PYTHONPATH and ROSTER_FAULT_PAUSE=<point>:<seconds>, and the run pauses at
that point of the publish (printing ``fault point <point>``) so the test can SIGKILL it.

The seam is the Delta table store: each of its commits is one call of ``replace_partitions``,
``merge_by_key`` or ``overwrite``. Points: ``before-commit`` (before the publish's first
table commit), ``between-commits`` (before the quarantine commit: deliveries and
creator_snapshots are committed). Nothing in production code knows about it."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any

SPEC = os.environ.get("ROSTER_FAULT_PAUSE", "")
COMMITS = ("replace_partitions", "merge_by_key", "overwrite")
POINTS: dict[str, Callable[[str], bool]] = {  # is the commit of this table the point?
    "before-commit": lambda table: True,
    "between-commits": lambda table: table == "quarantine",
}


def _pausing(point: str, seconds: float, done: list[bool], fn: Callable[..., Any]) -> Callable:
    @functools.wraps(fn)
    def wrapper(self: Any, name: str, *args: Any, **kw: Any) -> Any:
        if not done and POINTS[point](name):
            done.append(True)
            print(f"fault point {point}: pausing {seconds}s", flush=True)
            time.sleep(seconds)
        return fn(self, name, *args, **kw)

    return wrapper


if SPEC:
    from adapters.store.delta import DeltaTableStore

    POINT, _, SECONDS = SPEC.partition(":")
    if POINT not in POINTS:
        raise SystemExit(f"ROSTER_FAULT_PAUSE: unknown point {POINT!r}; known: {list(POINTS)}")
    once: list[bool] = []  # one pause per process, at the first matching commit
    for method in COMMITS:
        real = getattr(DeltaTableStore, method)
        setattr(DeltaTableStore, method, _pausing(POINT, float(SECONDS or 60), once, real))
