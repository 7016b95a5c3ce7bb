"""Where background work runs: Celery workers in production, threads in embedded mode.

``enqueue(task, *args)`` is the one way code starts background work:

* ``celery`` (``REDIS_URL`` set): ``task.delay(*args)``; ``celery -A gateway beat`` runs
  the periodic schedule.
* ``thread`` (embedded default): a small in-process pool runs the task body, and a
  daemon thread runs the same periodic schedule as beat. Nothing to install, and the
  outbox guarantees still hold: a task lost with the process is found by the sweeper.
* ``sync``: run inline (tests that want determinism).
* ``off``: do nothing; the sweeper (or the test) sends later.

``GATEWAY_TASK_RUNNER`` overrides the choice.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def mode() -> str:
    return settings.GATEWAY_TASK_RUNNER


def _run_in_thread(task: Any, args: tuple[Any, ...]) -> None:
    try:
        task.run(*args)
    except Exception:
        logger.exception("Background task %s failed", task.name)
    finally:
        close_old_connections()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gateway-task")
        return _executor


def task_named(name: str) -> Any:
    """The Celery task registered as ``name``. Modules that queue work name the task
    instead of importing its module, so they never import the modules that do the work
    (which import them back: an import cycle)."""
    from gateway.celery import app

    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def enqueue(task: Any, *args: Any) -> None:
    """Run ``task`` (a Celery task, or its registered name) in the background, as the
    current mode says."""
    if isinstance(task, str):
        task = task_named(task)
    current = mode()
    if current == "celery":
        try:
            task.delay(*args)
        except Exception:
            # The broker is down. Whatever the task does is recorded in the database
            # (the outbox), so the periodic sweep will pick it up: log, don't fail.
            logger.exception("Could not enqueue %s; the periodic sweep will retry", task.name)
    elif current == "thread":
        _pool().submit(_run_in_thread, task, args)
    elif current == "sync":
        task.run(*args)


def _seconds(schedule: Any) -> float:
    """Interval entries only (numbers or timedeltas); crontab entries need real beat."""
    return schedule.total_seconds() if hasattr(schedule, "total_seconds") else float(schedule)


class EmbeddedScheduler(threading.Thread):
    """Runs the Celery beat schedule's interval entries in-process (embedded mode)."""

    def __init__(self, schedule: dict[str, dict[str, Any]], tick: float = 1.0) -> None:
        super().__init__(name="gateway-scheduler", daemon=True)
        self.entries = [
            (entry["task"], tuple(entry.get("args", ())), _seconds(entry["schedule"])) for entry in schedule.values()
        ]
        self.tick = tick
        self.stopped = threading.Event()

    def run(self) -> None:
        from gateway.celery import app

        due = {(name, args): 0.0 for name, args, _ in self.entries}
        while not self.stopped.is_set():
            now = time.monotonic()
            for name, args, every in self.entries:
                if now >= due[name, args]:
                    due[name, args] = now + every
                    _pool().submit(_run_in_thread, app.tasks[name], args)
            self.stopped.wait(self.tick)


def start_embedded_scheduler() -> EmbeddedScheduler | None:
    if mode() != "thread":
        return None
    from gateway.celery import app

    app.loader.import_default_modules()
    scheduler = EmbeddedScheduler(app.conf.beat_schedule)
    scheduler.start()
    return scheduler
