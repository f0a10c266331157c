"""SEND_RATE: evenly spaced sends across threads, processes and machines."""

import threading
import time

import redis

from newsletter.delivery.pacing import REDIS_KEY, LocalPacer, NoPacing, RedisPacer, pacer_for


def grant_times(pacers, per_pacer: int, monkeypatch) -> list[float]:
    """Start one thread per pacer, each waiting `per_pacer` times; the times of the grants.

    A grant's time is the moment the pacer let the thread go: the end of the sleep it asked
    for, or, when it asked for none, the call. Not when the thread next ran: on a busy machine
    threads woken apart are often run together, which says nothing of the pacer.
    """
    times, lock = [], threading.Lock()
    asked = threading.local()
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        asked.until = time.monotonic() + seconds
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)

    def run(pacer):
        for _ in range(per_pacer):
            asked.until = None
            called = time.monotonic()
            pacer.wait()
            with lock:
                times.append(asked.until if asked.until is not None else called)

    threads = [threading.Thread(target=run, args=(p,)) for p in pacers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(times)


def assert_smooth(times: list[float], rate: float) -> None:
    """The whole run takes as long as the rate says, with no burst above it."""
    assert times[-1] - times[0] >= (len(times) - 1) / rate * 0.9
    window = 0.1
    busiest = max(sum(1 for t in times if start <= t < start + window) for start in times)
    assert busiest <= rate * window + 2


def test_local_pacer_spaces_sends_across_threads(monkeypatch):
    """Three threads of one process share 100 a second."""
    pacer = LocalPacer(100)
    assert_smooth(grant_times([pacer] * 3, 10, monkeypatch), 100)


def test_redis_pacer_shares_the_rate_between_processes(redis_url, monkeypatch):
    """Two pacers (as in two processes) on one Redis share 100 a second between them."""
    redis.Redis.from_url(redis_url).delete(REDIS_KEY)
    pacers = [RedisPacer(redis_url, 100), RedisPacer(redis_url, 100)]
    assert_smooth(grant_times(pacers, 15, monkeypatch), 100)


def test_pacer_for_follows_the_configuration(app, redis_url):
    """No SEND_RATE: no pacing; with REDIS_URL: Redis-backed; else in-process."""
    assert isinstance(pacer_for(app), NoPacing)
    app.config["SEND_RATE"] = 50
    assert isinstance(pacer_for(app), LocalPacer)
    app.config["REDIS_URL"] = redis_url
    assert isinstance(pacer_for(app), RedisPacer)
