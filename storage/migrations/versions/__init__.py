"""Alembic revision scripts, oldest first; each one is frozen once released."""
