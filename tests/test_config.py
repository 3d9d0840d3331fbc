from pathlib import Path

from incidents_site.config import cache_config, celery_broker_options, servicenow_poll_schedule, tune_database


def test_embedded_broker_queues_in_var_when_no_broker_is_configured(tmp_path: Path):
    options = celery_broker_options("filesystem://", tmp_path)

    assert options["data_folder_in"] == options["data_folder_out"] == str(tmp_path / "broker" / "queue")
    assert (tmp_path / "broker" / "queue").is_dir()
    assert (tmp_path / "broker" / "processed").is_dir()
    assert options["control_folder"] == str(tmp_path / "broker" / "control")


def test_redis_broker_gets_socket_timeouts_so_an_outage_cannot_hang_a_request(tmp_path: Path):
    options = celery_broker_options("redis://127.0.0.1:6379/0", tmp_path)

    assert options["socket_timeout"] == 5
    assert options["socket_connect_timeout"] == 3
    assert not (tmp_path / "broker").exists()


def test_rabbitmq_broker_confirms_every_message_and_the_queues_are_durable(tmp_path: Path):
    from incidents_site.celery import app

    assert celery_broker_options("amqp://guest:guest@127.0.0.1:5672//", tmp_path) == {"confirm_publish": True}
    assert all(queue.durable for queue in app.amqp.queues.values())


def test_sqlite_is_opened_for_several_processes():
    config = tune_database({"ENGINE": "django.db.backends.sqlite3", "NAME": "x.sqlite3"})

    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["OPTIONS"]["timeout"] == 20
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_postgres_connections_are_pooled_and_health_checked():
    config = tune_database({"ENGINE": "django.db.backends.postgresql", "NAME": "hub"}, pool_size=12)

    assert config["OPTIONS"]["pool"]["max_size"] == 12
    assert config["CONN_MAX_AGE"] == 0, "Django's pool takes back a connection a request or task closes"
    assert config["CONN_HEALTH_CHECKS"] is True
    assert config["OPTIONS"]["connect_timeout"] == 5


def test_postgres_without_a_pool_keeps_a_connection_per_thread_for_a_minute():
    config = tune_database({"ENGINE": "django.db.backends.postgresql", "NAME": "hub"}, pool_size=0)

    assert "pool" not in config["OPTIONS"]
    assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]) == (60, True)


def test_cache_is_redis_when_configured_and_the_database_otherwise():
    assert cache_config("redis://127.0.0.1:6379/1")["BACKEND"] == "django_redis.cache.RedisCache"
    assert cache_config("")["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


def test_each_downstream_has_its_own_queue_and_a_plain_worker_takes_them_all():
    from incidents_site.celery import app

    def queue_of(task: str) -> str:
        return app.amqp.router.route({}, task)["queue"].name

    assert queue_of("process_apis.sync_incident") == "servicenow"
    assert queue_of("process_apis.deliver_notification") == "slack"
    assert queue_of("process_apis.deliver_webhook") == "webhooks"
    assert queue_of("process_apis.sweep_unfinished_work") == "celery"
    assert queue_of("process_apis.send_customer_mail") == "email"
    assert sorted(app.amqp.queues) == ["celery", "email", "servicenow", "slack", "webhooks"]


def test_the_servicenow_poll_runs_every_so_many_seconds_and_not_at_all_at_zero():
    assert servicenow_poll_schedule(60) == {
        "poll-servicenow": {
            "task": "process_apis.poll_servicenow",
            "schedule": 60.0,
            "options": {"expire_seconds": 60},
        }
    }
    assert servicenow_poll_schedule(0) == {}


def test_the_site_polls_servicenow_every_minute_unless_told_otherwise():
    from django.conf import settings

    assert settings.SERVICENOW_POLL_SECONDS == 60
    assert settings.CELERY_BEAT_SCHEDULE["poll-servicenow"]["task"] == "process_apis.poll_servicenow"
    assert settings.CELERY_TASK_ROUTES["process_apis.poll_servicenow"] == {"queue": "servicenow"}
