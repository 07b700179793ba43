"""Tenant-leading indexes and row-level security for the rota tables."""

from core.db.rls import tenancy_migration

ID = "2026-11-23T10:48:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rota indexes and row level security"

TENANT_TABLES = ("rota_template", "rota_slot", "leader_leave", "rota_change", "feed_token")

INDEXES = (
    "CREATE UNIQUE INDEX ux_rota_template_key ON rota_template (tenant_id, key)",
    "CREATE UNIQUE INDEX ux_rota_slot_key ON rota_slot (tenant_id, slot_key)",
    "CREATE INDEX ix_rota_slot_day ON rota_slot (tenant_id, day, status)",
    "CREATE INDEX ix_rota_slot_leader ON rota_slot (tenant_id, leader_id, day)",
    "CREATE INDEX ix_rota_slot_template ON rota_slot (tenant_id, template_id, day)",
    "CREATE INDEX ix_leader_leave_user ON leader_leave (tenant_id, user_id, first_day)",
    "CREATE INDEX ix_rota_change_slot ON rota_change (tenant_id, slot_id)",
    "CREATE INDEX ix_rota_change_status ON rota_change (tenant_id, status)",
    "CREATE UNIQUE INDEX ux_feed_token_hash ON feed_token (tenant_id, token_hash)",
    "CREATE INDEX ix_feed_token_user ON feed_token (tenant_id, user_id)",
)


forwards = tenancy_migration(ID, "daemon", DESCRIPTION, TENANT_TABLES, INDEXES)
