"""Which Prefect API a ``roster`` command talks to, decided before Prefect is imported.

Prefect's fallback when no API is configured is an *ephemeral* server started inside the
process: about 11 s of start-up and 3 s of shutdown on every call (measured on the 2-core
test machine; README "Fixed cost"). So, in this order:

1. ``PREFECT_API_URL`` set in the environment, or in the active Prefect profile: used as is;
2. a local server started once with ``make server`` (``prefect server start``) answering at
   ``LOCAL_API_URL``: used, and said so on stderr;
3. otherwise the ephemeral server, as before.

Stdlib only: this runs before any heavy import.
"""

from __future__ import annotations

import os
import tomllib
import urllib.request
from pathlib import Path

LOCAL_API_URL = "http://127.0.0.1:4200/api"
PROBE_TIMEOUT_SECONDS = 0.3


def _profile_api_url() -> str | None:
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active", "ephemeral")
    url = data.get("profiles", {}).get(active, {}).get("PREFECT_API_URL")
    return str(url) if url else None


def is_answering(api_url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (OSError, ValueError):
        return False


def choose_api() -> str:
    """Point this process at a running server when there is one; return what was chosen
    (for the run summary): the URL, or ``"ephemeral"``."""
    configured = os.environ.get("PREFECT_API_URL") or _profile_api_url()
    if configured:
        return configured
    if is_answering(LOCAL_API_URL):
        os.environ["PREFECT_API_URL"] = LOCAL_API_URL
        return LOCAL_API_URL
    return "ephemeral"
