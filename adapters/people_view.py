"""The catalog's ``people`` view (issue 12): one row per person_key over ``creators``.

The same figures as ``transforms.identity.people`` (a test checks they agree), in SQL so
that the DuckDB catalog computes them from the current ``creators`` files.
"""

from __future__ import annotations

PEOPLE = "people"

PEOPLE_COMMENTS = {
    "": "one row per person (person_key) across platforms, from creators",
    "platforms": "platforms the person has an account on, sorted",
    "accounts": "number of accounts (creators rows) of the person",
    "handles": "platform:handle of each account, sorted",
    "display_name": "display name of the person's largest account",
    "total_followers": "sum of followers over the accounts (people; one person can "
    "follow several accounts)",
    "total_est_reach": "sum of est_reach over the accounts (people; one post each)",
    "total_est_reach_low": "sum of est_reach_low (people)",
    "total_est_reach_high": "sum of est_reach_high (people)",
    "person_confidence": "high / medium / low: how the accounts are linked; null for one account",
    "person_evidence": "kinds of links between the accounts",
}


def people_view_sql(creators: str = "creators") -> str:
    """``CREATE VIEW people`` over the creators view (its name quoted by the caller)."""
    return f"""\
CREATE VIEW {PEOPLE} AS
SELECT person_key,
       list(DISTINCT platform ORDER BY platform) AS platforms,
       CAST(count(*) AS INTEGER) AS accounts,
       list(platform || ':' || handle ORDER BY platform || ':' || handle) AS handles,
       arg_max(display_name, followers) AS display_name,
       CAST(sum(followers) AS BIGINT) AS total_followers,
       CAST(sum(est_reach) AS BIGINT) AS total_est_reach,
       CAST(sum(est_reach_low) AS BIGINT) AS total_est_reach_low,
       CAST(sum(est_reach_high) AS BIGINT) AS total_est_reach_high,
       any_value(person_confidence) AS person_confidence,
       any_value(person_evidence) AS person_evidence
FROM {creators}
GROUP BY person_key
ORDER BY total_followers DESC, person_key"""
