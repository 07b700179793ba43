"""Rota tables and their migrations (Piccolo app ``daemon``)."""
