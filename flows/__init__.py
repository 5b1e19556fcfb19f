"""IO and orchestration: reading exports, the Prefect flow, publishing, the CLI."""

import os

# The local ephemeral Prefect API takes 15-25 s to start on small machines.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# No telemetry from the embedded server: these machines have no internet access.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# No first-run usage-data notice from the Prefect client, no telemetry attempts.
os.environ.setdefault("DO_NOT_TRACK", "1")
