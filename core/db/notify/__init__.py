"""Reminder, inbox, delivery and tick-state tables and their migrations (Piccolo app ``notify``)."""
