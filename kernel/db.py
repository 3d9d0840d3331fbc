"""Database connections while a thread waits on something else."""

from __future__ import annotations

from django.db import connections


def release_pooled_connections() -> None:
    """Give this thread's pooled database connections back while it waits on a system of record, so that a pool
    sized for the database's work serves every thread; the next query borrows one again. Only outside a
    transaction, and only from a pool: an unpooled connection closed now would cost a new one."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and getattr(connection, "pool", None) and not connection.in_atomic_block:
            connection.close()
