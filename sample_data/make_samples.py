"""Write the small sample exports in this folder (deterministic; re-run to refresh).

    .venv/bin/python sample_data/make_samples.py

Five exports in five formats, each with the quirks real exports have, and together
covering every tier (nano, micro, mid/macro, mega) on three platforms:

* instagram_oct_2026.csv   - UTF-8 with BOM, a formatted and a numeric copy of followers,
                             12.3K / 1.2M shorthand, N/A and #VALOR! placeholders, a
                             duplicate row, a negative follower count, an unparseable value
* tiktok_oct_2026.xlsx     - Excel workbook, "Subscribers count" header, views and shares
* youtube_2026-10-01.json  - JSON array, numbers as strings and as numbers, a missing key
* agency_roster_oct_2026.ndjson - an agency list with a platform column (mixed platforms)
                             and a malformed line
* x_oct_2026.tsv           - UTF-16 "Unicode text" from Excel with a sep line
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def instagram() -> None:
    header = [
        "Rank",
        "Instagram name",
        "name",
        "Category_1",
        "Category_2",
        "Followers",
        "Followers",
        "Country",
        "Eng. (Avg.)",
        "Eng. (Avg.)",
        "Email",
    ]
    rows = [
        [
            1,
            "luna.makes",
            "Luna Makes ✨",
            "Lifestyle",
            "Art",
            "2.4M",
            2400000,
            "United States",
            "61.2K",
            61200,
            "luna@example.com",
        ],
        [
            2,
            "chef_rafa",
            "Rafa Cozinha",
            "Food",
            "",
            "845.2K",
            845200,
            "Brazil",
            "22.1K",
            22100,
            "",
        ],
        [
            3,
            "ayse.fit",
            "Ayşe Fit",
            "Fitness",
            "Sports",
            "312K",
            312000,
            "Turkey",
            "9.9K",
            9900,
            "",
        ],
        [4, "tokyo_walks", "東京さんぽ", "Travel", "", "64.5K", 64500, "Japan", "3.1K", 3100, ""],
        [
            5,
            "plantdad.jo",
            "Jo 🌿",
            "Home",
            "Lifestyle",
            "12K",
            12000,
            "United Kingdom",
            "840",
            840,
            "jo@example.com",
        ],
        [
            6,
            "mini.bakes",
            "Mini Bakes",
            "Food",
            "",
            "9.8K",
            9800,
            "Côte d'Ivoire",
            "1.1K",
            1100,
            "",
        ],
        [
            7,
            "urban_sketch",
            "Urban Sketch",
            "Art",
            "",
            "2,300",
            2300,
            "CÃ´te d'Ivoire",
            "N/A",
            "#VALOR!",
            "",
        ],
        [
            7,
            "urban_sketch",
            "Urban Sketch",
            "Art",
            "",
            "2,300",
            2300,
            "CÃ´te d'Ivoire",
            "N/A",
            "#VALOR!",
            "",
        ],
        [8, "broken.count", "Broken Count", "Music", "", "-5", -5, "Spain", "1K", 1000, ""],
        [
            9,
            "typo_followers",
            "Typo Followers",
            "Music",
            "",
            "12,3O0",
            "12,3O0",
            "Spain",
            "1K",
            1000,
            "",
        ],
    ]
    lines = [",".join(_csv(v) for v in header)] + [",".join(_csv(v) for v in r) for r in rows]
    (HERE / "instagram_oct_2026.csv").write_bytes(
        b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode()
    )


def _csv(v: object) -> str:
    s = str(v)
    return f'"{s}"' if any(c in s for c in ',"\n') else s


def tiktok() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "creators"
    ws.append(
        [
            "Tiktoker name",
            "Tiktok name",
            "Subscribers count",
            "Views avg.",
            "Likes avg",
            "Comments avg.",
            "Shares avg",
        ]
    )
    for row in [
        ["dancewithmia", "Mia Dance", "15.2M", "3.1M", "410K", "2.2K", "5.1K"],
        ["@labnotes", "Lab Notes", "1.04M", "640K", "51K", "900", "1.2K"],
        ["comedy.kev", "Kev", "233.4K", "1.2M", "98K", "1.4K", "3K"],
        ["GardenGran", "Garden Gran 🌻", "48.9K", "85K", "7.7K", "310", "120"],
        ["tiny.tunes", "Tiny Tunes", "3,450", "12K", "1.1K", "40", "15"],
        ["skate.lu", "Lu", "0.89k", "2.4K", "300", "12", "N/A"],
    ]:
        ws.append(row)
    wb.save(HERE / "tiktok_oct_2026.xlsx")


def youtube() -> None:
    records = [
        {
            "channel": "ScienceDaily",
            "title": "Science Daily",
            "subscribers": "4.2M",
            "avg views": 380000,
            "avg likes": "12.5K",
            "avg comments": "1,204",
            "country": "Canada",
            "category": "Education",
        },
        {
            "channel": "cozycoding",
            "title": "Cozy Coding",
            "subscribers": 520000,
            "avg views": "61K",
            "avg likes": "3.3K",
            "avg comments": 410,
            "country": "India",
            "category": "Tech",
        },
        {
            "channel": "retro_repairs",
            "title": "Retro Repairs",
            "subscribers": "178K",
            "avg views": "44.1K",
            "avg likes": "2.9K",
            "country": "Germany",
            "category": "Tech",
        },
        {
            "channel": "knitwithnora",
            "title": "Knit with Nora",
            "subscribers": "27.6K",
            "avg views": "5.5K",
            "avg likes": "410",
            "avg comments": "38",
            "country": "N/A",
            "category": "Crafts",
        },
        {
            "channel": "birdnerd",
            "title": "Bird Nerd",
            "subscribers": "6.1K",
            "avg views": "1.9K",
            "avg likes": "150",
            "avg comments": "9",
            "country": "New Zealand",
            "category": "Nature",
        },
    ]
    (HERE / "youtube_2026-10-01.json").write_text(
        json.dumps(records, indent=1, ensure_ascii=False) + "\n"
    )


def agency() -> None:
    rows = [
        {
            "platform": "Instagram",
            "handle": "@studio.vera",
            "display_name": "Studio Vera",
            "followers": "88.8K",
            "engagement rate": "3.4%",
            "country": "Italy",
            "category": "Fashion",
            "email": "vera@agency.example",
        },
        {
            "platform": "TikTok",
            "handle": "petpals",
            "display_name": "Pet Pals",
            "followers": "7.5K",
            "engagement rate": "6.1%",
            "country": "Mexico",
            "category": "Pets",
        },
        {
            "platform": "YouTube",
            "handle": "VanLifeDiaries",
            "display_name": "Van Life Diaries",
            "followers": "1.2M",
            "engagement rate": "2.2%",
            "country": "Australia",
            "category": "Travel",
        },
        {
            "platform": "Instagram",
            "handle": "loud.engagement",
            "display_name": "Loud",
            "followers": "20K",
            "engagement rate": "140%",
            "country": "Spain",
            "category": "Music",
        },
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines.insert(2, '{"platform": "TikTok", "handle": "half_written", "followers": ')
    (HERE / "agency_roster_oct_2026.ndjson").write_text("\n".join(lines) + "\n")


def x_export() -> None:
    header = ["Username", "Display name", "Followers", "Avg likes", "Avg comments", "Country"]
    rows = [
        ["newsbyte", "News Byte", "2.1M", "5.5K", "820", "United States"],
        ["dataviz_dan", "Dan", "143K", "1.2K", "88", "Ireland"],
        ["micro_poet", "Micro Poet", "18.4K", "240", "31", "Portugal"],
        ["quiet.cat", "Quiet Cat", "950", "12", "3", "Poland"],
    ]
    text = "sep=\t\r\n" + "\r\n".join("\t".join(r) for r in [header, *rows]) + "\r\n"
    (HERE / "x_oct_2026.tsv").write_bytes(text.encode("utf-16"))


if __name__ == "__main__":
    instagram()
    tiktok()
    youtube()
    agency()
    x_export()
    print("sample exports written to", HERE)
