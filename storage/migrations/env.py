"""Alembic environment: runs migrations on the connection `storage.migrate` hands over.

Why no alembic.ini and no URL here: the package ships its migrations and `storage.migrate`
builds the Alembic config in code, so `mllm-audit db upgrade` works from any folder on any
installed copy. The caller owns the connection and its transaction (and the migration lock).
"""

from __future__ import annotations

from alembic import context

from storage.migrate import VERSION_TABLE
from storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("storage migrations run only through storage.migrate (no connection was given)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
