"""The retry schedule, kept in the database as ``Delivery.next_attempt_at``.

Never as long Celery countdowns: Redis re-delivers a delayed message after its
visibility timeout, and a restart loses it. The default spans about three days.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings

# Seconds to wait after each failed attempt: 14 retries over ~3 days.
DEFAULT_BACKOFF = (
    10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 43200, 43200, 86400,
)
JITTER = 0.2  # ±20%, so that receivers coming back are not hit by every retry at once


def backoff_schedule() -> tuple[int, ...]:
    return tuple(settings.GATEWAY_DELIVERY_BACKOFF) or DEFAULT_BACKOFF


def next_attempt_at(
    *, failed_attempts: int, now: datetime, retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after ``failed_attempts`` failures; None once the schedule is spent.

    A receiver's ``Retry-After`` is honoured when it asks for longer than the schedule.
    """
    schedule = backoff_schedule()
    if failed_attempts > len(schedule):
        return None
    base = schedule[failed_attempts - 1]
    delay = base * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)
