"""Names of the tables under --out (one definition, imported by publishing, the catalog
and the data dictionary)."""

SNAPSHOTS = "creator_snapshots"
CREATORS = "creators"
QUARANTINE = "quarantine"
LEDGER = "ledger"
CONTACTS = "contacts"
DELIVERIES = "deliveries"  # every delivered row with its lineage: the source of truth
