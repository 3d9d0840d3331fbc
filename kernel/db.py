"""Database connections while a thread waits on something else, and writes that take one statement for two."""

from __future__ import annotations

from typing import Any

from django.db import connections, models, router
from django.db.models.sql import UpdateQuery


def release_pooled_connections() -> None:
    """Give this thread's pooled database connections back while it waits on a system of record, so that a pool
    sized for the database's work serves every thread; the next query borrows one again. Only outside a
    transaction, and only from a pool: an unpooled connection closed now would cost a new one."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and getattr(connection, "pool", None) and not connection.in_atomic_block:
            connection.close()


def update_then_insert(rows: models.QuerySet, changes: dict[str, Any], new: models.Model, link: str) -> bool:
    """`rows.update(**changes)` and, if it updated a row, `new` inserted (its foreign key `link` already names that
    row; `rows` matches one row at most): on PostgreSQL in one statement, elsewhere in two. False, and nothing
    inserted, when no row matched."""
    connection = connections[router.db_for_write(rows.model)]
    holder = new._meta.get_field(link)
    if connection.vendor != "postgresql":
        updated = bool(rows.update(**changes))
        if updated:
            new.save(force_insert=True)
        return updated
    update = rows.query.chain(UpdateQuery)
    update.add_update_values(changes)
    update_sql, update_params = update.get_compiler(connection.alias).as_sql()
    fields = [f for f in new._meta.concrete_fields if not f.primary_key and f is not holder]
    values = [f.get_db_prep_save(f.pre_save(new, add=True), connection) for f in fields]
    quote = connection.ops.quote_name
    row_pk = quote(rows.model._meta.pk.column)
    columns = ", ".join(quote(f.column) for f in [holder, *fields])
    # Django writes the UPDATE; only names from the models' own metadata, quoted, are added; values are parameters.
    text = (
        f"WITH updated AS ({update_sql} RETURNING {row_pk}) "  # noqa: S608
        f"INSERT INTO {quote(new._meta.db_table)} ({columns}) "
        f"SELECT {row_pk}, {', '.join(['%s'] * len(values))} FROM updated RETURNING {quote(new._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(text, [*update_params, *values])
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    new.pk = inserted[0]
    new._state.adding, new._state.db = False, connection.alias
    return True
