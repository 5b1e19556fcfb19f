"""One run at a time per output folder: an exclusive lock on ``OUT/.roster.lock``, held for
the whole run (standard library only: the CLI checks it before Prefect starts)."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".roster.lock"


class OutputLocked(RuntimeError):
    pass


@contextlib.contextmanager
def exclusive_lock(out: Path, run_id: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold ``OUT/.roster.lock`` for the whole run; wait up to ``wait_seconds`` for it."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    fh = path.open("a+")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip() or "another run"
                fh.close()
                raise OutputLocked(
                    f"{out} is being written by {holder}; this run stopped without changing "
                    "anything. Run again when it has finished, or pass --wait-lock SECONDS "
                    "to wait for it."
                ) from None
            time.sleep(0.5)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(
            f"run {run_id} (pid {os.getpid()}, "
            f"started {dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ})"
        )
        fh.flush()
        yield
    finally:
        fh.seek(0)
        fh.truncate()
        fh.flush()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def lock_holder(out: Path) -> str | None:
    """When another run holds ``OUT/.roster.lock`` now, the message saying who (checked
    before Prefect starts; the run itself takes the lock)."""
    path = out / LOCK_NAME
    # a run writes who it is into the file while it holds the lock and empties it on release:
    # an empty file is a free lock, and is not probed (a probe would hold it for a moment)
    if not path.is_file() or not path.read_text().strip():
        return None
    with path.open("r") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = fh.read().strip() or "another run"
            return (
                f"{out} is being written by {holder}; this run stopped without changing "
                "anything. Run again when it has finished, or pass --wait-lock SECONDS "
                "to wait for it."
            )
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return None
