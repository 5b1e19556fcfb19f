"""The run's parameters as a typed pydantic model (``EnrichParams``), validated before the
run starts: by the CLI, the Prefect UI or a deployment (its JSON schema is the flow's
parameter schema)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class EnrichParams(BaseModel):
    """Parameters of one run; validated before the run starts (CLI, UI or deployment)."""

    model_config = ConfigDict(extra="forbid")

    inputs: list[str] = Field(min_length=1, description="files or folders of exports")
    out: str = Field(description="output folder (Delta tables, manifests)")
    platform: Literal["instagram", "tiktok", "youtube", "x", "facebook", "twitch"] | None = None
    snapshot_date: dt.date | None = None
    mapping: str | None = Field(None, description="TOML file naming which column is which")
    rate_card: str | None = Field(None, description="rate card TOML (default: the shipped one)")
    tier_scheme: str | None = Field(None, description="tier scheme of the rate card")
    wait_lock: float = Field(0.0, ge=0, description="seconds to wait for another run on --out")
    max_workers: int = Field(2, ge=1, le=64, description="files processed at once (threads)")
    full_refresh: bool = Field(
        False, description="reprocess every input, even files the ledger has already seen"
    )
    keep_contacts: bool = Field(
        False, description="write emails/phones to a separate `contacts` table (never to BI tables)"
    )
    max_file_mb: int = Field(
        2048,
        ge=1,
        description="largest size an input file may expand to, MiB (memory bound, RELIABILITY.md)",
    )
    task_runner: Literal["thread", "dask"] = Field(
        "thread", description="thread: one machine; dask: a dask.distributed cluster"
    )
    dask_address: str | None = Field(
        None, description="tcp://HOST:PORT of a dask scheduler; default: a local 2-worker cluster"
    )

    @field_validator("mapping")
    @classmethod
    def _mapping_loads(cls, v: str | None) -> str | None:
        if v is not None:
            from adapters.config import load_mapping

            load_mapping(Path(v))  # a bad mapping file is a usage error, before any work
        return v

    @field_validator("inputs")
    @classmethod
    def _exist(cls, v: list[str]) -> list[str]:
        missing = [p for p in v if not Path(p).exists()]
        if missing:
            raise ValueError(f"input not found: {', '.join(missing)}")
        return v
