"""Database connections while a thread waits on something else, and the hot writes, written out once.

The durable-work engine and a report's path make the same few writes thousands of times: their text is built
once per process from the models' own metadata (only quoted names go into it; every value is a parameter), so a
call costs the values' conversion and the round trip, not a query's compilation.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper


def release_pooled_connections() -> None:
    """Give this thread's pooled database connections back while it waits on a system of record, so that a pool
    sized for the database's work serves every thread; the next query borrows one again. Only outside a
    transaction, and only from a pool: an unpooled connection closed now would cost a new one."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and getattr(connection, "pool", None) and not connection.in_atomic_block:
            connection.close()


def update_then_insert(
    model: type[models.Model],
    where: dict[str, Any],
    changes: dict[str, Any],
    new: models.Model,
    link: str,
    *,
    linked_by: str = "",
) -> bool:
    """Update the row of `model` whose fields equal `where` (one row at most) with `changes` (plain values) and,
    if there was one, insert `new` (its foreign key `link` already names that row, or the row that the updated
    row's column `linked_by` names): on PostgreSQL in one statement, elsewhere in two. False, and nothing
    inserted, when no row matched."""
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        updated = bool(model._base_manager.using(connection.alias).filter(**where).update(**changes))
        if updated:
            new.save(force_insert=True, using=connection.alias)
        return updated
    text, inserted = _update_then_insert_text(
        connection.alias, model, tuple(where), tuple(changes), type(new), link, linked_by
    )
    params = [
        *_prepared(model, changes, connection, save=True),
        *_prepared(model, where, connection),
        *(field.get_db_prep_save(field.pre_save(new, add=True), connection) for field in inserted),
    ]
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        row = cursor.fetchone()
    if row is None:
        return False
    new.pk = row[0]
    new._state.adding, new._state.db = False, connection.alias
    return True


def update_returning(
    model: type[models.Model],
    where: dict[str, Any],
    changes: dict[str, Any],
    *,
    also_set: tuple[str, ...] = (),
    also_where: str = "",
    also_params: Sequence[Any] = (),
) -> models.Model | None:
    """Update the row of `model` whose fields equal `where` (which names its "pk") and that meets `also_where`,
    with `changes` (plain values) and `also_set`; the row as the update left it, or None (nothing written) when
    no row matched. `also_set` and `also_where` are SQL of the caller's own over quoted columns, constant for a
    caller; `also_params` are `also_where`'s values. One statement where the database returns what it updates;
    elsewhere the update and a read of the row, in one transaction."""
    connection = connections[router.db_for_write(model)]
    text = _update_text(connection.alias, model, tuple(where), tuple(changes), also_set, also_where)
    params = [*_prepared(model, changes, connection, save=True), *_prepared(model, where, connection), *also_params]
    if returns_rows(connection):
        with connection.cursor() as cursor:
            cursor.execute(f"{text} RETURNING {columns(connection.alias, model)}", params)
            row = cursor.fetchone()
        return None if row is None else model_from_row(model, connection, row)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(text, params)
        if cursor.rowcount != 1:
            return None
        return model._base_manager.using(connection.alias).get(pk=where["pk"])


def get_with_related(model: type[models.Model], related: str, where: dict[str, Any]) -> models.Model | None:
    """The row of `model` whose fields equal `where`, with the row its foreign key `related` names (as
    `select_related` gives it), or None: one join, its text written once."""
    connection = connections[router.db_for_read(model)]
    text, parent = _joined_text(connection.alias, model, related, tuple(where))
    with connection.cursor() as cursor:
        cursor.execute(text, _prepared(model, where, connection))
        row = cursor.fetchone()
    if row is None:
        return None
    instance, parent_instance = models_from_row(connection, row, model, parent)
    setattr(instance, related, parent_instance)
    return instance


