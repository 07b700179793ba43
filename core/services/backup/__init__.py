"""Backup and restore of every tenant or of one (``xinfang backup`` / ``xinfang restore``).

One logical format on both engines, written and read through the owner connection
(``DATABASE_ADMIN_URL``): a gzip-compressed file of JSON lines —

1. a header: format and version, scope (``all`` or ``tenant``), the applied migrations,
   a key check (an HMAC under the secret key, never the key) and each table's columns;
2. per table, in foreign-key order: ``{"table": name}`` then one JSON array per row;
3. a trailer with the row count of each table — a file without it is refused.

Values are stored as the database holds them (JSON columns as their text, times in ISO
form), so a restore writes back exactly what was read. Encrypted personal data stays
encrypted: the file is as sensitive as the database (names, password hashes, ciphertexts)
but useless for ID numbers and phones without the secret key.

On PostgreSQL the owner is under row-level security too (FORCE); each backup or restore
transaction sets ``app.all_tenants`` so the owner's maintenance policy
(``core.db.rls.OWNER_POLICY``) lets it read and write every tenant's rows.

Restore rules (docs: deploy/README.md, "Backup and restore"):
- the target runs the same migrations as the backup (restore first, upgrade after);
- a full backup goes into a freshly migrated, empty database;
- ``--tenant`` replaces that tenant's rows and nothing else, in one transaction; row ids
  are kept, so an id held by another tenant stops the restore before anything changes.
"""

from core.services.backup.db import BATCH, FORMAT, FORMAT_VERSION
from core.services.backup.dump import BackupResult, backup
from core.services.backup.load import RestoreResult, read_header, restore

__all__ = [
    "BATCH",
    "FORMAT",
    "FORMAT_VERSION",
    "BackupResult",
    "RestoreResult",
    "backup",
    "read_header",
    "restore",
]
