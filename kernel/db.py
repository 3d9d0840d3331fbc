"""Database connections while a thread waits on something else, and writes that take one statement for two."""

from __future__ import annotations

from typing import Any

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql import UpdateQuery


def release_pooled_connections() -> None:
    """Give this thread's pooled database connections back while it waits on a system of record, so that a pool
    sized for the database's work serves every thread; the next query borrows one again. Only outside a
    transaction, and only from a pool: an unpooled connection closed now would cost a new one."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and getattr(connection, "pool", None) and not connection.in_atomic_block:
            connection.close()


def update_then_insert(
    rows: models.QuerySet, changes: dict[str, Any], new: models.Model, link: str, *, linked_by: str = ""
) -> bool:
    """`rows.update(**changes)` and, if it updated a row, `new` inserted (its foreign key `link` already names that
    row, or the row that the updated row's column `linked_by` names; `rows` matches one row at most): on PostgreSQL
    in one statement, elsewhere in two. False, and nothing inserted, when no row matched."""
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
    linked = quote(rows.model._meta.get_field(linked_by).column if linked_by else rows.model._meta.pk.column)
    columns = ", ".join(quote(f.column) for f in [holder, *fields])
    # Django writes the UPDATE; only names from the models' own metadata, quoted, are added; values are parameters.
    text = (
        f"WITH updated AS ({update_sql} RETURNING {linked}) "  # noqa: S608
        f"INSERT INTO {quote(new._meta.db_table)} ({columns}) "
        f"SELECT {linked}, {', '.join(['%s'] * len(values))} FROM updated RETURNING {quote(new._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(text, [*update_params, *values])
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    new.pk = inserted[0]
    new._state.adding, new._state.db = False, connection.alias
    return True


def update_returning(rows: models.QuerySet, changes: dict[str, Any]) -> models.Model | None:
    """`rows.update(**changes)` for one row at most (`rows` matches one row at most), and that row as the update
    left it; None, and nothing written, when no row matched. One statement where the database returns what it
    updates (PostgreSQL, SQLite 3.35+); elsewhere the row's key is read first, the update is made on that row if it
    still matches `rows`, and the row is read back."""
    model = rows.model
    connection = connections[router.db_for_write(model)]
    if not _updates_return_rows(connection):
        with transaction.atomic(using=connection.alias):
            pk = rows.values_list("pk", flat=True).first()
            if pk is None or not rows.filter(pk=pk).update(**changes):
                return None
            return model._base_manager.using(connection.alias).get(pk=pk)
    update = rows.query.chain(UpdateQuery)
    update.add_update_values(changes)
    update_sql, update_params = update.get_compiler(connection.alias).as_sql()
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    returning = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"{update_sql} RETURNING {returning}", update_params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for field, value in zip(fields, row, strict=True):
        column = field.get_col(model._meta.db_table)
        for convert in [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]:
            value = convert(value, column, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def _updates_return_rows(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.features.can_return_columns_from_insert
    )
