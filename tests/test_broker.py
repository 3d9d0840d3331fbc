import os
from pathlib import Path

import pytest
from django.conf import settings
from kombu import Connection

from incidents_site import broker
from incidents_site.celery import app as celery_app


def connect(folder: Path) -> Connection:
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(folder)}
    return Connection("filesystem://", transport="incidents_site.broker:Transport", transport_options=options)


def test_a_message_appears_in_the_queue_folder_only_once_it_is_whole(tmp_path, monkeypatch):
    seen_while_writing = []
    real_replace = os.replace

    def replace(source, target):
        seen_while_writing.extend(name for name in os.listdir(tmp_path) if name.endswith(".msg"))
        assert Path(source).read_bytes()  # the full message is written before it gets its queue name
        real_replace(source, target)

    monkeypatch.setattr(broker.os, "replace", replace)
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("notices")
        queue.put({"delivery_id": 7})

        assert seen_while_writing == []
        assert queue.get(timeout=1).payload == {"delivery_id": 7}


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("filesystem://"), reason="a real broker is configured")
def test_the_embedded_default_publishes_through_this_transport():
    with celery_app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)


@pytest.mark.parametrize("flag", ["should_stop", "should_terminate"])
def test_a_worker_told_to_stop_stops_waiting_for_messages_at_once(tmp_path, monkeypatch, flag):
    from celery.worker import state as worker_state
    from kombu.transport import virtual

    naps = []
    monkeypatch.setattr(virtual.base, "sleep", naps.append)
    monkeypatch.setattr(worker_state, flag, 0)  # Celery's exit code for a warm stop: 0 still means stop
    with connect(tmp_path) as connection:
        connection.SimpleQueue("notices")  # consuming, as a worker is

        with pytest.raises(TimeoutError):
            connection.drain_events(timeout=2.0)

    assert naps == [], "no polling interval was waited out"


def test_the_embedded_broker_does_not_warn_about_a_missing_host(tmp_path, caplog):
    with connect(tmp_path) as connection:
        connection.SimpleQueue("notices").put({"delivery_id": 9})
        described = connection.as_uri()  # as Celery does when it connects, and for every publisher

    assert "No hostname was supplied" not in caplog.text
    assert described.startswith("incidents_site.broker:Transport://")


REDIS_URL = os.environ.get("REDIS_URL", "")


def test_a_redis_broker_url_names_redis_and_uses_the_channel_with_one_client():
    connection = Connection("redis://127.0.0.1:6379/0")

    assert connection.transport_cls == "redis" and connection.as_uri().startswith("redis://")
    assert isinstance(connection.transport, broker.RedisTransport)


@pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL): run by .ci/run's services tier")
def test_a_redis_channel_shares_one_client_until_its_pool_is_replaced():
    with Connection(REDIS_URL) as connection:
        channel = connection.default_channel
        queue = connection.SimpleQueue("broker-test-notices")
        queue.clear()
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
        queue.put({"delivery_id": 7})
        message = queue.get(timeout=5)
        message.ack()
        assert message.payload == {"delivery_id": 7} and first.llen("broker-test-notices") == 0

        channel._disconnect_pools()  # what kombu does when it has lost the connection
        with channel.conn_or_acquire() as after:
            assert after is not first and after.connection_pool is channel.pool
            assert after.ping()
        queue.close()
