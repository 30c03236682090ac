"""Alembic environment of the registry: run programmatically by :func:`regmed.registry.upgrade`.

The caller passes an open connection in ``config.attributes["connection"]``; there is no
alembic.ini. SQLite migrations run in batch mode so that later ones can alter tables.

To add a revision after changing the models::

    from alembic import command
    import regmed.registry as reg
    from regmed.registry.db import _alembic_config
    engine = reg.make_engine("sqlite:///scratch.sqlite"); reg.upgrade(engine)
    with engine.begin() as conn:
        command.revision(_alembic_config(conn), message="what changed", autogenerate=True)

then review the generated file under ``versions/`` (and run ruff on it).
"""

from __future__ import annotations

from alembic import context

from regmed.registry.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when alembic is run by hand
    raise RuntimeError("run migrations through regmed.registry.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
