"""A live progress display of a ``roster enrich`` run on a terminal.

The flow's tasks already log each stage (``ingest <file>``, ``enrich``, ``publish``) to
Prefect; this listens to those records in-process and shows them as a rich progress bar per
file and a line for the stage, on stderr. Prefect's own console lines at INFO are held back
while it is shown (they still go to the Prefect API, and warnings still print). Off when
stderr is not a terminal (logs, CI) and with ``--json``: then the log lines are as before.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

STAGES = {"ingest": "reading files", "enrich": "enriching", "publish": "publishing"}
WATCHED = ("prefect.task_runs", "prefect.flow_runs")


class _StageHandler(logging.Handler):
    """Turns the run's task log records into progress updates."""

    def __init__(self, progress: Any, files_task: Any, stage_task: Any) -> None:
        super().__init__(logging.INFO)
        self.progress, self.files_task, self.stage_task = progress, files_task, stage_task
        self.started = time.perf_counter()

    def emit(self, record: logging.LogRecord) -> None:
        name = str(getattr(record, "task_run_name", "") or "")
        message = record.getMessage()
        if not name and record.name == "prefect.flow_runs":
            if message.startswith("Beginning flow run"):
                self.progress.update(self.stage_task, description="reading files")
            elif message.startswith("Finished in state"):
                self.progress.update(self.stage_task, description="stopping Prefect")
            return
        stage = name.split(" ", 1)[0].split("-", 1)[0]
        if stage == "ingest" and message.startswith("Finished in state"):
            self.progress.advance(self.files_task)
            label = name.removeprefix("ingest ")
            self.progress.update(self.files_task, description=f"read {label}")
        elif stage in STAGES and "Finished in state" not in message:
            self.progress.update(self.stage_task, description=STAGES[stage])
        elif stage in ("enrich", "publish") and message.startswith("Finished in state"):
            self.progress.update(self.stage_task, description=f"{stage} done")


def _console_handlers() -> list[logging.Handler]:
    from prefect.logging.handlers import PrefectConsoleHandler

    found: list[logging.Handler] = []
    loggers = [
        logging.getLogger(),
        *(logging.getLogger(n) for n in logging.root.manager.loggerDict),
    ]
    for lg in loggers:
        found += [h for h in getattr(lg, "handlers", []) if isinstance(h, PrefectConsoleHandler)]
    return list(dict.fromkeys(found))


@contextlib.contextmanager
def run_progress(total_files: int, enabled: bool) -> Iterator[None]:
    """Show the run's progress while the block runs (when ``enabled``)."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}", justify="left"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    files_task = progress.add_task("reading files", total=total_files)
    stage_task = progress.add_task("starting Prefect", total=None)
    handler = _StageHandler(progress, files_task, stage_task)
    quiet = [(h, h.level) for h in _console_handlers()]
    for h, _ in quiet:
        h.setLevel(max(h.level, logging.WARNING))
    for name in WATCHED:
        logging.getLogger(name).addHandler(handler)
    try:
        with progress:
            yield
    finally:
        for name in WATCHED:
            logging.getLogger(name).removeHandler(handler)
        for h, level in quiet:
            h.setLevel(level)
