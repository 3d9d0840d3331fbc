"""A thread waiting on a system of record holds no pooled database connection, so threads can outnumber them."""

import pytest
import responses
from django.db import connection, transaction

from system_apis.http import HttpClient

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not connection.settings_dict["OPTIONS"].get("pool"), reason="the database is not pooled"),
]


class Vendor(HttpClient):
    system = "slack"

    def ping(self) -> None:
        self._request("GET", "ping", operation="ping")


def database_connection_during_a_call() -> object:
    seen = []
    with responses.RequestsMock() as vendor:
        vendor.add_callback(
            "GET",
            "https://vendor.example/ping",
            callback=lambda request: seen.append(connection.connection) or (200, {}, ""),
        )
        Vendor(base_url="https://vendor.example/", timeout=(1, 1)).ping()
    return seen[0]


def test_the_connection_goes_back_to_the_pool_while_the_vendor_answers_and_is_borrowed_again_after():
    connection.ensure_connection()
    pool = connection.pool
    opened = pool.get_stats().get("connections_num", 0)

    assert database_connection_during_a_call() is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.connection is not None
    assert pool.get_stats().get("connections_num", 0) == opened, "borrowed from the pool again, not opened anew"


def test_a_transaction_keeps_its_connection_through_a_call():
    with transaction.atomic():
        connection.ensure_connection()
        held = connection.connection
        assert database_connection_during_a_call() is held
