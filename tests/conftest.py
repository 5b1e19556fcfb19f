"""Shared fixtures. One Prefect test harness for the whole session (it starts a local
API once, ~20 s); pure transforms are tested without Prefect."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO / "sample_data"
REAL_EXPORTS = (REPO.parent / "shared" / "real_exports" / "top1000_2022").resolve()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        for name in ("prefect", "prefect.server", "uvicorn", "httpx"):
            logging.getLogger(name).setLevel(logging.WARNING)
        yield


@pytest.fixture
def run_flow(prefect_harness: None):
    """Run the enrich-roster flow in-process; returns the manifest dict."""
    from flows.enrich_roster import EnrichParams, run_enrich

    def _run(inputs: list[Path | str], out: Path, **kw: object) -> dict:
        params = EnrichParams(inputs=[str(p) for p in inputs], out=str(out), **kw)
        return run_enrich(params)

    return _run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not REAL_EXPORTS.is_dir():
        skip = pytest.mark.skip(reason=f"real exports not found at {REAL_EXPORTS}")
        for item in items:
            if "real_exports" in item.keywords:
                item.add_marker(skip)
