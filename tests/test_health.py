"""Health endpoints for a load balancer: live while the process serves, ready while reports can be accepted."""

import socket
from pathlib import Path

import pytest
from django.db import DatabaseError, connections

from system_apis.circuit import SystemCircuit

pytestmark = pytest.mark.django_db

LIVE, READY = "/health/live", "/health/ready"
ALL_CLOSED = {
    "servicenow": "closed",
    "salesforce": "closed",
    "slack": "closed",
    "legacy_db": "closed",
    "email": "closed",
}


def nothing_listens_on() -> int:
    """A local port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def checks_ok(body: dict) -> dict[str, bool]:
    return {name: check["ok"] for name, check in body["checks"].items()}


def test_live_answers_ok_and_is_never_cached(client):
    response = client.get(LIVE)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


def test_ready_answers_ok_with_every_check_and_circuit_when_all_is_well(client):
    response = client.get(READY)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["failing"]) == ("ok", [])
    assert checks_ok(body) == {"database": True, "cache": True, "broker": True}
    assert body["circuits"] == ALL_CLOSED
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


def test_ready_needs_no_login_and_refuses_writes(client):
    assert client.get(READY).status_code == 200
    assert client.head(READY).status_code == 200
    assert client.post(READY).status_code == 405


def test_an_open_circuit_is_reported_as_degraded_but_the_node_stays_ready(client):
    SystemCircuit("slack").open()

    response = client.get(READY)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["failing"]) == ("degraded", [])
    assert body["circuits"] == {**ALL_CLOSED, "slack": "open"}


def test_a_database_error_makes_the_node_unready_and_names_the_database(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("could not connect to server")

    monkeypatch.setattr(connections["default"], "cursor", broken_cursor)

    response = client.get(READY)

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failing"]) == ("unavailable", ["database"])
    assert body["checks"]["database"]["error"] == "DatabaseError"
    assert checks_ok(body) == {"database": False, "cache": True, "broker": True}


def test_an_unreachable_broker_makes_the_node_unready_without_showing_its_url(client, settings):
    settings.CELERY_BROKER_URL = f"redis://:broker-password@127.0.0.1:{nothing_listens_on()}/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = client.get(READY)

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failing"]) == ("unavailable", ["broker"])
    assert body["checks"]["broker"]["error"] == "OperationalError"
    assert checks_ok(body) == {"database": True, "cache": True, "broker": False}
    assert b"broker-password" not in response.content
    assert b"127.0.0.1" not in response.content


def test_a_filesystem_broker_folder_that_cannot_be_written_makes_the_node_unready(client, settings, tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    # A regular file where the processed messages' folder should be: nothing can be written inside it.
    not_a_folder = tmp_path / "processed"
    not_a_folder.write_text("")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(not_a_folder),
        "control_folder": str(folder),
    }

    response = client.get(READY)

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failing"]) == ("unavailable", ["broker"])
    assert body["checks"]["broker"]["error"] == "NotADirectoryError"
    assert list(folder.iterdir()) == [], "the probe file is removed again"


def test_the_filesystem_broker_probe_leaves_no_file_a_worker_could_read(client, settings, tmp_path):
    folders = {name: tmp_path / name for name in ("in", "out", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folders["in"]),
        "data_folder_out": str(folders["out"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
    }

    response = client.get(READY)

    assert response.status_code == 200
    assert [path.name for path in Path(tmp_path).rglob("*") if path.is_file()] == []


def test_an_unreachable_cache_makes_the_node_unready_and_its_circuits_unknown(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{nothing_listens_on()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }

    response = client.get(READY)

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failing"]) == ("unavailable", ["cache"])
    assert body["checks"]["cache"]["error"] == "ConnectionError"
    assert body["circuits"] == dict.fromkeys(ALL_CLOSED, "unknown")


def test_ready_can_answer_its_status_alone_where_anyone_can_reach_it(client, monkeypatch, settings):
    settings.HEALTH_READY_DETAIL = False

    def broken_cursor(*args, **kwargs):
        raise DatabaseError("could not connect to server")

    healthy = client.get(READY)
    monkeypatch.setattr(connections["default"], "cursor", broken_cursor)
    broken = client.get(READY)

    assert (healthy.status_code, healthy.json()) == (200, {"status": "ok"})
    assert (broken.status_code, broken.json()) == (503, {"status": "unavailable"})
