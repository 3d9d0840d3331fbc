"""The scale-out tier: production processes on the machine's PostgreSQL and brokers, run by .ci/run's tier 3."""

import os

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_SERVER = os.environ.get("SCALE_OUT_REDIS_SERVER", "redis://127.0.0.1:6379")