def model_from_row(model: type[models.Model], connection: BaseDatabaseWrapper, row: Sequence[Any]) -> models.Model:
    """An instance of `model` from its concrete fields' columns (`columns`), as the ORM would load it: the
    database's and the fields' converters applied."""
    fields = model._meta.concrete_fields
    values = []
    for field, value in zip(fields, row, strict=True):
        column = field.get_col(model._meta.db_table)
        for convert in [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]:
            value = convert(value, column, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def models_from_row(
    connection: BaseDatabaseWrapper, row: Sequence[Any], *models_in_row: type[models.Model]
) -> list[models.Model | None]:
    """An instance of each model from a row of their `columns`, one model after the other; None for a model whose
    primary key is NULL (a LEFT JOIN that found no row)."""
    instances: list[models.Model | None] = []
    start = 0
    for model in models_in_row:
        fields = model._meta.concrete_fields
        values = row[start : start + len(fields)]
        start += len(fields)
        has_row = values[fields.index(model._meta.pk)] is not None
        instances.append(model_from_row(model, connection, values) if has_row else None)
    return instances


@cache
def columns(alias: str, model: type[models.Model], table: str = "") -> str:
    """The quoted columns of `model`'s concrete fields, in their order (of `table`, an alias in the query, if
    given): what `model_from_row` reads."""
    quote = connections[alias].ops.quote_name
    prefix = f"{quote(table)}." if table else ""
    return ", ".join(prefix + quote(field.column) for field in model._meta.concrete_fields)


def returns_rows(connection: BaseDatabaseWrapper) -> bool:
    """Whether the database returns what an UPDATE wrote (PostgreSQL, SQLite 3.35+)."""
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.features.can_return_columns_from_insert
    )


@cache
def _update_text(
    alias: str,
    model: type[models.Model],
    where: tuple[str, ...],
    changes: tuple[str, ...],
    also_set: tuple[str, ...] = (),
    also_where: str = "",
) -> str:
    """`UPDATE table SET <changes> WHERE <where>`, each value a parameter: the changes' first, then where's."""
    quote = connections[alias].ops.quote_name
    assignments = [f"{quote(_field(model, name).column)} = %s" for name in changes]
    conditions = [f"{quote(_field(model, name).column)} = %s" for name in where]
    if also_where:
        conditions.append(f"({also_where})")
    table = quote(model._meta.db_table)
    return f"UPDATE {table} SET {', '.join([*assignments, *also_set])} WHERE {' AND '.join(conditions)}"  # noqa: S608


@cache
def _update_then_insert_text(
    alias: str,
    model: type[models.Model],
    where: tuple[str, ...],
    changes: tuple[str, ...],
    new_model: type[models.Model],
    link: str,
    linked_by: str,
) -> tuple[str, list[models.Field]]:
    """The statement, and the fields of `new_model` whose values follow the update's."""
    quote = connections[alias].ops.quote_name
    holder = new_model._meta.get_field(link)
    fields = [f for f in new_model._meta.concrete_fields if not f.primary_key and f is not holder]
    linked = quote(_field(model, linked_by or "pk").column)
    inserted = ", ".join(quote(f.column) for f in [holder, *fields])
    text = (
        f"WITH updated AS ({_update_text(alias, model, where, changes)} RETURNING {linked}) "  # noqa: S608
        f"INSERT INTO {quote(new_model._meta.db_table)} ({inserted}) "
        f"SELECT {linked}, {', '.join(['%s'] * len(fields))} FROM updated RETURNING {quote(new_model._meta.pk.column)}"
    )
    return text, fields


@cache
def _joined_text(
    alias: str, model: type[models.Model], related: str, where: tuple[str, ...]
) -> tuple[str, type[models.Model]]:
    quote = connections[alias].ops.quote_name
    link = model._meta.get_field(related)
    parent = link.related_model
    conditions = " AND ".join(f"c.{quote(_field(model, name).column)} = %s" for name in where)
    text = (
        f"SELECT {columns(alias, model, 'c')}, {columns(alias, parent, 'p')} "  # noqa: S608
        f"FROM {quote(model._meta.db_table)} c JOIN {quote(parent._meta.db_table)} p "
        f"ON p.{quote(link.target_field.column)} = c.{quote(link.column)} WHERE {conditions}"
    )
    return text, parent


def _field(model: type[models.Model], name: str) -> models.Field:
    return model._meta.pk if name == "pk" else model._meta.get_field(name)


def _prepared(
    model: type[models.Model], values: dict[str, Any], connection: BaseDatabaseWrapper, *, save: bool = False
) -> list[Any]:
    fields = [(_field(model, name), value) for name, value in values.items()]
    if save:
        return [field.get_db_prep_save(value, connection) for field, value in fields]
    return [field.get_db_prep_value(value, connection, prepared=False) for field, value in fields]
