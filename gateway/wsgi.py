"""WSGI entry point: ``gunicorn gateway.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
application = get_wsgi_application()

# Embedded mode has no beat: the same schedule (the delivery sweeper above all) runs in
# this process. A no-op when Celery workers and beat do the work.
from gateway.runner import start_embedded_scheduler  # noqa: E402

start_embedded_scheduler()
