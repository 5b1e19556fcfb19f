"""Deliveries that are not a plain export file: ``.gz`` (a compressed export), ``.zip``
(every member an export) and ``.parquet``.

Compressed bytes say little about memory: every member is decompressed to the run's
staging folder in a streaming copy that stops at the run's size bound (``--max-file-mb``,
on the *decoded* size), so a zip bomb is refused after writing at most that much.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path, PurePosixPath
from typing import Protocol

import polars as pl

from adapters.readers import FileRejected, RawSheet, read_export
from schemas.reasons import Reason

ARCHIVE_SUFFIXES = frozenset({".gz", ".zip"})
PARQUET_SUFFIXES = frozenset({".parquet"})
CHUNK = 1 << 20


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_delivery(
    path: Path, label: str, unpack_to: Path, max_bytes: int
) -> list[tuple[Path, list[RawSheet]]]:
    """The sheets of one delivery, with the file each was read from (a zip member's own
    name carries its platform and date, like any export's)."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        inner = unpack_to / Path(path.name[: -len(path.suffix)]).name
        unpack_to.mkdir(parents=True, exist_ok=True)
        with gzip.GzipFile(path, "rb") as src:
            _copy_bounded(src, inner, label, max_bytes)
        return [(inner, read_one(inner, label))]
    if suffix == ".zip":
        return _read_zip(path, label, unpack_to, max_bytes)
    return [(path, read_one(path, label))]


def read_one(path: Path, label: str) -> list[RawSheet]:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return [read_parquet_export(path, label)]
    if path.suffix.lower() in ARCHIVE_SUFFIXES:
        raise FileRejected(
            Reason.UNSUPPORTED_FORMAT,
            f"{label}: an archive inside an archive is not read; unpack the inner one",
        )
    return read_export(path, label)


def _read_zip(
    path: Path, label: str, unpack_to: Path, max_bytes: int
) -> list[tuple[Path, list[RawSheet]]]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise FileRejected(
            Reason.UNREADABLE_ARCHIVE, f"{label}: not a readable zip ({err})"
        ) from err
    out: list[tuple[Path, list[RawSheet]]] = []
    total = 0
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and _is_export_name(m.filename)]
        if not members:
            raise FileRejected(Reason.EMPTY_FILE, f"{label}: the zip holds no export file")
        for n, member in enumerate(members):
            name = PurePosixPath(member.filename)
            target = unpack_to / f"{n:05d}" / name.name  # never a path from the archive
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src:
                total += _copy_bounded(src, target, f"{label}: {name}", max_bytes - total)
            out.append((target, read_one(target, f"{label}/{name.as_posix()}")))
    return out


def _is_export_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not any(p.startswith((".", "__MACOSX", "~$")) for p in parts)


def _copy_bounded(src: _Readable, target: Path, label: str, max_bytes: int) -> int:
    """Copy at most ``max_bytes`` decoded bytes; more means the delivery is refused."""
    written = 0
    with target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > max_bytes:
                dst.close()
                target.unlink()
                raise FileRejected(
                    Reason.FILE_TOO_LARGE,
                    f"{label} decompresses to more than {max_bytes / 2**20:,.0f} MiB, the "
                    "limit that keeps a run inside this machine's memory; split the "
                    "archive, or raise the limit with --max-file-mb on a bigger machine",
                )
            dst.write(chunk)
    return written


def read_parquet_export(path: Path, label: str) -> RawSheet:
    """A parquet export as text cells, so it takes the same parsing and checks as a CSV.
    The record count is checked against the file's own metadata (a second reader)."""
    import pyarrow.parquet as pq

    try:
        meta_rows = pq.ParquetFile(path).metadata.num_rows
        df = pl.read_parquet(path)
    except Exception as err:  # pyarrow and polars raise their own error types
        raise FileRejected(Reason.UNREADABLE_PARQUET, f"{label}: {err}".splitlines()[0]) from err
    headers = list(df.columns)
    if not headers:
        raise FileRejected(Reason.NO_HEADER, f"{label}: the parquet file has no columns")
    cells = df.select(
        [_as_text(c, df.schema[c]).alias(f"c{i}") for i, c in enumerate(headers)]
    ).with_columns(
        source_row=pl.int_range(2, df.height + 2, dtype=pl.Int64),
        _extra_fields=pl.lit(None, dtype=pl.String),
    )
    data_cols = [f"c{i}" for i in range(len(headers))]
    blank = pl.all_horizontal([pl.col(c).is_null() for c in data_cols])
    blank_rows = int(cells.select(blank.sum()).item())
    return RawSheet(
        label=label,
        headers=headers,
        cells=cells.filter(~blank),
        records=df.height,
        blank_rows=blank_rows,
        notes=["parquet"],
        independent_records=meta_rows,
        # typed numbers: their text is the stored value with a decimal point, whatever
        # the locale (see RawSheet.number_columns)
        number_columns=frozenset(
            f"c{i}" for i, c in enumerate(headers) if df.schema[c].is_numeric()
        ),
    )


def _as_text(column: str, dtype: pl.DataType) -> pl.Expr:
    """A parquet column as the text a CSV export would hold."""
    if isinstance(dtype, pl.Struct):
        return pl.col(column).struct.json_encode()
    if isinstance(dtype, (pl.List, pl.Array)):
        return pl.col(column).cast(pl.List(pl.String)).list.join("|")
    return pl.col(column).cast(pl.String)


XML_WORKBOOKS = frozenset({".xlsx", ".xlsm", ".ods"})


def decoded_size(path: Path) -> int:
    """What a file expands to before it is parsed: what the memory bound is about (a
    698 KiB workbook can hold 3M rows). A workbook (a zip of XML) counts the uncompressed
    size of its members, a zip its members, a gzip its stated size (the copy is bounded
    anyway), a parquet file its uncompressed column data; any other file its bytes."""
    suffix = path.suffix.lower()
    size = path.stat().st_size
    try:
        if suffix in XML_WORKBOOKS or suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                return max(size, sum(m.file_size for m in archive.infolist()))
        if suffix == ".gz":
            with path.open("rb") as fh:  # ISIZE: the uncompressed size mod 2**32
                fh.seek(-4, 2)
                return max(size, int.from_bytes(fh.read(4), "little"))
        if suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            return max(
                size, sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            )
    except (zipfile.BadZipFile, OSError, ValueError):
        return size  # the reader reports a damaged file
    except Exception:  # pyarrow's own errors for a damaged parquet file
        return size
    return size
