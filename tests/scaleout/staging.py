"""A deployment for one scale-out test: its own PostgreSQL databases, its Redis databases, a sandbox port and a log
folder; every process stopped at the end, and the logs' tails printed (shown when the test fails)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.deployment import Deployment, free_port, postgres_databases, redis_databases, staging_environment
from tests.scaleout import DATABASE_URL


@dataclass(frozen=True)
class Staging:
    hub: Deployment
    sandbox: str
    main: str
    legacy: str


@contextmanager
def staging_deployment(
    state: Path,
    prefix: str,
    *,
    broker_url: str,
    cache_url: str,
    redis: tuple[str, ...] = (),
    settings: Mapping[str, str] | None = None,
    environment: Callable[..., dict[str, str]] = staging_environment,
) -> Iterator[Staging]:
    """The deployment, its databases named `<prefix>_`, `<prefix>_legacy_` and `<prefix>_sandbox_` and a run's id,
    its `redis` databases emptied before and after, its state and logs under `state`. `environment` makes its
    settings from the databases' and the sandbox's URLs (staging_environment's arguments); `settings` add to them."""
    run = uuid.uuid4().hex[:8]
    names = (f"{prefix}_{run}", f"{prefix}_legacy_{run}", f"{prefix}_sandbox_{run}")
    with postgres_databases(DATABASE_URL, *names) as (main, legacy, sandbox_db), redis_databases(*redis):
        sandbox = f"http://127.0.0.1:{free_port()}"
        (state / "logs").mkdir()
        hub = Deployment(
            {
                **environment(
                    main=main,
                    legacy=legacy,
                    sandbox_db=sandbox_db,
                    cache_url=cache_url,
                    broker_url=broker_url,
                    sandbox=sandbox,
                    state=state,
                ),
                **(settings or {}),
            },
            state / "logs",
        )
        try:
            yield Staging(hub, sandbox, main, legacy)
        finally:
            hub.stop_all()
            print(hub.log_tails())  # shown when the test fails
