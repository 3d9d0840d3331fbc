"""Pure helpers that turn environment values into Django/Celery settings (kept testable)."""

from pathlib import Path
from typing import Any


def tune_database(config: dict[str, Any], *, pool_size: int = 8) -> dict[str, Any]:
    """Make a parsed DATABASE_URL safe for several processes (web, worker, beat) at once."""
    engine = config.get("ENGINE", "")
    options = config.setdefault("OPTIONS", {})
    if engine.endswith("sqlite3"):
        # Web, worker and beat share one file: WAL lets readers run beside a writer, IMMEDIATE
        # takes the write lock up front so that a busy timeout (not "database is locked") applies.
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 20)
        options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    elif engine.endswith("postgresql"):
        # Opening a connection per request halves throughput: keep them, checked before reuse. With `pool_size`,
        # each process keeps a pool that threads borrow from only while they use the database (kernel.db), so
        # threads can outnumber connections; without, each thread keeps its own (as behind PgBouncer).
        config["CONN_HEALTH_CHECKS"] = True
        options.setdefault("connect_timeout", 5)
        if pool_size:
            config["CONN_MAX_AGE"] = 0
            options.setdefault("pool", {"min_size": 1, "max_size": pool_size, "timeout": 10, "max_idle": 300})
        else:
            config["CONN_MAX_AGE"] = 60
    return config


def celery_broker_options(broker_url: str, var_dir: Path) -> dict[str, Any]:
    """Transport options for the broker: an embedded filesystem queue under var/, or Redis."""
    if broker_url.startswith("filesystem://"):
        queue_dir = var_dir / "broker" / "queue"
        processed_dir = var_dir / "broker" / "processed"
        control_dir = var_dir / "broker" / "control"
        for folder in (queue_dir, processed_dir, control_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return {
            "control_folder": str(control_dir),
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "processed_folder": str(processed_dir),
            "store_processed": False,
            # A folder is polled, not pushed to: look often so a notice leaves within a second.
            "polling_interval": 0.2,
        }
    if broker_url.startswith(("redis://", "rediss://")):
        return {"socket_timeout": 5, "socket_connect_timeout": 3, "visibility_timeout": 3600}
    if broker_url.startswith(("amqp://", "amqps://", "pyamqp://")):
        # RabbitMQ confirms each message it took: an enqueue that returned is in a durable queue, not in flight.
        return {"confirm_publish": True}
    return {}


def cache_config(redis_url: str) -> dict[str, Any]:
    """Redis when configured (shared by every process), else the database cache of the default DB."""
    if redis_url:
        return {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "incident_hub",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    return {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "incident_hub_cache",
        "KEY_PREFIX": "incident_hub",
    }


def servicenow_poll_schedule(poll_seconds: float) -> dict[str, Any]:
    """The beat entry of the ServiceNow poll, every `poll_seconds`; none when 0 turns the poll off."""
    if poll_seconds <= 0:
        return {}
    # A poll still queued when the next is due is dropped (django-celery-beat's `expire_seconds`), not run after
    # it: the next one reads the same changes.
    return {
        "poll-servicenow": {
            "task": "process_apis.poll_servicenow",
            "schedule": float(poll_seconds),
            "options": {"expire_seconds": max(1, int(poll_seconds))},
        }
    }
