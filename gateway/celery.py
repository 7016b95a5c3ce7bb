"""The Celery app: ``celery -A gateway worker`` and ``celery -A gateway beat``.

Configuration comes from Django settings (``CELERY_*``, including the beat schedule,
which ``gateway.runner.EmbeddedScheduler`` also runs in embedded mode).
"""

import os

from celery import Celery

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
