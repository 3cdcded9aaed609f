"""Alembic migrations of the mllm-audit schema, shipped inside the package (see `storage.migrate`)."""
