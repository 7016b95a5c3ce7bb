"""The retry schedule (CONTRACT §5): exponential steps with ±20 % jitter over about three
days, ``Retry-After`` honoured when longer, and ``GATEWAY_DELIVERY_BACKOFF`` to override."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gateway.delivery.schedule import DEFAULT_BACKOFF, JITTER, backoff_schedule, next_attempt_at

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAY = 86400


def delay(when: datetime | None) -> float:
    assert when is not None
    return (when - NOW).total_seconds()


@pytest.fixture(autouse=True)
def default_schedule(settings):
    settings.GATEWAY_DELIVERY_BACKOFF = []  # whatever the environment says


def test_the_default_schedule_spans_about_three_days():
    assert backoff_schedule() == DEFAULT_BACKOFF
    assert 2.5 * DAY <= sum(DEFAULT_BACKOFF) <= 3.5 * DAY
    assert list(DEFAULT_BACKOFF) == sorted(DEFAULT_BACKOFF)  # never shorter than the last wait
    assert DEFAULT_BACKOFF[0] <= 30  # a blip is retried within seconds
    assert JITTER == 0.2


def test_every_step_is_jittered_within_twenty_percent():
    rng = random.Random(1234)
    for attempt, base in enumerate(DEFAULT_BACKOFF, start=1):
        delays = [delay(next_attempt_at(failed_attempts=attempt, now=NOW, rng=rng)) for _ in range(200)]
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays), (attempt, min(delays), max(delays))
        # Spread out, not a constant: receivers coming back are not hit all at once.
        assert min(delays) < base * 0.9 and max(delays) > base * 1.1


def test_a_seeded_generator_gives_the_same_schedule():
    first = [next_attempt_at(failed_attempts=n, now=NOW, rng=random.Random(7)) for n in (1, 5, 14)]
    again = [next_attempt_at(failed_attempts=n, now=NOW, rng=random.Random(7)) for n in (1, 5, 14)]
    assert first == again
    expected = DEFAULT_BACKOFF[0] * random.Random(7).uniform(0.8, 1.2)
    assert delay(first[0]) == pytest.approx(expected)


def test_the_whole_schedule_with_jitter_stays_near_three_days():
    rng = random.Random(99)
    total = sum(delay(next_attempt_at(failed_attempts=n, now=NOW, rng=rng)) for n in range(1, len(DEFAULT_BACKOFF) + 1))
    assert 0.8 * sum(DEFAULT_BACKOFF) <= total <= 1.2 * sum(DEFAULT_BACKOFF)
    assert 2 * DAY < total < 4 * DAY


def test_a_longer_retry_after_wins():
    rng = random.Random(3)
    # The first step is 10 s ± 20 %; the receiver asks for two minutes.
    assert delay(next_attempt_at(failed_attempts=1, now=NOW, retry_after=120, rng=rng)) == 120
    # A fractional Retry-After is kept as given.
    assert delay(next_attempt_at(failed_attempts=1, now=NOW, retry_after=30.5, rng=rng)) == 30.5


def test_a_shorter_retry_after_does_not_shorten_the_step():
    rng = random.Random(3)
    base = DEFAULT_BACKOFF[4]  # 900 s
    for _ in range(50):
        d = delay(next_attempt_at(failed_attempts=5, now=NOW, retry_after=5, rng=rng))
        assert base * 0.8 <= d <= base * 1.2
    d = delay(next_attempt_at(failed_attempts=5, now=NOW, retry_after=0, rng=rng))
    assert d >= base * 0.8


def test_none_once_the_schedule_is_spent():
    last = len(DEFAULT_BACKOFF)
    assert next_attempt_at(failed_attempts=last, now=NOW) is not None
    assert delay(next_attempt_at(failed_attempts=last, now=NOW, rng=random.Random(0))) >= 0.8 * DEFAULT_BACKOFF[-1]
    assert next_attempt_at(failed_attempts=last + 1, now=NOW) is None
    assert next_attempt_at(failed_attempts=last + 1, now=NOW, retry_after=60) is None
    assert next_attempt_at(failed_attempts=100, now=NOW) is None


def test_the_setting_overrides_the_schedule(settings):
    settings.GATEWAY_DELIVERY_BACKOFF = [1, 2, 4]
    assert backoff_schedule() == (1, 2, 4)
    rng = random.Random(5)
    for attempt, base in enumerate([1, 2, 4], start=1):
        d = delay(next_attempt_at(failed_attempts=attempt, now=NOW, rng=rng))
        assert base * 0.8 <= d <= base * 1.2
    assert next_attempt_at(failed_attempts=4, now=NOW) is None
    # Retry-After still wins over a short step.
    assert delay(next_attempt_at(failed_attempts=1, now=NOW, retry_after=10, rng=rng)) == 10


def test_a_zero_step_retries_at_once(settings):
    settings.GATEWAY_DELIVERY_BACKOFF = [0]
    assert next_attempt_at(failed_attempts=1, now=NOW) == NOW
    assert next_attempt_at(failed_attempts=2, now=NOW) is None


def test_an_empty_setting_means_the_default(settings):
    settings.GATEWAY_DELIVERY_BACKOFF = []
    assert backoff_schedule() == DEFAULT_BACKOFF
    when = next_attempt_at(failed_attempts=1, now=NOW, rng=random.Random(1))
    assert NOW + timedelta(seconds=8) <= when <= NOW + timedelta(seconds=12)
