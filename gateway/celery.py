"""The Celery app: ``celery -A gateway worker`` and ``celery -A gateway beat``.

Configuration comes from Django settings (``CELERY_*``); the periodic schedule lives
with the tasks it runs (see ``gateway.delivery`` and the connectors).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

app = Celery("gateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
