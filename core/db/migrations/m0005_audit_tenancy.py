"""Audit log: one chain per tenant, row-level security, append-only on both engines.

``audit_head`` keeps each chain's newest link. The app appends with
``UPDATE audit_head … RETURNING`` (the row lock serializes appends per tenant) and one
``INSERT`` into ``audit_log``; a trigger then moves the head's hash to the new row, in
the same transaction. Rows of ``audit_log`` can be neither updated nor deleted (trigger
here, and no UPDATE/DELETE grant for the app role, see ``core.bootstrap``)."""


from core.db.rls import tenancy_migration

ID = "2026-11-28T23:56:11:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit log indexes, row level security, append-only"

TENANT_TABLES = ("audit_log", "audit_head")

INDEXES = (
    "CREATE UNIQUE INDEX ux_audit_seq ON audit_log (tenant_id, seq)",
    "CREATE INDEX ix_audit_hash ON audit_log (tenant_id, hash)",
    "CREATE UNIQUE INDEX ux_audit_head ON audit_head (tenant_id)",
)

SQLITE_EXTRA = (
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_head AFTER INSERT ON audit_log
       BEGIN UPDATE audit_head SET hash = NEW.hash
             WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq; END""",
)

# xinfang_append_only() is defined by m0002_tenancy.
PG_EXTRA = (
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION xinfang_append_only()""",
    """CREATE OR REPLACE FUNCTION xinfang_audit_head() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE audit_head SET hash = NEW.hash
          WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER audit_log_head AFTER INSERT ON audit_log
       FOR EACH ROW EXECUTE FUNCTION xinfang_audit_head()""",
)


forwards = tenancy_migration(
    ID, "core", DESCRIPTION, TENANT_TABLES, INDEXES, pg_extra=PG_EXTRA, sqlite_extra=SQLITE_EXTRA
)
