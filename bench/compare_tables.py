"""Compare the published tables of two output folders: ``compare_tables.py OLD NEW``.

Every Delta table under OLD (``creator_snapshots``, ``deliveries``, ``creators``,
``quarantine``, ``ledger``, ``contacts`` and any other) is read with its counterpart under
NEW, both sorted by every compared column (text, integers, dates and lists first, floats
last), and compared on all columns but run ids and timestamps: exact for integers, text,
dates and lists, within a relative tolerance (default 1e-9) for floats. Columns only one
side has are listed, not compared (new columns are additive). Prints one line per table and
exits 1 when any table differs.

    python bench/compare_tables.py /tmp/old-out /tmp/new-out [--rel 1e-9] [--ignore col,...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

IGNORED = frozenset({"run_id", "processed_at", "delivered_at", "file_modified_at"})


def tables_of(out: Path) -> list[str]:
    return sorted(p.parent.name for p in out.glob("*/_delta_log"))


def _read(out: Path, name: str) -> pl.DataFrame:
    return pl.read_delta(str(out / name))


def _comparable(df: pl.DataFrame, ignore: frozenset[str]) -> pl.DataFrame:
    keep = [
        c
        for c, t in df.schema.items()
        if c not in ignore and not isinstance(t, pl.Datetime) and not c.startswith("_")
    ]
    return df.select(keep)


def _sort_key(df: pl.DataFrame) -> list[pl.Expr]:
    exact = [
        pl.col(c).cast(pl.List(pl.String)).list.join("\x1f")
        if isinstance(t, pl.List)
        else pl.col(c)
        for c, t in df.schema.items()
        if not t.is_float()
    ]
    floats = [pl.col(c) for c, t in df.schema.items() if t.is_float()]
    return [*exact, *floats]


def compare_frames(
    old: pl.DataFrame, new: pl.DataFrame, rel: float = 1e-9, ignore: frozenset[str] = IGNORED
) -> list[str]:
    """Differences between two tables as lines of text (empty: equal)."""
    problems: list[str] = []
    old, new = _comparable(old, ignore), _comparable(new, ignore)
    only_old = sorted(set(old.columns) - set(new.columns))
    only_new = sorted(set(new.columns) - set(old.columns))
    if only_old:
        problems.append(f"columns gone in NEW: {only_old}")
    common = [c for c in old.columns if c in new.columns]
    old, new = old.select(common), new.select(common)
    if old.height != new.height:
        problems.append(f"rows: {old.height} vs {new.height}")
        return problems
    cast = {c: old.schema[c] for c in common if old.schema[c] != new.schema[c] and old.height}
    if cast:
        try:
            new = new.cast(cast)  # type: ignore[arg-type]
        except pl.exceptions.PolarsError:
            problems.append(f"types differ: {cast}")
            return problems
    old = old.sort(_sort_key(old), nulls_last=True, maintain_order=True)
    new = new.sort(_sort_key(new), nulls_last=True, maintain_order=True)
    for c in common:
        a, b = old.get_column(c), new.get_column(c)
        nulls = (a.is_null() != b.is_null()).sum()
        if a.dtype.is_float():
            pair = pl.DataFrame({"a": a, "b": b}).filter(
                pl.col("a").is_not_null() & pl.col("b").is_not_null()
            )
            scale = pl.max_horizontal(pl.col("a").abs(), pl.col("b").abs(), pl.lit(1e-300))
            finite = ~pl.col("a").is_nan() & ~pl.col("b").is_nan()
            off = pair.select(
                ((((pl.col("a") - pl.col("b")).abs() / scale) > rel) & finite).sum()
                + (pl.col("a").is_nan() != pl.col("b").is_nan()).sum()
            ).item()
            bad = int(off) + int(nulls)
        else:
            bad = int((a.ne_missing(b)).sum())
        if bad:
            problems.append(f"{c}: {bad} of {old.height} rows differ")
    if only_new:
        problems.append(f"(new columns, not compared: {only_new})")
    return problems


def compare_folders(
    old_out: Path, new_out: Path, rel: float = 1e-9, ignore: frozenset[str] = IGNORED
) -> dict[str, list[str]]:
    """Per table name: its differences (an empty list: equal)."""
    result: dict[str, list[str]] = {}
    old_tables, new_tables = tables_of(old_out), tables_of(new_out)
    for name in sorted(set(old_tables) | set(new_tables)):
        if name not in new_tables:
            result[name] = ["missing in NEW"]
        elif name not in old_tables:
            result[name] = ["(only in NEW: additive)"]
        else:
            result[name] = compare_frames(
                _read(old_out, name), _read(new_out, name), rel=rel, ignore=ignore
            )
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rel", type=float, default=1e-9, help="relative tolerance for floats")
    ap.add_argument("--ignore", default="", help="more columns to leave out, comma-separated")
    args = ap.parse_args(argv)
    ignore = IGNORED | {c for c in args.ignore.split(",") if c}
    result = compare_folders(args.old, args.new, rel=args.rel, ignore=frozenset(ignore))
    failed = False
    for name, problems in result.items():
        real = [p for p in problems if not p.startswith("(")]
        failed = failed or bool(real)
        print(
            f"{name}: {'equal' if not real else 'DIFFERS'}" + "".join(f"\n  {p}" for p in problems)
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
