"""The nightly run: the ``enrich-roster`` flow served on a cron schedule.

``build_deployment`` turns a landing folder and an output folder into a Prefect
``RunnerDeployment`` (schedule, concurrency limit, bound parameters) without contacting the
API, so it can be inspected and tested; ``serve`` registers that very deployment and runs
its flow runs (blocking) with ``prefect.serve``.

Parameters are checked three times, always before any file is read:

1. here, when the deployment is built: ``EnrichParams(...)`` (pydantic) rejects a landing
   folder that does not exist, an unknown platform, a bad option (``roster serve`` exits 2);
2. by the Prefect API, when a run is created (schedule, UI "Custom run", ``prefect deployment
   run``): the parameters must match the deployment's JSON schema, which Prefect derives
   from ``EnrichParams`` (``enforce_parameter_schema``): an unknown platform or a misspelt
   option is refused and no run is created;
3. by the flow engine, when the run starts (``@flow(validate_parameters=True)``): the
   parameters become an ``EnrichParams`` again, so what the JSON schema cannot express (the
   landing folder exists) fails the run before any task starts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import EntrypointType, RunnerDeployment

from flows.enrich_roster import EnrichParams, enrich_roster
from schemas.options import DEPLOYMENT, RUN_PARAMS

# the deployment's defaults, declared once (schemas.options.DEPLOYMENT; prefect.yaml too)
DEPLOYMENT_NAME = DEPLOYMENT.name
DEFAULT_CRON = DEPLOYMENT.cron
DEFAULT_TIMEZONE = DEPLOYMENT.timezone
DEFAULT_WAIT_LOCK = DEPLOYMENT.wait_lock
# A run triggered while another run of the deployment is active waits for it (ENQUEUE), it is
# not dropped (CANCEL_NEW): runs are idempotent and files already processed are skipped, so a
# queued run costs little, and it is the one that picks up files that landed meanwhile or an
# operator's custom run (e.g. full_refresh) - nothing asked for is silently lost.
COLLISION_STRATEGY = ConcurrencyLimitStrategy(DEPLOYMENT.collision_strategy)
TAGS = list(DEPLOYMENT.tags)
# the size of the flow's default thread pool in a deployment run (see ``serve``)
THREADS_ENV = "PREFECT_TASKS_RUNNER_THREAD_POOL_MAX_WORKERS"


def nightly_params(landing: str | Path, out: str | Path, **options: Any) -> EnrichParams:
    """The run's parameters: the landing folder is the one input. Raises pydantic's
    ``ValidationError`` for a landing folder that does not exist or a bad option.
    ``mapping``/``rate_card`` should be absolute paths, for the same reason."""
    # absolute paths: a run may start in another working directory (a worker, a runner)
    return EnrichParams(
        inputs=[str(Path(landing).resolve())], out=str(Path(out).resolve()), **options
    )


def build_deployment(
    landing: str | Path,
    out: str | Path,
    cron: str = DEFAULT_CRON,
    timezone: str = DEFAULT_TIMEZONE,
    name: str = DEPLOYMENT_NAME,
    **options: Any,
) -> RunnerDeployment:
    """The nightly deployment of ``enrich-roster`` (not registered: nothing is contacted).

    ``options`` are further ``EnrichParams`` fields (platform, mapping, rate_card,
    tier_scheme, wait_lock, max_workers, keep_contacts, ...). ``wait_lock`` defaults to 15
    minutes: an unattended run waits for an ad-hoc ``roster enrich`` that holds the output
    folder instead of failing at once. ``name``: one deployment per landing folder (the
    concurrency limit is per deployment).

    Raises pydantic's ``ValidationError`` for a bad parameter, cron or time zone, and
    ``ValueError`` for ``task_runner="dask"`` (see below).
    """
    options.setdefault("wait_lock", DEFAULT_WAIT_LOCK)
    if options.get("task_runner", "thread") != "thread" or options.get("dask_address"):
        # a deployment run imports the flow from its entrypoint and runs it with the flow's
        # own task runner (a thread pool); run_enrich's choice of runner does not apply
        raise ValueError("deployment runs use the thread runner; --task-runner dask is ad hoc only")
    params = nightly_params(landing, out, **options)
    schedule = CronSchedule(cron=cron, timezone=timezone)
    # to_deployment is sync here (no event loop): Prefect types it as either
    return enrich_roster.to_deployment(  # type: ignore[return-value]
        name=name,
        schedules=[schedule],
        concurrency_limit=ConcurrencyLimitConfig(
            limit=DEPLOYMENT.concurrency_limit, collision_strategy=COLLISION_STRATEGY
        ),
        parameters={"params": params.model_dump(mode="json")},
        description=(
            f"Enrich every new export in {params.inputs[0]} into {params.out} "
            f"({cron}, {timezone}); one run at a time."
        ),
        tags=TAGS,
        enforce_parameter_schema=True,
        # imported by module name, like a worker does: works from any working directory
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def next_run_at(cron: str, timezone: str, after: dt.datetime | None = None) -> dt.datetime:
    """When the schedule next fires after ``after`` (default: now), in its time zone."""
    from zoneinfo import ZoneInfo

    from cronsim import CronSim

    tz = ZoneInfo(timezone)
    start = (after or dt.datetime.now(dt.UTC)).astimezone(tz)
    return next(CronSim(cron, start))


def due_in_words(when: dt.datetime, now: dt.datetime | None = None) -> str:
    """``2026-12-02 02:00 CET (in 4 h 51 min)``."""
    minutes = max(0, round((when - (now or dt.datetime.now(dt.UTC))).total_seconds() / 60))
    hours, mins = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    span = " ".join(f"{n} {u}" for n, u in ((days, "d"), (hours, "h"), (mins, "min")) if n)
    return f"{when:%Y-%m-%d %H:%M %Z} (in {span or 'less than a minute'})"


def serve(deployment: RunnerDeployment) -> None:  # pragma: no cover - blocks
    """Register the deployment and run its flow runs until stopped (exercised by
    tests/flows/test_serve.py in a subprocess).

    Each run is a ``python -m prefect.engine`` subprocess that imports the flow from the
    entrypoint, as a process worker would (the in-memory ``Flow.serve`` path pickles the
    flow function by value, and its postponed ``params: EnrichParams`` annotation cannot be
    resolved in the child). The thread pool is bounded by the bound ``max_workers``.
    Stopping the process pauses the schedule (no pile of late runs); starting it resumes it.
    """
    import os

    from prefect import serve as prefect_serve

    max_workers = deployment.parameters["params"].get(
        "max_workers", RUN_PARAMS["max_workers"].default
    )
    os.environ[THREADS_ENV] = str(max_workers)  # inherited by every run's subprocess
    import contextlib

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the schedule is paused, no traceback
        prefect_serve(deployment, pause_on_shutdown=True)
