"""The Celery app: ``celery -A gateway worker`` and ``celery -A gateway beat``.

Configuration comes from Django settings (``CELERY_*``, including the beat schedule,
which ``gateway.runner.EmbeddedScheduler`` also runs in embedded mode).
"""

import os

from celery import Celery
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

app = Celery("gateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _connector_packages() -> list[str]:
    from connectors.registry import registry

    return [type(connector).__module__.rpartition(".")[0] for connector in registry().all()]


# Connectors are plug-ins, not Django apps: their ``tasks`` modules are found through
# the registry.
app.autodiscover_tasks(_connector_packages)


@task_postrun.connect
def _close_old_connections(**kwargs: object) -> None:
    """Drop a broken or over-age database connection after each task, now that Celery
    keeps connections across tasks (``CELERY_DB_REUSE_MAX``)."""
    from django.db import close_old_connections

    close_old_connections()
