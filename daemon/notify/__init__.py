"""Deadline reminders, escalation and notification delivery (outbox → inbox / email / plugins)."""
