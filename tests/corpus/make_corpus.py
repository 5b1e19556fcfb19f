"""Generate the bad-input corpus: malformed creator exports, each with its exact outcome.

    python tests/corpus/make_corpus.py DEST      # writes the files under DEST, prints the cases

Every ``Case`` names the file(s) it delivers and, per source file (a workbook sheet is a
source file of its own: ``book.xlsx#Sheet``), what the pipeline must do with it:

* the whole file quarantined with reason X (one quarantine row, ``source_row`` null), or
* exactly which ``source_row``s are quarantined and why, how many rows are enriched and
  how many are collapsed as duplicates, and optionally some enriched values.

``source_row`` is the 1-based record number in the file with the header as row 1 (first
data row = 2); for NDJSON it is the line number; for a JSON array the 1-based index of the
object. File names carry the platform and month (``tiktok_mar_2025_<case>.csv``) unless a
case is about that. Handles are unique per case, so the whole corpus can go through one
flow run without one case's rows colliding with another's.

A case whose expected outcome is NOT what the pipeline does today carries ``bug`` (what is
wrong, where); the tests assert the right outcome and mark it ``xfail(strict=True)``.

Deterministic: no randomness, no clock (XLSX zip entries and document properties get fixed
timestamps), so two builds are byte-identical. Needs only the standard library and
openpyxl; it does not import the pipeline.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import re
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

MONTH = "tiktok_mar_2025"  # platform + month in the file name
SNAPSHOT = "2025-03-01"  # the snapshot date that name implies
MARCH_1 = dt.date(2025, 3, 1)
MIB = 1024 * 1024

# reasons raised while *reading* a file: the reader never saw its records, so rows_read is 0
READ_REASONS = frozenset(
    {
        "empty_file",
        "no_header",
        "unreadable_csv",
        "unreadable_excel",
        "unreadable_json",
        "unsupported_format",
    }
)

# the checks of tests/flows/test_corpus.py that a known bug makes fail (cases with a bug stay out
# of the shared flow run: one of them may crash it or make it refuse to publish)
OUTCOME, RECONCILE, CSV_COUNT = "outcome", "reconcile", "csv_count"
CRASH = frozenset({OUTCOME, RECONCILE, CSV_COUNT})  # a crash fails every check of the case


# --------------------------------------------------------------------------- expectations
class OneOf:
    """Expected reasons of a row when more than one fix would be right: equals any option."""

    def __init__(self, *options: frozenset[str] | set[str] | str) -> None:
        self.options = tuple(
            frozenset({o}) if isinstance(o, str) else frozenset(o) for o in options
        )

    def __eq__(self, other: object) -> bool:
        return any(other == o for o in self.options)

    def __hash__(self) -> int:
        return hash(self.options)

    def __repr__(self) -> str:
        return " or ".join("+".join(sorted(o)) for o in self.options)


class Length:
    """Expected value: a string of exactly ``n`` characters (for cells too big to spell out)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and len(other) == self.n

    def __hash__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"<str of length {self.n}>"


@dataclass(frozen=True)
class CsvDialect:
    """How to count a delimited file's records independently with Python's ``csv`` module."""

    encoding: str = "utf-8"
    delimiter: str = ","
    preamble: int = 0  # records before the header (an Excel ``sep=,`` line, a blank line)


UTF8 = CsvDialect()


@dataclass(frozen=True)
class Expect:
    """Expected outcome of one source file (a file, or one sheet of a workbook)."""

    label: str  # source_file as the pipeline names it
    rows_read: int  # non-blank records the reader saw (0 when the file could not be read)
    file_reason: str | None = None  # the whole file is quarantined with this reason
    quarantined: Mapping[int, frozenset[str] | OneOf] = field(default_factory=dict)
    enriched: int = 0
    duplicates: int = 0
    # of the enriched rows, those a later delivery of the same run replaces: a flow run
    # quarantines them as ``superseded`` (transforms.merge); the per-file stages enrich them
    superseded: int = 0
    values: Mapping[int, Mapping[str, object]] = field(default_factory=dict)  # enriched cells
    platform: str | None = "tiktok"  # FileOutcome.platform (None: platform column, or unknown)
    snapshot_date: str | None = SNAPSHOT  # FileOutcome.snapshot_date
    mapping: Mapping[str, str] | None = None  # FileOutcome.mapping, when the case is about it
    unmapped: tuple[str, ...] | None = None
    csv: CsvDialect | None = None  # set for delimited files: rows_read is checked with csv
    csv_records: int | None = None  # what csv counts, when it differs from rows_read
    footer_rows: int = 0  # Total/Average rows the reader skips (csv counts them)

    @property
    def read_rejected(self) -> bool:
        return self.file_reason in READ_REASONS

    @property
    def quarantined_count(self) -> int:
        return self.rows_read if self.file_reason else len(self.quarantined)

    def summary(self) -> str:
        if self.file_reason:
            return f"rows_read {self.rows_read}, whole file quarantined {self.file_reason}"
        q = ", ".join(
            f"{r}: {'+'.join(sorted(v)) if isinstance(v, frozenset) else v!r}"
            for r, v in sorted(self.quarantined.items())
        )
        return (
            f"rows_read {self.rows_read}, enriched {self.enriched}, duplicates "
            f"{self.duplicates}, quarantined {{{q}}}"
        )


@dataclass(frozen=True)
class Case:
    name: str
    about: str  # the input, in one line
    files: tuple[tuple[str, Callable[[], bytes]], ...]  # (path under the corpus root, content)
    expect: tuple[Expect, ...]
    bug: str | None = None  # the pipeline does something else today: what, and where
    bug_checks: frozenset[str] = frozenset({OUTCOME})  # the checks the bug fails
    bug_raises: str = "AssertionError"  # how they fail: a wrong outcome, or the crash

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(p for p, _ in self.files)


def rows(spec: Mapping[int, str | tuple[str, ...] | OneOf]) -> dict[int, frozenset[str] | OneOf]:
    """{source_row: "reason" | ("reason", "reason") | OneOf(...)} -> frozensets."""
    out: dict[int, frozenset[str] | OneOf] = {}
    for row, reasons in spec.items():
        if isinstance(reasons, OneOf):
            out[row] = reasons
        else:
            out[row] = frozenset({reasons} if isinstance(reasons, str) else reasons)
    return out


# --------------------------------------------------------------------------- file writers
def text(content: str, encoding: str = "utf-8", prefix: bytes = b"") -> Callable[[], bytes]:
    return lambda: prefix + content.encode(encoding)


def raw(content: bytes) -> Callable[[], bytes]:
    return lambda: content


FIXED_TIME = dt.datetime(2025, 3, 1, 0, 0, 0)


@dataclass(frozen=True)
class Styled:
    """An Excel cell with a number format (``0.0%``: shown 5.2%, stored 0.052)."""

    value: object
    number_format: str


def xlsx(
    sheets: list[tuple[str, list[list[object]]]], hidden: frozenset[str] = frozenset()
) -> Callable[[], bytes]:
    """A workbook with the given sheets; an empty row list leaves that row empty."""

    def build() -> bytes:
        import openpyxl

        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for title, sheet_rows in sheets:
            ws = wb.create_sheet(title)
            if title in hidden:
                ws.sheet_state = "hidden"
            for r, values in enumerate(sheet_rows, start=1):
                for col, value in enumerate(values, start=1):
                    if isinstance(value, Styled):
                        ws.cell(
                            row=r, column=col, value=value.value
                        ).number_format = value.number_format
                    elif value is not None:
                        ws.cell(row=r, column=col, value=value)
        wb.properties.creator = "make_corpus"
        wb.properties.created = FIXED_TIME
        wb.properties.modified = FIXED_TIME
        buf = io.BytesIO()
        wb.save(buf)
        return _normalise_zip(buf.getvalue())

    return build


