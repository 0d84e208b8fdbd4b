"""Alembic environment: migrations run programmatically on the connection the app hands over.

``Database.migrate`` puts its open connection in ``config.attributes``; there is
no ``alembic.ini`` and no URL here. Importing this module outside a migration
(e.g. doctest collection) does nothing.
"""

from __future__ import annotations

from alembic import context

from oms_host.storage.schema import metadata


def _run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


try:
    _in_migration = context.config is not None
except (AttributeError, NameError):
    _in_migration = False
if _in_migration:
    _run()
