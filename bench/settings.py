"""Django settings for the benchmark's processes: the gateway's own settings, plus the
benchmark URLconf (which adds the baseline endpoint). Everything else comes from the same
environment variables as production, so the bench measures the production configuration.

``BENCH_CELERY_DB_REUSE_MAX`` (unset by default) sets ``CELERY_DB_REUSE_MAX`` to measure
the settings change the benchmark proposes (see bench/README.md): without it, Celery's
Django fix-up closes the database connection around every task.
"""

import os

from gateway.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

if os.environ.get("BENCH_CELERY_DB_REUSE_MAX"):
    CELERY_DB_REUSE_MAX = int(os.environ["BENCH_CELERY_DB_REUSE_MAX"])
