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


@app.on_after_configure.connect
def _connector_schedules(sender: Celery, **kwargs: object) -> None:
    """Connectors declare their schedules (reconciliation, periodic jobs); no connector is
    named in the settings, so a pip-installed one is scheduled like a built-in."""
    from gateway.assessments.schedules import connector_beat_schedule

    sender.conf.beat_schedule = {**sender.conf.beat_schedule, **connector_beat_schedule()}


@task_postrun.connect
def _close_old_connections(**kwargs: object) -> None:
    """Drop a broken or over-age database connection after each task, now that Celery
    keeps connections across tasks (``CELERY_DB_REUSE_MAX``)."""
    from django.db import close_old_connections

    close_old_connections()