def _normalise_zip(data: bytes) -> bytes:
    """Fixed entry timestamps and document dates, so the workbook bytes never change."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            payload = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                payload = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>2025-03-01T00:00:00Z\g<3>",
                    payload,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, payload)
    return out.getvalue()


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


# --------------------------------------------------------------------------- the cases
def cases() -> list[Case]:
    """Every case; file contents are produced lazily (``build_corpus`` writes them)."""
    c: list[Case] = []
    add = c.append

    # ---- encodings, delimiters, line ends -------------------------------------------
    f = f"{MONTH}_utf8_bom.csv"
    add(
        Case(
            "utf8_bom",
            "UTF-8 with a BOM before the first header; one unparseable number",
            (
                (
                    f,
                    text(
                        "handle,display_name,followers\nbom_1,Zoë Ünïcødé,1200\nbom_2,Plain,x\n",
                        prefix=codecs.BOM_UTF8,
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    2,
                    quarantined=rows({3: "unparseable_number"}),
                    enriched=1,
                    values={
                        2: {"handle": "bom_1", "display_name": "Zoë Ünïcødé", "followers": 1200}
                    },
                    csv=CsvDialect(encoding="utf-8-sig"),
                ),
            ),
        )
    )

    f = f"{MONTH}_latin1.csv"
    add(
        Case(
            "latin1",
            "ISO-8859-1 bytes (Ñ, Æ, ø, ü); '½' as a follower count",
            (
                (
                    f,
                    text(
                        "handle,display_name,followers\nlat_1,Ñandú Ærøskøbing,1500\n"
                        "lat_2,François Müller,2500\nlat_3,Zoë,½\n",
                        encoding="latin-1",
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    3,
                    quarantined=rows({4: "unparseable_number"}),
                    enriched=2,
                    values={
                        2: {"display_name": "Ñandú Ærøskøbing"},
                        3: {"display_name": "François Müller"},
                    },
                    csv=CsvDialect(encoding="latin-1"),
                ),
            ),
        )
    )

    f = f"{MONTH}_cp1252.csv"
    add(
        Case(
            "cp1252",
            "Windows-1252 bytes: curly quotes, en dash, ellipsis and € in a name",
            (
                (
                    f,
                    text(
                        "handle,display_name,followers\ncp_1,“Zoë’s” Café – €5 deals…,2500\n"
                        "cp_2,Ann,x\n",
                        encoding="cp1252",
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    2,
                    quarantined=rows({3: "unparseable_number"}),
                    enriched=1,
                    values={2: {"display_name": "“Zoë’s” Café – €5 deals…"}},
                    csv=CsvDialect(encoding="cp1252"),
                ),
            ),
        )
    )

    f = f"{MONTH}_utf16_sep.csv"
    add(
        Case(
            "utf16le_bom_sep_line",
            "UTF-16 LE with BOM, CRLF and an Excel 'sep=,' first line; source_row counts the sep "
            "line (header = line 2, first data row = 3)",
            (
                (
                    f,
                    text(
                        "sep=,\r\nhandle,display_name,followers\r\nu16_1,Zoë,100\r\nu16_2,Ann,x\r\n",
                        encoding="utf-16-le",
                        prefix=codecs.BOM_UTF16_LE,
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    2,
                    quarantined=rows({4: "unparseable_number"}),
                    enriched=1,
                    values={3: {"handle": "u16_1", "display_name": "Zoë", "followers": 100}},
                    csv=CsvDialect(encoding="utf-16", preamble=1),
                ),
            ),
        )
    )

    f = f"{MONTH}_semicolon.csv"
    add(
        Case(
            "semicolon_decimal_comma",
            "';' delimiter, decimal commas (12,5 and 12,5%) and dot thousands (1.234.567)",
            (
                (
                    f,
                    text(
                        "Username;Followers;Avg views;Engagement rate\n"
                        "sc_1;1.234.567;12,5;12,5%\nsc_2;2.345.678;1.000,5;3,25%\nsc_3;abc;7;1,5%\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    3,
                    quarantined=rows({4: "unparseable_number"}),
                    enriched=2,
                    values={
                        2: {"followers": 1_234_567, "avg_views": 12.5, "engagement_rate": 0.125},
                        3: {"followers": 2_345_678, "avg_views": 1000.5, "engagement_rate": 0.0325},
                    },
                    csv=CsvDialect(delimiter=";"),
                ),
            ),
        )
    )

    f = f"{MONTH}_comma_thousands.csv"
    add(
        Case(
            "decimal_comma_dot_thousands",
            "decimal-comma file (12,5 / 3,5%) whose followers all have ONE dot-thousands group "
            "(1.234, 12.345, 123.456)",
            (
                (
                    f,
                    text(
                        "Username;Followers;Avg views;Engagement rate\n"
                        "dt_1;1.234;12,5;3,5%\ndt_2;12.345;7,25;2,5%\ndt_3;123.456;1,5;1,25%\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    3,
                    enriched=3,
                    values={
                        2: {"followers": 1234, "avg_views": 12.5, "engagement_rate": 0.035},
                        3: {"followers": 12_345},
                        4: {"followers": 123_456},
                    },
                    csv=CsvDialect(delimiter=";"),
                ),
            ),
        )
    )

    f = f"{MONTH}_tabs.tsv"
    add(
        Case(
            "tab_delimited",
            "tab-delimited .tsv with a comma inside a name and in a number",
            (
                (
                    f,
                    text(
                        "handle\tdisplay name\tfollowers\tavg views\n"
                        "tab_1\tTab, One\t1,234\t5.5\ntab_2\tTab Two\t200\tx\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    2,
                    quarantined=rows({3: "unparseable_number"}),
                    enriched=1,
                    values={2: {"display_name": "Tab, One", "followers": 1234, "avg_views": 5.5}},
                    csv=CsvDialect(delimiter="\t"),
                ),
            ),
        )
    )

    f = f"{MONTH}_crlf.csv"
    add(
        Case(
            "crlf_line_ends",
            "CRLF line ends and a quoted name spanning two lines (one record, two lines)",
            (
                (
                    f,
                    text(
                        'handle,display_name,followers\r\ncrlf_1,"Line one\r\nLine two",100\r\n'
                        "crlf_2,Two,200\r\ncrlf_3,Three,x\r\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    3,
                    quarantined=rows({4: "unparseable_number"}),
                    enriched=2,
                    values={
                        2: {"display_name": "Line one\r\nLine two", "followers": 100},
                        3: {"handle": "crlf_2", "display_name": "Two", "followers": 200},
                    },
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_cr_only.csv"
    add(
        Case(
            "cr_only_line_ends",
            "old-Mac CR-only line ends (Excel 'CSV (Macintosh)')",
            ((f, text("handle,followers\rcro_1,5\rcro_2,x\r")),),
            (
                Expect(
                    f,
                    2,
                    quarantined=rows({3: "unparseable_number"}),
                    enriched=1,
                    values={2: {"handle": "cro_1", "followers": 5}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_stray_cr.csv"
    add(
        Case(
            "stray_cr_inside_row",
            "a bare CR inside an unquoted row ('scr_1,Bob<CR>,100'): a record break for Excel and "
            "for csv, so rows 2 and 3 are both incomplete",
            ((f, text("handle,display_name,followers\nscr_1,Bob\r,100\nscr_2,Ann,200\n")),),
            (
                Expect(
                    f,
                    3,
                    quarantined=rows(
                        {
                            2: "missing_followers",
                            3: ("missing_handle", "missing_handle_norm", "missing_followers"),
                        }
                    ),
                    enriched=1,
                    values={4: {"handle": "scr_2", "followers": 200}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_nul.csv"
    add(
        Case(
            "nul_bytes",
            "NUL bytes inside a handle and inside numbers: dropped",
            ((f, raw(b"handle,followers\nnul\x00_1,1\x0000\nnul_2,2\x0000\nnul_3,x\x00\n")),),
            (
                Expect(
                    f,
                    3,
                    quarantined=rows({4: "unparseable_number"}),
                    enriched=2,
                    values={2: {"handle": "nul_1", "followers": 100}, 3: {"followers": 200}},
                    csv=UTF8,
                ),
            ),
        )
    )

    # ---- empty and structurally broken files ----------------------------------------
    f = f"{MONTH}_empty.csv"
    add(
        Case(
            "empty_file",
            "0 bytes",
            ((f, raw(b"")),),
            (Expect(f, 0, file_reason="empty_file", platform=None, snapshot_date=None, csv=UTF8),),
        )
    )

    f = f"{MONTH}_header_only.csv"
    add(
        Case(
            "header_only",
            "a header and no data: read fine, nothing enriched or quarantined",
            ((f, text("handle,followers\n")),),
            (Expect(f, 0, csv=UTF8),),
        )
    )

    f = f"{MONTH}_blank_lines.csv"
    add(
        Case(
            "only_blank_lines",
            "nothing but empty and whitespace-only lines",
            ((f, text("\n\r\n   \n\t\n\n")),),
            (Expect(f, 0, file_reason="empty_file", platform=None, snapshot_date=None, csv=UTF8),),
        )
    )

    f = f"{MONTH}_blank_between.csv"
    add(
        Case(
            "blank_lines_between_rows",
            "empty lines and an all-empty-cells line between rows: skipped, numbering kept",
            ((f, text("handle,followers\nbl_1,100\n\n\nbl_2,200\n,\nbl_3,x\n")),),
            (
                Expect(
                    f,
                    3,
                    quarantined=rows({7: "unparseable_number"}),
                    enriched=2,
                    values={2: {"handle": "bl_1"}, 5: {"handle": "bl_2", "followers": 200}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_leading_blank.csv"
    add(
        Case(
            "leading_blank_line",
            "an empty line before the header: the header is found on line 2",
            ((f, text("\nhandle,followers\nlb_1,5\n")),),
            (
                Expect(
                    f,
                    1,
                    enriched=1,
                    values={3: {"handle": "lb_1", "followers": 5}},
                    csv=CsvDialect(preamble=1),
                ),
            ),
        )
    )

    f = f"{MONTH}_truncated.csv"
    add(
        Case(
            "truncated_last_line",
            "download cut off inside the last record (no newline, fields lost)",
            ((f, text("handle,display_name,followers,avg_views\ntr_1,Ann,100,5\ntr_2,Carol Tr")),),
            (Expect(f, 2, quarantined=rows({3: "missing_followers"}), enriched=1, csv=UTF8),),
        )
    )

    f = f"{MONTH}_unterminated.csv"
    after = "".join(f"uq_{n},Name {n},{n}00\n" for n in range(4, 24))  # 20 more creators
    add(
        Case(
            "unterminated_quote",
            "a quote opened in row 3 and never closed, 20 creators after it: the file cannot be "
            "split reliably, so it is refused whole (a lenient read would bury the 20 in one cell)",
            ((f, text('handle,display_name,followers\nuq_1,"Ann",100\nuq_2,"Bob,200\n' + after)),),
            (
                Expect(
                    f,
                    0,
                    file_reason="unreadable_csv",
                    platform=None,
                    snapshot_date=None,
                    csv=UTF8,
                    csv_records=2,
                ),
            ),
        )
    )

    f = f"{MONTH}_ragged.csv"
    add(
        Case(
            "ragged_rows",
            "more fields than headers (an unquoted comma; 13 fields), trailing empty fields, "
            "a short row",
            (
                (
                    f,
                    text(
                        "handle,display_name,followers\nrg_1,Ann,100\nrg_2,Smith, Jr.,200\n"
                        "rg_3,Bea,300,,\nrg_4,Bob\nrg_5,a,1,2,3,4,5,6,7,8,9,10,11\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    5,
                    quarantined=rows(
                        {3: "too_many_fields", 5: "missing_followers", 6: "too_many_fields"}
                    ),
                    enriched=2,
                    values={4: {"handle": "rg_3", "followers": 300}},
                    csv=UTF8,
                ),
            ),
        )
    )

    # ---- headers --------------------------------------------------------------------
    f = f"{MONTH}_no_followers.csv"
    add(
        Case(
            "missing_followers_column",
            "no followers column at all",
            ((f, text("handle,display_name,avg views\nnf_1,A,5\nnf_2,B,6\n")),),
            (Expect(f, 2, file_reason="no_followers_column", csv=UTF8),),
        )
    )

    f = f"{MONTH}_renamed.csv"
    add(
        Case(
            "extra_and_renamed_columns",
            "Rank (ignored), Username, Creator full name, Fans Count, Views (Avg.), an unknown "
            "extra column, Audience Country",
            (
                (
                    f,
                    text(
                        "Rank,Username,Creator full name,Fans Count,Views (Avg.),Favourite colour,"
                        "Audience Country\n1,ren_1,Ren One,12.3K,1.1K,blue,Germany\n"
                        "2,ren_2,Ren Two,500,,red,Côte d'Ivoire\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    2,
                    enriched=2,
                    values={
                        2: {
                            "handle": "ren_1",
                            "display_name": "Ren One",
                            "followers": 12_300,
                            "avg_views": 1100.0,
                            "audience_country": "DE",  # the audience's, not the creator's
                            "country": None,
                        },
                        3: {"followers": 500, "avg_views": None, "audience_country": "CI"},
                    },
                    mapping={
                        "handle": "Username",
                        "display_name": "Creator full name",
                        "followers": "Fans Count",
                        "avg_views": "Views (Avg.)",
                        "audience_country": "Audience Country",
                    },
                    unmapped=("Favourite colour",),
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_dup_headers.csv"
    add(
        Case(
            "duplicated_headers",
            "Followers and Avg. Views each twice: a formatted copy and a (more exact) numeric copy",
            (
                (
                    f,
                    text(
                        "Handle,Followers,Followers,Avg. Views,Avg. Views\n"
                        "dh_1,1.2M,1234567,5K,5123\ndh_2,3.4K,3456,7,7\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    2,
                    enriched=2,
                    values={
                        2: {"followers": 1_234_567, "avg_views": 5123.0},
                        3: {"followers": 3456, "avg_views": 7.0},
                    },
                    csv=UTF8,
                ),
            ),
        )
    )

    # ---- duplicates and identity ----------------------------------------------------
    f = f"{MONTH}_dup_rows.csv"
    add(
        Case(
            "duplicate_rows",
            "the same row three times (rows 2, 3 and 5)",
            (
                (
                    f,
                    text(
                        "handle,display_name,followers\ndr_1,Dup,100\ndr_1,Dup,100\ndr_2,Other,200\n"
                        "dr_1,Dup,100\n"
                    ),
                ),
            ),
            (Expect(f, 4, enriched=2, duplicates=2, csv=UTF8),),
        )
    )

    f = f"{MONTH}_conflict.csv"
    add(
        Case(
            "conflicting_values",
            "the same handle with other followers in row 3, then an exact repeat of row 2",
            (
                (
                    f,
                    text(
                        "handle,display_name,followers\ncf_1,Conf,100\ncf_1,Conf,999\ncf_1,Conf,100\n"
                        "cf_2,Other,5\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    4,
                    quarantined=rows({3: "duplicate_conflict"}),
                    enriched=2,
                    duplicates=1,
                    values={2: {"followers": 100}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_nfc_nfd.csv"
    add(
        Case(
            "nfc_nfd_handle",
            "the same handle in NFC and in NFD, same values: one creator",
            (
                (
                    f,
                    text(
                        f"handle,display_name,followers\n{nfc('josé_nf')},Jose,100\n"
                        f"{nfd('josé_nf')},Jose,100\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    2,
                    enriched=1,
                    duplicates=1,
                    values={2: {"handle_norm": nfc("josé_nf")}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_nfd_names.csv"
    add(
        Case(
            "nfc_nfd_display_name",
            "one creator twice, handle and display name once NFC once NFD (a Mac and a Windows "
            "copy of one export)",
            (
                (
                    f,
                    text(
                        f"handle,display_name,followers\n{nfc('josé_nd')},{nfc('José Ñúñez')},100\n"
                        f"{nfd('josé_nd')},{nfd('José Ñúñez')},100\n"
                    ),
                ),
            ),
            (Expect(f, 2, enriched=1, duplicates=1, csv=UTF8),),
        )
    )

    f = f"{MONTH}_at_handles.csv"
    add(
        Case(
            "at_handle_vs_plain",
            "'@ana_at', 'ana_at', ' ANA_AT ' with equal values (one creator); '@bea_at' with "
            "other values than 'bea_at'",
            (
                (
                    f,
                    text(
                        "handle,followers\n@ana_at,5\nana_at,5\n ANA_AT ,5\nbea_at,5\n@bea_at,6\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    5,
                    quarantined=rows({6: "duplicate_conflict"}),
                    enriched=2,
                    duplicates=2,
                    values={2: {"handle": "@ana_at", "handle_norm": "ana_at"}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_twice.csv"
    body = "handle,followers\ntw_1,5\ntw_2,6\ntw_3,7\n"
    add(
        Case(
            "same_file_twice",
            "one file delivered twice (two folders): two deliveries, the later (b) wins",
            ((f"twice/a/{f}", text(body)), (f"twice/b/{f}", text(body))),
            (
                Expect(f"a/{f}", 3, enriched=3, superseded=3, csv=UTF8),
                Expect(f"b/{f}", 3, enriched=3, csv=UTF8),
            ),
        )
    )

    # ---- numbers --------------------------------------------------------------------
    f = f"{MONTH}_negative.csv"
    add(
        Case(
            "negative_values",
            "negative followers, likes and views; '-0' followers is a valid 0",
            (
                (
                    f,
                    text(
                        "handle,followers,avg likes,avg views\nneg_1,-5,1,1\nneg_2,100,-3,1\n"
                        "neg_3,-0,0,0\nneg_4,100,1,-1.5\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    4,
                    quarantined=rows(
                        {2: "negative_value", 3: "negative_value", 5: "negative_value"}
                    ),
                    enriched=1,
                    values={4: {"followers": 0}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_overflow.csv"
    add(
        Case(
            "overflowing_followers",
            "99999999999999999999999 followers, 2e10 and 20B "
            "(all out_of_range: well-formed numbers "
            "beyond any audience), exactly 10,000,000,000 (the limit: valid)",
            (
                (
                    f,
                    text(
                        "handle,followers\novf_1,99999999999999999999999\novf_2,20000000000\n"
                        "ovf_3,10000000000\novf_4,20B\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    4,
                    quarantined=rows({2: "out_of_range", 3: "out_of_range", 5: "out_of_range"}),
                    enriched=1,
                    values={4: {"followers": 10_000_000_000}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_overflow_views.csv"
    add(
        Case(
            "overflowing_avg_views",
            "99999999999999999999999 average views",
            (
                (
                    f,
                    text(
                        "handle,followers,avg views\nova_1,100,99999999999999999999999\n"
                        "ova_2,100,5\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    2,
                    quarantined=rows({2: OneOf("out_of_range", "unparseable_number")}),
                    enriched=1,
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_nan_inf.csv"
    add(
        Case(
            "nan_and_inf",
            "NaN, inf, -inf, Infinity and nan% in numeric columns",
            (
                (
                    f,
                    text(
                        "handle,followers,avg views,engagement rate\n"
                        "nan_1,NaN,1,1%\nnan_2,inf,1,1%\n"
                        "nan_3,100,-inf,1%\nnan_4,100,1,nan%\nnan_5,Infinity,1,1%\n"
                        "nan_6,100,1,1%\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    6,
                    quarantined=rows({r: "unparseable_number" for r in (2, 3, 4, 5, 6)}),
                    enriched=1,
                    values={7: {"followers": 100, "engagement_rate": 0.01}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_er_over.csv"
    add(
        Case(
            "engagement_rate_over_100pct",
            "150% and a bare 250 (percentage points) are over 100%; 100% is the limit",
            (
                (
                    f,
                    text(
                        "handle,followers,engagement rate\ner_1,1000,150%\ner_2,1000,100%\n"
                        "er_3,1000,250\ner_4,1000,0.5%\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    4,
                    quarantined=rows(
                        {2: "engagement_rate_over_100pct", 4: "engagement_rate_over_100pct"}
                    ),
                    enriched=2,
                    values={3: {"engagement_rate": 1.0}, 5: {"engagement_rate": 0.005}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_er_scale.csv"
    add(
        Case(
            "engagement_rate_mixed_scale",
            "one engagement-rate column in percentage points: 3.4, 2.1 and 0.8 (= 0.8%)",
            (
                (
                    f,
                    text(
                        "handle,followers,engagement rate\nms_1,1000,3.4\nms_2,1000,2.1\n"
                        "ms_3,1000,0.8\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    3,
                    enriched=3,
                    values={
                        2: {"engagement_rate": 0.034},
                        3: {"engagement_rate": 0.021},
                        4: {"engagement_rate": 0.008},
                    },
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_pct_followers.csv"
    add(
        Case(
            "percent_in_followers",
            "'12.5%' in the followers column",
            ((f, text("handle,followers\npf_1,12.5%\npf_2,1.2K\n")),),
            (
                Expect(
                    f,
                    2,
                    quarantined=rows({2: "unparseable_number"}),
                    enriched=1,
                    values={3: {"followers": 1200}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_row_10001.csv"
    lines = ["handle,followers,avg_views"]
    lines += [f"big10k_{n},{1000 + n},{n % 97}" for n in range(2, 12_002)]  # source rows 2..12001
    lines[10_000] = "big10k_10001,12x,5"  # lines[k] is source row k + 1
    add(
        Case(
            "bad_value_at_row_10001",
            "12,000 good rows but one: '12x' followers at source_row 10001",
            ((f, text("\n".join(lines) + "\n")),),
            (
                Expect(
                    f,
                    12_000,
                    quarantined=rows({10_001: "unparseable_number"}),
                    enriched=11_999,
                    values={
                        10_000: {"handle": "big10k_10000", "followers": 11_000},
                        10_002: {"handle": "big10k_10002"},
                        12_001: {"followers": 13_001},
                    },
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_10mb_cell.csv"
    big = ("Very long bio. " * (10 * MIB // 15 + 1))[: 10 * MIB - 1] + "."  # no edge spaces
    add(
        Case(
            "ten_mb_cell",
            "a 10 MB display name in row 3",
            (
                (
                    f,
                    text(
                        f"handle,display_name,followers\nmb_1,Short,100\nmb_2,{big},200\n"
                        "mb_3,Ann,abc\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    3,
                    quarantined=rows({4: "unparseable_number"}),
                    enriched=2,
                    values={3: {"display_name": Length(10 * MIB), "followers": 200}},
                    csv=UTF8,
                ),
            ),
        )
    )

    # ---- names ----------------------------------------------------------------------
    f = f"{MONTH}_formulas.csv"
    add(
        Case(
            "formula_like_cells",
            "=HYPERLINK(...), +, -, @ and = leading names: "
            "kept verbatim (tables, not spreadsheets)",
            (
                (
                    f,
                    text(
                        "handle,display_name,followers\n"
                        'fx_1,"=HYPERLINK(""http://evil.example"",""click"")",100\n'
                        "+fx_2,+SUM(A1:A9),200\n-fx_3,-2+3,300\n@fx_4,@cmd|' /C calc'!A0,400\n"
                        "=fx_5,=1+1,500\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    5,
                    enriched=5,
                    values={
                        2: {"display_name": '=HYPERLINK("http://evil.example","click")'},
                        3: {
                            "handle": "+fx_2",
                            "handle_norm": "+fx_2",
                            "display_name": "+SUM(A1:A9)",
                        },
                        4: {"handle": "-fx_3", "display_name": "-2+3"},
                        5: {
                            "handle": "@fx_4",
                            "handle_norm": "fx_4",
                            "display_name": "@cmd|' /C calc'!A0",
                        },
                        6: {"handle": "=fx_5", "display_name": "=1+1"},
                    },
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_control_emoji.csv"
    add(
        Case(
            "control_chars_and_emoji",
            "BEL/ESC/TAB in names and emoji handles are kept; '@' alone, blank and 'N/A' handles "
            "are quarantined",
            (
                (
                    f,
                    text(
                        "handle,display_name,followers\n"
                        'ctl_1,"Bell\x07 Esc\x1b[31m red\x1b[0m",100\n'
                        "🔥ctl_2,🔥 Fire 👩‍👩‍👧 family,200\n@,At only,300\n   ,Blank,400\n"
                        'N/A,Placeholder,500\nctl_7,"Tab\there",600\n'
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    6,
                    quarantined=rows(
                        {
                            4: "empty_handle_norm",
                            5: ("missing_handle", "missing_handle_norm"),
                            6: ("missing_handle", "missing_handle_norm"),
                        }
                    ),
                    enriched=3,
                    values={
                        2: {"display_name": "Bell\x07 Esc\x1b[31m red\x1b[0m"},
                        3: {
                            "handle": "🔥ctl_2",
                            "handle_norm": "🔥ctl_2",
                            "display_name": "🔥 Fire 👩‍👩‍👧 family",
                        },
                        7: {"display_name": "Tab\there"},
                    },
                    csv=UTF8,
                ),
            ),
        )
    )

    f = f"{MONTH}_zero_width.csv"
    add(
        Case(
            "zero_width_handle",
            "a handle made only of zero-width spaces (U+200B)",
            ((f, text("handle,followers\nzw_1,100\n\u200b\u200b,200\n")),),
            (
                Expect(
                    f,
                    2,
                    quarantined=rows(
                        {
                            3: OneOf(
                                "empty_handle_norm",
                                {"missing_handle", "missing_handle_norm"},
                                {"empty_handle", "empty_handle_norm"},
                            )
                        }
                    ),
                    enriched=1,
                    csv=UTF8,
                ),
            ),
        )
    )

    # ---- file names -----------------------------------------------------------------
    f = "tiktok mar 2025 (copy) ünïcødé café.csv"
    add(
        Case(
            "file_name_spaces_unicode",
            "spaces, parentheses and accented letters in the file name",
            ((f, text("handle,followers\nfnu_1,5\nfnu_2,6\n")),),
            (
                Expect(
                    f,
                    2,
                    enriched=2,
                    values={2: {"snapshot_date": MARCH_1, "platform": "tiktok"}},
                    csv=UTF8,
                ),
            ),
        )
    )

    f = "tiktok..mar..2025..final.csv"
    add(
        Case(
            "file_name_double_dots",
            "'..' runs inside the file name",
            ((f, text("handle,followers\nfdd_1,5\n")),),
            (Expect(f, 1, enriched=1, csv=UTF8),),
        )
    )

    f10k, fpart = f"{MONTH}_10k.csv", f"{MONTH}_2.csv"
    add(
        Case(
            "file_name_number_after_year",
            "'tiktok_mar_2025_10k.csv' (top 10k) and 'tiktok_mar_2025_2.csv' (part 2): March 2025",
            (
                (f10k, text("handle,followers\nfny_1,5\n")),
                (fpart, text("handle,followers\nfny_2,5\n")),
            ),
            (
                Expect(f10k, 1, enriched=1, values={2: {"snapshot_date": MARCH_1}}, csv=UTF8),
                Expect(fpart, 1, enriched=1, values={2: {"snapshot_date": MARCH_1}}, csv=UTF8),
            ),
        )
    )

    f = "creators_mar_2025.csv"
    add(
        Case(
            "unknown_platform",
            "no platform in the file name and no platform column",
            ((f, text("handle,followers\nup_1,5\nup_2,6\n")),),
            (Expect(f, 2, file_reason="unknown_platform", platform=None, csv=UTF8),),
        )
    )

    f = "tiktok_creators_export.csv"
    add(
        Case(
            "undated_file",
            "no date in the file name and no date column",
            ((f, text("handle,followers\nud_1,5\nud_2,6\n")),),
            (Expect(f, 2, file_reason="unknown_snapshot_date", snapshot_date=None, csv=UTF8),),
        )
    )

    f = "creators_export.csv"
    add(
        Case(
            "no_platform_no_date",
            "neither platform nor date anywhere: both reasons joined by '+'",
            ((f, text("handle,followers\nnpd_1,5\n")),),
            (
                Expect(
                    f,
                    1,
                    file_reason="unknown_platform+unknown_snapshot_date",
                    platform=None,
                    snapshot_date=None,
                    csv=UTF8,
                ),
            ),
        )
    )

    f = "creators_mar_2025_by_network.csv"
    add(
        Case(
            "platform_column",
            "a platform column: TikTok, IG, Twitter, 'myspace' and blank",
            (
                (
                    f,
                    text(
                        "handle,followers,platform\npc_1,5,TikTok\npc_2,6,IG\npc_3,7,myspace\n"
                        "pc_4,8,\npc_5,9,Twitter\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    5,
                    quarantined=rows({4: "unknown_platform", 5: "missing_platform"}),
                    enriched=3,
                    platform=None,
                    csv=UTF8,
                    values={
                        2: {"platform": "tiktok"},
                        3: {"platform": "instagram"},
                        6: {"platform": "x"},
                    },
                ),
            ),
        )
    )

    f = "tiktok_creators_dated.csv"
    add(
        Case(
            "date_column",
            "a snapshot date column: ISO, slashes, dd.mm.yyyy, dd/mm/yyyy and blank",
            (
                (
                    f,
                    text(
                        "handle,followers,snapshot date\ndc_1,5,2025-03-01\ndc_2,6,2025/03/02\n"
                        "dc_3,7,01/03/2025\ndc_4,8,\ndc_5,9,31.03.2025\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    5,
                    quarantined=rows({4: "invalid_date", 5: "missing_snapshot_date"}),
                    enriched=3,
                    snapshot_date=None,
                    csv=UTF8,
                    values={
                        2: {"snapshot_date": MARCH_1},
                        3: {"snapshot_date": dt.date(2025, 3, 2)},
                        6: {"snapshot_date": dt.date(2025, 3, 31)},
                    },
                ),
            ),
        )
    )

    f = f"{MONTH}_export.csv.bak"
    add(
        Case(
            "unsupported_format",
            "a .bak file passed explicitly",
            ((f, text("handle,followers\nbak_1,5\n")),),
            (Expect(f, 0, file_reason="unsupported_format", platform=None, snapshot_date=None),),
        )
    )

    # ---- workbooks and JSON ---------------------------------------------------------
    f = f"{MONTH}_workbook.xlsx"
    add(
        Case(
            "xlsx_several_sheets",
            "XLSX: two data sheets (numbers as numbers and as text), a notes sheet, an empty sheet",
            (
                (
                    f,
                    xlsx(
                        [
                            (
                                "Top creators",
                                [
                                    ["Username", "Followers", "Engagement rate"],
                                    ["xl_1", 1_200_000, 0.035],
                                    ["xl_2", "1.2M", "4%"],
                                    ["xl_3", -4, None],
                                ],
                            ),
                            ("More", [["handle", "subscribers"], ["xl_4", 10], ["xl_5", "abc"]]),
                            ("Notes", [["Exported by tool X"], ["Do not edit"]]),
                            ("Empty", []),
                        ]
                    ),
                ),
            ),
            (
                Expect(
                    f"{f}#Top creators",
                    3,
                    quarantined=rows({4: "negative_value"}),
                    enriched=2,
                    values={
                        2: {"followers": 1_200_000, "engagement_rate": 0.035},
                        3: {"followers": 1_200_000, "engagement_rate": 0.04},
                    },
                ),
                Expect(
                    f"{f}#More",
                    2,
                    quarantined=rows({3: "unparseable_number"}),
                    enriched=1,
                    values={2: {"handle": "xl_4", "followers": 10}},
                ),
                Expect(f"{f}#Notes", 1, file_reason="no_handle_column+no_followers_column"),
            ),
        )
    )

    f = f"{MONTH}_blank_row.xlsx"
    add(
        Case(
            "xlsx_blank_row",
            "XLSX sheet with an empty row 3 between data rows",
            (
                (
                    f,
                    xlsx(
                        [
                            (
                                "Sheet1",
                                [
                                    ["handle", "followers"],
                                    ["xb_1", 10],
                                    [],
                                    ["xb_3", "abc"],
                                    ["xb_4", 30],
                                ],
                            )
                        ]
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    3,
                    quarantined=rows({4: "unparseable_number"}),
                    enriched=2,
                    values={2: {"handle": "xb_1"}, 5: {"handle": "xb_4", "followers": 30}},
                ),
            ),
        )
    )

    f = f"{MONTH}_keys.json"
    doc = [
        {"handle": "js_1", "followers": "1,234", "avg_views": "12K"},
        {"handle": "js_2"},
        {"followers": 5},
        {"handle": "js_4", "followers": 1.5e3, "country": "France", "extra": {"a": 1}},
        "notanobject",
        {"handle": "js_6", "followers": True},
        {"handle": "js_7", "followers": None},
    ]
    add(
        Case(
            "json_missing_keys_string_numbers",
            "JSON array: numbers as strings, missing keys, a nested object, a non-object, "
            "true, null",
            ((f, text(json.dumps(doc, indent=1, ensure_ascii=False))),),
            (
                Expect(
                    f,
                    7,
                    quarantined=rows(
                        {
                            2: "missing_followers",
                            3: ("missing_handle", "missing_handle_norm"),
                            5: "not_an_object",
                            6: "unparseable_number",
                            7: "missing_followers",
                        }
                    ),
                    enriched=2,
                    values={
                        1: {"followers": 1234, "avg_views": 12_000.0},
                        4: {"followers": 1500, "country": "FR"},
                    },
                ),
            ),
        )
    )

    f = f"{MONTH}_lines.ndjson"
    add(
        Case(
            "ndjson_malformed_line",
            "NDJSON: a malformed line 2, a blank line 3, a number as a string, an array on line 5",
            (
                (
                    f,
                    text(
                        '{"handle":"nd_1","followers":5}\n{"handle":"nd_2","followers":6\n\n'
                        '{"handle":"nd_4","followers":"7"}\n[1,2]\n'
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    4,
                    quarantined=rows({2: "malformed_json", 5: "not_an_object"}),
                    enriched=2,
                    values={1: {"followers": 5}, 4: {"followers": 7}},
                ),
            ),
        )
    )

    f = f"{MONTH}_separators.ndjson"
    add(
        Case(
            "ndjson_unicode_line_separator",
            "NDJSON whose display name holds U+2028 and U+0085 raw (valid JSON; json.dumps with "
            "ensure_ascii=False writes them so)",
            (
                (
                    f,
                    text(
                        json.dumps(
                            {"handle": "ls_1", "display_name": "Line\u2028Sep", "followers": 5},
                            ensure_ascii=False,
                        )
                        + "\n"
                        + json.dumps(
                            {"handle": "ls_2", "display_name": "Next\u0085Line", "followers": 6},
                            ensure_ascii=False,
                        )
                        + "\n"
                    ),
                ),
            ),
            (
                Expect(
                    f,
                    2,
                    enriched=2,
                    values={
                        1: {"display_name": "Line\u2028Sep"},
                        2: {"display_name": "Next\u0085Line"},
                    },
                ),
            ),
        )
    )

    c += evidence_cases()
    names = [x.name for x in c]
    assert len(names) == len(set(names)), "case names must be unique"
    return c


def _one(
    name: str,
    about: str,
    path: str,
    content: Callable[[], bytes],
    expect: Expect,
) -> Case:
    return Case(name, about, ((path, content),), (expect,))


def evidence_cases() -> list[Case]:
    """Numbers decided per column, and column meaning checked by content (issue 10)."""
    c: list[Case] = []
    semi, tab = CsvDialect(delimiter=";"), CsvDialect(delimiter="\t")

    f = f"{MONTH}_german_counts.csv"
    c.append(
        _one(
            "german_thousands_all_under_a_million",
            "';' file, German dot thousands only (12.345, 999.999): a count has no fraction, "
            "and the ';' delimiter decides the views column",
            f,
            text("Username;Followers;Avg views\nde_1;12.345;1.234\nde_2;999.999;12\nde_3;7;5\n"),
            Expect(
                f,
                3,
                enriched=3,
                values={
                    2: {"followers": 12_345, "avg_views": 1234.0},
                    3: {"followers": 999_999, "avg_views": 12.0},
                },
                csv=semi,
            ),
        )
    )
    f = f"{MONTH}_spanish.csv"
    c.append(
        _one(
            "spanish_decimal_comma_suffixes",
            "decimal comma before suffixes and percent signs: 1,2M, 12,5K, 3,5 %",
            f,
            text(
                "Username;Followers;Avg views;Engagement rate\n"
                "es_1;1,2M;12,5K;3,5 %\nes_2;850,3K;1,1M;4 %\n"
            ),
            Expect(
                f,
                2,
                enriched=2,
                values={
                    2: {"followers": 1_200_000, "avg_views": 12_500.0, "engagement_rate": 0.035},
                    3: {"followers": 850_300, "avg_views": 1_100_000.0},
                },
                csv=semi,
            ),
        )
    )
    f = f"{MONTH}_fraction_rates.csv"
    c.append(
        _one(
            "decimal_comma_fraction_rates",
            "rates written as fractions with a decimal comma (0,035): 3.5%, not 35%",
            f,
            text("Username;Followers;Engagement rate\nfrac_1;1000;0,035\nfrac_2;2000;0,12\n"),
            Expect(
                f,
                2,
                enriched=2,
                values={2: {"engagement_rate": 0.035}, 3: {"engagement_rate": 0.12}},
                csv=semi,
            ),
        )
    )
    f = f"{MONTH}_french.csv"
    c.append(
        _one(
            "french_space_thousands",
            "tab file, French numbers: NBSP and narrow-NBSP thousands, decimal comma",
            f,
            text(
                "Username\tFollowers\tAvg views\n"
                "fra_1\t1\u00a0234\u00a0567\t12\u202f345,6\nfra_2\t2 500\t7,5\n"
            ),
            Expect(
                f,
                2,
                enriched=2,
                values={
                    2: {"followers": 1_234_567, "avg_views": 12_345.6},
                    3: {"followers": 2_500, "avg_views": 7.5},
                },
                csv=tab,
            ),
        )
    )
    f = f"{MONTH}_swiss.csv"
    c.append(
        _one(
            "apostrophe_thousands",
            "Swiss apostrophe thousands (1'234'567, 12’345)",
            f,
            text("handle,followers\nch_1,1'234'567\nch_2,12’345\n"),
            Expect(
                f,
                2,
                enriched=2,
                values={2: {"followers": 1_234_567}, 3: {"followers": 12_345}},
                csv=UTF8,
            ),
        )
    )
    f = f"{MONTH}_words.csv"
    c.append(
        _one(
            "number_words_and_approximations",
            "1.2 Mio., 12 тыс., 1.5万, 10K+, ~50k parsed; '1.2 mil' (a million in English, a "
            "thousand in Spanish) and a range quarantined with their text",
            f,
            text(
                "handle,followers\nw_1,1.2 Mio.\nw_2,12 тыс.\nw_3,1.5万\nw_4,10K+\nw_5,~50k\n"
                "w_6,1.2 mil\nw_7,10K-50K\n"
            ),
            Expect(
                f,
                7,
                quarantined=rows({7: "unparseable_number", 8: "unparseable_number"}),
                enriched=5,
                values={
                    2: {"followers": 1_200_000},
                    3: {"followers": 12_000},
                    4: {"followers": 15_000},
                    5: {"followers": 10_000},
                    6: {"followers": 50_000},
                },
                csv=UTF8,
            ),
        )
    )
    f = f"{MONTH}_mil_comma.csv"
    c.append(
        _one(
            "spanish_mil_with_decimal_comma",
            "'1,2 mil' in a decimal-comma column: 1,200 (Spanish/Portuguese thousand)",
            f,
            text("handle;followers\nmil_1;1,2 mil\nmil_2;15 mil\n"),
            Expect(
                f,
                2,
                enriched=2,
                values={2: {"followers": 1_200}, 3: {"followers": 15_000}},
                csv=semi,
            ),
        )
    )
    f = f"{MONTH}_digits.csv"
    c.append(
        _one(
            "non_ascii_digits",
            "Arabic-Indic and full-width digits",
            f,
            text("handle,followers\ndig_1,١٢٣٤\ndig_2,１２３\n"),
            Expect(
                f,
                2,
                enriched=2,
                values={2: {"followers": 1234}, 3: {"followers": 123}},
                csv=UTF8,
            ),
        )
    )
    f = f"{MONTH}_ambiguous.tsv"
    c.append(
        _one(
            "ambiguous_number_column",
            "tab file whose views are all like 1.234 and nothing else in the file says which "
            "separator is decimal: those cells are quarantined, never guessed",
            f,
            text(
                "handle\tfollowers\tavg views\namb_1\t100\t1.234\namb_2\t200\t5.678\n"
                "amb_3\t300\t12\n"
            ),
            Expect(
                f,
                3,
                quarantined=rows({2: "ambiguous_number_format", 3: "ambiguous_number_format"}),
                enriched=1,
                values={4: {"avg_views": 12.0}},
                csv=tab,
            ),
        )
    )
    f = f"{MONTH}_mixed_locales.csv"
    c.append(
        _one(
            "mixed_decimal_separators_in_one_column",
            "one views column with 12.5 and 3,5: both conventions, its separated cells refused",
            f,
            text('handle,followers,avg views\nmx_1,100,12.5\nmx_2,200,"3,5"\nmx_3,300,40\n'),
            Expect(
                f,
                3,
                quarantined=rows({2: "ambiguous_number_format", 3: "ambiguous_number_format"}),
                enriched=1,
                values={4: {"avg_views": 40.0}},
                csv=UTF8,
            ),
        )
    )
    f = f"{MONTH}_percent_cells.xlsx"
    c.append(
        _one(
            "xlsx_percent_cells_keep_their_stored_value",
            "XLSX engagement rates in percent-formatted cells (shown 5.2%, stored 0.052) and "
            "a typed number of followers",
            f,
            xlsx(
                [
                    (
                        "Sheet1",
                        [
                            ["handle", "followers", "engagement rate"],
                            ["pct_1", 125000, Styled(0.052, "0.0%")],
                            ["pct_2", 98000.0, Styled(0.5, "0%")],
                            ["pct_3", 5000, Styled(1.25, "0%")],  # 125%: over the cap
                        ],
                    )
                ]
            ),
            Expect(
                f,
                3,
                quarantined=rows({4: "engagement_rate_over_100pct"}),
                enriched=2,
                values={
                    2: {"followers": 125_000, "engagement_rate": 0.052},
                    3: {"followers": 98_000, "engagement_rate": 0.5},
                },
            ),
        )
    )
    f = f"{MONTH}_typed_numbers.json"
    c.append(
        _one(
            "json_numbers_are_stored_values",
            "JSON numbers 1.234 and 12.345: typed values, never thousands",
            f,
            text(
                json.dumps(
                    [
                        {"handle": "jt_1", "followers": 12345, "avg_views": 1.234},
                        {"handle": "jt_2", "followers": 5000, "avg_views": 12.345},
                    ]
                )
            ),
            Expect(f, 2, enriched=2, values={1: {"avg_views": 1.234}, 2: {"avg_views": 12.345}}),
        )
    )
    f = f"{MONTH}_typed_cells.xlsx"
    c.append(
        _one(
            "xlsx_number_cells_are_stored_values",
            "XLSX number cells 1.234 (views) next to text cells '12.345' (followers, a count)",
            f,
            xlsx(
                [
                    (
                        "Sheet1",
                        [
                            ["handle", "followers", "avg views"],
                            ["xt_1", "12.345", 1.234],
                            ["xt_2", "1.500", 5.678],
                        ],
                    )
                ]
            ),
            Expect(
                f,
                2,
                enriched=2,
                values={
                    2: {"followers": 12_345, "avg_views": 1.234},
                    3: {"followers": 1_500, "avg_views": 5.678},
                },
            ),
        )
    )
    c += meaning_cases()
    c += identity_and_date_cases()
    c += layout_cases()
    return c


def layout_cases() -> list[Case]:
    """Where the table is: title rows, group headers, footers, sheets (issue 10, item 3)."""
    c: list[Case] = []
    f = f"{MONTH}_title_rows.csv"
    c.append(
        _one(
            "title_rows_above_the_header",
            "a title, an export note and a blank line above the header row",
            f,
            text(
                "Top creators report\nExported 2025-03-01 by Tool\n\n"
                "handle,followers\nttl_1,100\nttl_2,x\n"
            ),
            Expect(
                f,
                2,
                quarantined=rows({6: "unparseable_number"}),
                enriched=1,
                values={5: {"handle": "ttl_1", "followers": 100}},
                csv=CsvDialect(preamble=3),
            ),
        )
    )
    f = "instagram_mar_2025_wide.xlsx"
    c.append(
        _one(
            "xlsx_title_and_merged_group_header",
            "XLSX: a title row, a merged group-header row (Instagram over two columns, YouTube "
            "over two), then the header; the file's platform picks its group",
            f,
            xlsx(
                [
                    (
                        "Sheet1",
                        [
                            ["Creators by network, March 2025"],
                            [None, "Instagram", None, "YouTube", None],
                            ["handle", "followers", "avg likes", "followers", "avg likes"],
                            ["wg_1", 1000, 50, 999_999, 7],
                        ],
                    )
                ]
            ),
            Expect(
                f,
                1,
                enriched=1,
                platform="instagram",
                values={4: {"followers": 1000, "avg_likes": 50.0}},
                mapping={"handle": "handle", "followers": "followers", "avg_likes": "avg likes"},
            ),
        )
    )
    f = "creators_mar_2025_networks.csv"
    c.append(
        _one(
            "wide_platform_groups_without_a_platform",
            "one column group per network and no platform in the name: refused, naming them",
            f,
            text(
                "handle,Instagram followers,YouTube subscribers,TikTok followers\n"
                "wn_1,100,200,300\n"
            ),
            Expect(f, 1, file_reason="ambiguous_platform_columns", platform=None, csv=UTF8),
        )
    )
    f = f"{MONTH}_networks.csv"
    c.append(
        _one(
            "wide_platform_groups_with_the_file_platform",
            "the same wide file named tiktok_...: the TikTok group is used",
            f,
            text(
                "handle,Instagram followers,YouTube subscribers,TikTok followers\n"
                "wt_1,100,200,300\n"
            ),
            Expect(
                f,
                1,
                enriched=1,
                values={2: {"followers": 300}},
                mapping={"handle": "handle", "followers": "TikTok followers"},
                csv=UTF8,
            ),
        )
    )
    f = f"{MONTH}_footers.csv"
    c.append(
        _one(
            "total_and_average_footer_rows",
            "Total and Average rows under the table: skipped and counted, never creators",
            f,
            text("handle,followers\nft_1,100\nft_2,300\nTotal,400\nAverage,200\n"),
            Expect(
                f,
                2,
                enriched=2,
                values={2: {"followers": 100}},
                csv=UTF8,
                csv_records=4,
                footer_rows=2,
            ),
        )
    )
    f = f"{MONTH}_hidden.xlsx"
    c.append(
        Case(
            "hidden_sheet_is_skipped",
            "a workbook whose hidden sheet holds stale numbers for the same creator",
            (
                (
                    f,
                    xlsx(
                        [
                            ("Current", [["handle", "followers"], ["hs_1", 500]]),
                            ("Old", [["handle", "followers"], ["hs_1", 9]]),
                        ],
                        hidden=frozenset({"Old"}),
                    ),
                ),
            ),
            (Expect(f"{f}#Current", 1, enriched=1, values={2: {"followers": 500}}),),
        )
    )
    f = "tiktok_2025_monthly.xlsx"
    c.append(
        Case(
            "monthly_tabs_dated_by_name",
            "one tab per month (Jan 2025, Feb 2025) in a file whose name has no month",
            (
                (
                    f,
                    xlsx(
                        [
                            ("Jan 2025", [["handle", "followers"], ["mt_1", 100]]),
                            ("Feb 2025", [["handle", "followers"], ["mt_1", 120]]),
                        ]
                    ),
                ),
            ),
            (
                Expect(
                    f"{f}#Jan 2025",
                    1,
                    enriched=1,
                    snapshot_date="2025-01-01",
                    values={2: {"snapshot_date": dt.date(2025, 1, 1), "followers": 100}},
                ),
                Expect(
                    f"{f}#Feb 2025",
                    1,
                    enriched=1,
                    snapshot_date="2025-02-01",
                    values={2: {"snapshot_date": dt.date(2025, 2, 1), "followers": 120}},
                ),
            ),
        )
    )
    f = "tiktok_dec_2022_report.xlsx"
    c.append(
        Case(
            "monthly_tab_beats_the_file_name",
            "a December-named workbook holding an October tab: October's numbers stay October",
            (
                (
                    f,
                    xlsx(
                        [
                            ("Oct 2022", [["handle", "followers"], ["mo_1", 100]]),
                            ("Dec 2022", [["handle", "followers"], ["mo_1", 130]]),
                        ]
                    ),
                ),
            ),
            (
                Expect(
                    f"{f}#Oct 2022",
                    1,
                    enriched=1,
                    snapshot_date="2022-10-01",
                    values={2: {"followers": 100}},
                ),
                Expect(
                    f"{f}#Dec 2022",
                    1,
                    enriched=1,
                    snapshot_date="2022-12-01",
                    values={2: {"followers": 130}},
                ),
            ),
        )
    )
    f = f"{MONTH}_swallowed.csv"
    c.append(
        _one(
            "quote_that_swallowed_rows",
            "a display name whose quotes hold line breaks and two more rows: flagged, not "
            "published as a name",
            f,
            text(
                'handle,display_name,followers\nsw_1,"Name\nsw_2,Other,200\nsw_3,Third,300",100\n'
                "sw_4,Four,400\n"
            ),
            Expect(
                f,
                2,
                quarantined=rows({2: "swallowed_rows"}),
                enriched=1,
                values={3: {"handle": "sw_4"}},
                csv=UTF8,
            ),
        )
    )
    return c


def identity_and_date_cases() -> list[Case]:
    """Handles from profile URLs, platform spellings, date cells and date typos (items 4-5)."""
    c: list[Case] = []
    f = "creators_mar_2025_urls.csv"
    c.append(
        _one(
            "profile_urls_give_handle_and_platform",
            "a file with no platform: its handles are Instagram profile URLs",
            f,
            text(
                "handle,followers\nhttps://www.instagram.com/pu_1/,100\n"
                "instagram.com/pu_2?hl=en,200\n@pu_3,300\n"
            ),
            Expect(
                f,
                3,
                enriched=3,
                platform="instagram",
                values={
                    2: {"handle": "pu_1", "platform": "instagram"},
                    3: {"handle": "pu_2", "handle_norm": "pu_2"},
                    4: {"handle_norm": "pu_3"},
                },
                csv=UTF8,
            ),
        )
    )
    f = "youtube_mar_2025_channel_urls.csv"
    c.append(
        _one(
            "youtube_channel_urls",
            "YouTube handles as youtube.com/@h, youtube.com/c/h and m.youtube.com/@h/videos",
            f,
            text(
                "channel,subscribers\nhttps://www.youtube.com/@yu_1,100\n"
                "youtube.com/c/yu_2,200\nhttps://m.youtube.com/@yu_3/videos,300\n"
            ),
            Expect(
                f,
                3,
                enriched=3,
                platform="youtube",
                values={
                    2: {"handle": "yu_1"},
                    3: {"handle": "yu_2"},
                    4: {"handle": "yu_3", "followers": 300},
                },
                csv=UTF8,
            ),
        )
    )
    f = f"{MONTH}_url_dupes.csv"
    c.append(
        _one(
            "profile_url_and_handle_are_one_creator",
            "tiktok.com/@h?lang=en and @h on two rows with the same numbers: one creator",
            f,
            text("handle,followers\nhttps://www.tiktok.com/@urd_1?lang=en,100\n@urd_1,100\n"),
            Expect(f, 2, enriched=1, duplicates=1, values={2: {"handle_norm": "urd_1"}}, csv=UTF8),
        )
    )
    f = "agency_mar_2025_spellings.csv"
    spellings = ["Instagram Reels", "YouTube Shorts", "X (Twitter)", "Tik-Tok", "tiktok.com"]
    spellings += ["Twitter/X"]
    body = "".join(f"{p},sp_{i},{100 + i}\n" for i, p in enumerate(spellings))
    c.append(
        _one(
            "platform_spellings",
            "platform column with product names, domains and X's double name",
            f,
            text("platform,handle,followers\n" + body),
            Expect(
                f,
                6,
                enriched=6,
                platform=None,
                values={
                    2: {"platform": "instagram"},
                    3: {"platform": "youtube"},
                    4: {"platform": "x"},
                    5: {"platform": "tiktok"},
                    6: {"platform": "tiktok"},
                    7: {"platform": "x"},
                },
                csv=UTF8,
            ),
        )
    )
    f = "tiktok_agency_datetimes.csv"
    c.append(
        _one(
            "iso_datetimes_and_excel_serials",
            "date column with ISO date-times (zone Z, -05:00, none) and an Excel serial",
            f,
            text(
                "date,handle,followers\n2025-03-01T10:30:00Z,dtm_1,1\n"
                "2025-03-01T23:30:00-05:00,dtm_2,2\n2025-03-01 00:00:00,dtm_3,3\n"
                "45717,dtm_4,4\n"
            ),
            Expect(
                f,
                4,
                enriched=4,
                snapshot_date=None,
                values={r: {"snapshot_date": MARCH_1} for r in (2, 3, 4, 5)},
                csv=UTF8,
            ),
        )
    )
    f = "tiktok_agency_date_cells.xlsx"
    c.append(
        _one(
            "xlsx_date_cells",
            "XLSX with real date and date-time cells in the date column",
            f,
            xlsx(
                [
                    (
                        "Sheet1",
                        [
                            ["date", "handle", "followers"],
                            [MARCH_1, "xd_1", 10],
                            [dt.datetime(2025, 3, 1, 9, 15), "xd_2", 20],
                        ],
                    )
                ]
            ),
            Expect(
                f,
                2,
                enriched=2,
                snapshot_date=None,
                values={2: {"snapshot_date": MARCH_1}, 3: {"snapshot_date": MARCH_1}},
            ),
        )
    )
    f = "tiktok_mar_2032.csv"
    c.append(
        _one(
            "future_year_in_file_name",
            "a year typo (_2032) in the file name: refused, not every creator's latest snapshot",
            f,
            text("handle,followers\nfy_1,100\nfy_2,200\n"),
            Expect(
                f,
                2,
                file_reason="future_snapshot_date",
                snapshot_date="2032-03-01",
                csv=UTF8,
            ),
        )
    )
    f = "tiktok_agency_future_rows.csv"
    c.append(
        _one(
            "future_date_in_date_column",
            "one row dated 2032 in a date column: that row is quarantined",
            f,
            text("date,handle,followers\n2025-03-01,fut_1,1\n2032-03-01,fut_2,2\n"),
            Expect(
                f,
                2,
                quarantined=rows({3: "future_snapshot_date"}),
                enriched=1,
                snapshot_date=None,
                csv=UTF8,
            ),
        )
    )
    return c


def meaning_cases() -> list[Case]:
    """Columns whose header and content disagree (issue 10, item 2)."""
    c: list[Case] = []
    f = f"{MONTH}_countries.csv"
    c.append(
        _one(
            "audience_country_is_not_the_creator_country",
            "a creator's Country and an Audience country column",
            f,
            text("handle,followers,Country,Audience country\nac_1,100,Portugal,India\n"),
            Expect(
                f,
                1,
                enriched=1,
                values={2: {"country": "PT", "audience_country": "IN"}},
                mapping={
                    "handle": "handle",
                    "followers": "followers",
                    "country": "Country",
                    "audience_country": "Audience country",
                },
                csv=UTF8,
            ),
        )
    )
    f = f"{MONTH}_authentic.csv"
    c.append(
        _one(
            "authentic_engagement_is_ingested",
            "Eng. (Auth.) and Eng. (Avg.) columns",
            f,
            text("handle,followers,Eng. (Auth.),Eng. (Avg.)\nae_1,1000,40,50\n"),
            Expect(
                f,
                1,
                enriched=1,
                values={
                    2: {
                        "avg_engagement_authentic": 40.0,
                        "avg_engagement": 50.0,
                        # TikTok's engagement_rate is per view: no views, no rate
                        "engagement_rate_by_followers": 0.05,
                        "engagement_rate": None,
                        "engagement_formula": "aggregate",
                    }
                },
                csv=UTF8,
            ),
        )
    )
    f = f"{MONTH}_vendor_scores.csv"
    c.append(
        _one(
            "vendor_audience_scores_are_ingested",
            "HypeAuditor AQS and an audience credibility column in points (62 = 62%)",
            f,
            text("handle,followers,AQS,Audience credibility\nvs_1,1000,85,62\nvs_2,2000,25,45%\n"),
            Expect(
                f,
                2,
                enriched=2,
                values={
                    2: {"vendor_quality_score": 85.0, "audience_credibility": 0.62},
                    3: {"vendor_quality_score": 25.0, "audience_credibility": 0.45},
                },
                csv=UTF8,
            ),
        )
    )
    body = "".join(f"cl_{i},{1000 * i},{20 * i},{25 * i}\n" for i in range(1, 7))
    f = "instagram_mar_2025_comments_over_likes.csv"
    c.append(
        _one(
            "comments_exceeding_likes_are_not_a_likes_comments_pair",
            "'Likes avg' and 'Comments avg.' where comments exceed likes on every row: two "
            "engagement figures; the larger is avg_engagement, nothing is added up",
            f,
            text("handle,followers,Likes avg,Comments avg.\n" + body),
            Expect(
                f,
                6,
                enriched=6,
                platform="instagram",
                values={
                    2: {
                        "avg_likes": None,
                        "avg_comments": None,
                        "avg_engagement": 25.0,
                        "engagement_rate": 0.025,
                        "engagement_formula": "aggregate",
                    }
                },
                mapping={
                    "handle": "handle",
                    "followers": "followers",
                    "avg_engagement": "Comments avg.",
                },
                unmapped=("Likes avg",),
                csv=UTF8,
            ),
        )
    )
    body = "".join(f"lt_{i},{1000 * i},{900_000 * i},{50 * i}\n" for i in range(1, 7))
    f = "youtube_mar_2025_lifetime.csv"
    c.append(
        _one(
            "lifetime_totals_are_not_per_post_averages",
            "a channel export whose views are 900x the subscribers (lifetime totals): not used "
            "as per-post views; its likes are",
            f,
            text("handle,subscribers,views,likes\n" + body),
            Expect(
                f,
                6,
                enriched=6,
                platform="youtube",
                values={2: {"avg_views": None, "avg_likes": 50.0, "est_reach_method": "benchmark"}},
                unmapped=("views",),
                csv=UTF8,
            ),
        )
    )
    f = f"{MONTH}_total_header.csv"
    c.append(
        _one(
            "total_likes_header_is_not_an_average",
            "a 'Total likes' column: the header names a lifetime total",
            f,
            text("handle,followers,Total likes,avg comments\ntl_1,1000,5,3\n"),
            Expect(
                f,
                1,
                enriched=1,
                values={2: {"avg_likes": None, "avg_comments": 3.0}},
                unmapped=("Total likes",),
                csv=UTF8,
            ),
        )
    )
    return c


def build_corpus(dest: Path) -> list[Case]:
    """Write every case's files under ``dest`` and return the cases."""
    dest = Path(dest)
    out = cases()
    for case in out:
        for rel, content in case.files:
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content())
    return out


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/corpus/make_corpus.py DEST", file=sys.stderr)
        return 2
    dest = Path(argv[0])
    built = build_corpus(dest)
    for case in built:
        print(f"{case.name}{'  [BUG]' if case.bug else ''}: {case.about}")
        for e in case.expect:
            print(f"    {e.label}: {e.summary()}")
    print(f"{len(built)} cases written to {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
