"""Platform and snapshot date from an export's file name (pure string logic)."""

from __future__ import annotations

import datetime as dt
import re

MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january", "ene", "enero"),
            ("feb", "february", "febrero"),
            ("mar", "march", "marzo"),
            ("apr", "april", "abr", "abril"),
            ("may", "mayo"),
            ("jun", "june", "junio"),
            ("jul", "july", "julio"),
            ("aug", "august", "ago", "agosto"),
            ("sep", "sept", "september", "septiembre"),
            ("oct", "october", "octubre"),
            ("nov", "november", "noviembre"),
            ("dec", "december", "dic", "diciembre"),
        ]
    )
    for m in names
}


def _tokens(name: str) -> list[str]:
    stem = name.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return [t for t in re.split(r"[^0-9a-z]+", stem.lower()) if t]


def platform_from_name(name: str, platform_lookup: dict[str, str]) -> str | None:
    found = {platform_lookup[t] for t in _tokens(name) if t in platform_lookup}
    return found.pop() if len(found) == 1 else None


def date_from_name(name: str) -> dt.date | None:
    """``tiktok_dec_2022.csv`` -> 2022-12-01; ``export-2024-03-15.csv`` -> 2024-03-15."""
    stem = name.rsplit("/", 1)[-1].lower()

    def numeric(pattern: str, has_day: bool) -> dt.date | None:
        for match in re.finditer(pattern, stem):
            try:
                day = int(match.group(3)) if has_day else 1
                return dt.date(int(match.group(1)), int(match.group(2)), day)
            except ValueError:
                continue
        return None

    # a full date first, then a month name next to a year, then compact and year-month forms
    found = numeric(r"(?<!\d)(\d{4})[-_.](\d{1,2})[-_.](\d{1,2})(?!\d)", True)
    if found:
        return found
    tokens = _tokens(name)
    for i, tok in enumerate(tokens):
        if tok in MONTHS:
            for near in tokens[i + 1 : i + 2] + tokens[max(i - 1, 0) : i]:
                if re.fullmatch(r"(19|20)\d{2}", near):
                    return dt.date(int(near), MONTHS[tok], 1)
        mixed = re.fullmatch(r"([a-z]+)(\d{4})", tok)
        if mixed and mixed.group(1) in MONTHS:
            return dt.date(int(mixed.group(2)), MONTHS[mixed.group(1)], 1)
    return numeric(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)", True) or numeric(
        r"(?<!\d)(\d{4})[-_.](\d{1,2})(?!\d)", False
    )
