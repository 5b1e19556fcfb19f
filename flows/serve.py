"""The nightly run: the ``enrich-roster`` flow served on a cron schedule.

``build_deployment`` turns a landing folder and an output folder into a Prefect
``RunnerDeployment`` (schedule, concurrency limit, bound parameters) without contacting the
API, so it can be inspected and tested; ``serve`` registers it and polls for runs (blocking).

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

from pathlib import Path
from typing import Any

from prefect import Flow
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import EntrypointType, RunnerDeployment

from flows.enrich_roster import EnrichParams, enrich_roster, task_runner_for

DEPLOYMENT_NAME = "enrich-roster-nightly"
DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_WAIT_LOCK = 900.0
# A run triggered while another run of the deployment is active waits for it (ENQUEUE), it is
# not dropped (CANCEL_NEW): runs are idempotent and files already processed are skipped, so a
# queued run costs little, and it is the one that picks up files that landed meanwhile or an
# operator's custom run (e.g. full_refresh) - nothing asked for is silently lost.
COLLISION_STRATEGY = ConcurrencyLimitStrategy.ENQUEUE
TAGS = ["roster", "nightly"]


def nightly_params(landing: str | Path, out: str | Path, **options: Any) -> EnrichParams:
    """The run's parameters: the landing folder is the one input. Raises pydantic's
    ``ValidationError`` for a landing folder that does not exist or a bad option.
    ``mapping``/``rate_card`` should be absolute paths, for the same reason."""
    # absolute paths: a run may start in another working directory (a worker, a runner)
    return EnrichParams(
        inputs=[str(Path(landing).resolve())], out=str(Path(out).resolve()), **options
    )


def _deployment_options(
    landing: str | Path,
    out: str | Path,
    cron: str,
    timezone: str,
    name: str,
    options: dict[str, Any],
) -> tuple[Flow[..., Any], dict[str, Any]]:
    params = nightly_params(landing, out, **options)
    schedule = CronSchedule(cron=cron, timezone=timezone)  # ValidationError if either is bad
    # the flow as served: its task runner is fixed here (thread pool of max_workers, or dask)
    flow = enrich_roster.with_options(task_runner=task_runner_for(params))
    kwargs: dict[str, Any] = {
        "name": name,
        "schedules": [schedule],
        "parameters": {"params": params.model_dump(mode="json")},
        "description": (
            f"Enrich every new export in {params.inputs[0]} into {params.out} "
            f"({cron}, {timezone}); one run at a time."
        ),
        "tags": TAGS,
        "enforce_parameter_schema": True,
        # imported by module name: works from any working directory of `roster serve`
        "entrypoint_type": EntrypointType.MODULE_PATH,
    }
    return flow, kwargs


def concurrency_limit() -> ConcurrencyLimitConfig:
    return ConcurrencyLimitConfig(limit=1, collision_strategy=COLLISION_STRATEGY)


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
    tier_scheme, wait_lock, max_workers, keep_contacts, task_runner, dask_address, ...).
    ``name``: one deployment per landing folder (the concurrency limit is per deployment).
    ``wait_lock`` defaults to 15 minutes: an unattended run waits for an ad-hoc
    ``roster enrich`` that holds the output folder instead of failing at once.
    """
    options.setdefault("wait_lock", DEFAULT_WAIT_LOCK)
    flow, kwargs = _deployment_options(landing, out, cron, timezone, name, options)
    return flow.to_deployment(concurrency_limit=concurrency_limit(), **kwargs)


def serve(
    landing: str | Path,
    out: str | Path,
    cron: str = DEFAULT_CRON,
    timezone: str = DEFAULT_TIMEZONE,
    name: str = DEPLOYMENT_NAME,
    **options: Any,
) -> None:  # pragma: no cover - blocks until interrupted; exercised by tests/test_serve.py
    """Register the nightly deployment and run its flow runs in this process until stopped.

    The same deployment as ``build_deployment`` (same name, schedule, limit, parameters),
    served with ``Flow.serve`` so that runs use the task runner chosen here. Stopping the
    process pauses the schedule (no pile of late runs); starting it again resumes it.
    """
    options.setdefault("wait_lock", DEFAULT_WAIT_LOCK)
    flow, kwargs = _deployment_options(landing, out, cron, timezone, name, options)
    flow.serve(global_limit=concurrency_limit(), **kwargs)
