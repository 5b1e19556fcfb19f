"""Files written for people and tools next to the tables: each written atomically (a temp
file in the same folder, then a rename), so a reader never sees half a file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from transforms.safety import neutralise_formulas


def write_json_atomic(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, ensure_ascii=False, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_csv_safe(path: Path, df: pl.DataFrame) -> None:
    """A CSV for people (opened in spreadsheets): formulas neutralised, written atomically."""
    flat = df.with_columns(
        [
            pl.col(c).cast(pl.List(pl.String)).list.join("|")
            for c, t in df.schema.items()
            if isinstance(t, pl.List)
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    neutralise_formulas(flat).write_csv(tmp)
    os.replace(tmp, path)
