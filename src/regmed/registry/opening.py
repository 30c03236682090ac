"""Open an existing registry, with a clear error when it is missing or not migrated."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from regmed.errors import DataError
from regmed.registry.db import current_revision, database_url, head_revision, make_engine

__all__ = ["open_registry"]


def open_registry(url: str | None = None) -> Engine:
    """An engine on the registry at ``url`` (default ``REGMED_DATABASE_URL``), checked.

    Raises
    ------
    DataError
        The database cannot be reached, or its schema is not at the current migration
        (say ``regmed init`` to create or upgrade it).
    """
    target = database_url(url)
    engine = make_engine(target)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DataError(f"the registry at {target} cannot be reached: {exc.__class__.__name__}: "
                        f"{str(exc).splitlines()[0]}") from None
    if revision != head_revision():
        engine.dispose()
        state = "has no regmed schema" if revision is None else f"is at revision {revision}"
        raise DataError(f"the registry at {target} {state}; run `regmed init` to create or "
                        "upgrade it")
    return engine
