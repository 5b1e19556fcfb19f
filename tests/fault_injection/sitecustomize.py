"""Fault injection for the crash tests, from the tests' side: a test starts the CLI with
this folder on PYTHONPATH and ROSTER_FAULT_PAUSE=<point>:<seconds>, and the run pauses at
that point of the publish (printing ``fault point <point>``) so the test can SIGKILL it.

Points: ``before-commit`` (the first table commit of the publish), ``between-commits``
(after deliveries and creator_snapshots are committed, before quarantine). Nothing in
production code knows about it."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any

SPEC = os.environ.get("ROSTER_FAULT_PAUSE", "")


def _pausing(point: str, seconds: float, fn: Callable[..., Any]) -> Callable[..., Any]:
    done = False

    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        nonlocal done
        if not done:
            done = True
            print(f"fault point {point}: pausing {seconds}s", flush=True)
            time.sleep(seconds)
        return fn(*args, **kw)

    return wrapper


if SPEC:
    import adapters.publish as pub

    POINT, _, SECONDS = SPEC.partition(":")
    TARGETS = {"before-commit": "publish_dates", "between-commits": "publish_quarantine_for"}
    name = TARGETS[POINT]
    setattr(pub, name, _pausing(POINT, float(SECONDS or 60), getattr(pub, name)))
