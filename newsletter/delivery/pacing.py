"""SEND_RATE: at most that many messages a second across every worker, evenly spaced.

Both pacers are a GCRA (a token bucket of depth one): each message reserves the next free
slot, `1 / SEND_RATE` seconds after the previous one, and waits for it. With REDIS_URL the
slot time lives in Redis and one Lua script reserves it, so every thread of every worker
process on every machine shares the one rate; without Redis a lock shares it among this
process's threads. Reserving slots one at a time keeps the flow smooth rather than bursty.
"""

from __future__ import annotations

import functools
import threading
import time

import redis
from flask import Flask

REDIS_KEY = "newsletter:send-rate:tat"

# Returns the microseconds the caller must wait for the slot it reserved.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local ttl = math.ceil((tat + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', ttl)
return tat - now
"""


class LocalPacer:
    """Paces the threads of this process."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class RedisPacer:
    """Paces every process that shares the Redis server."""

    def __init__(self, url: str, rate: float) -> None:
        self.interval_us = max(1, int(1_000_000 / rate))
        self._client = redis.Redis.from_url(url)
        self._reserve = self._client.register_script(_RESERVE)

    def wait(self) -> None:
        delay_us = int(self._reserve(keys=[REDIS_KEY], args=[self.interval_us]))
        if delay_us > 0:
            time.sleep(delay_us / 1_000_000)


class NoPacing:
    def wait(self) -> None:
        return None


@functools.cache
def _local(rate: float) -> LocalPacer:
    return LocalPacer(rate)


@functools.cache
def _shared(url: str, rate: float) -> RedisPacer:
    return RedisPacer(url, rate)


def pacer_for(app: Flask) -> LocalPacer | RedisPacer | NoPacing:
    """The pacer SEND_RATE asks for: none when 0, Redis-backed with REDIS_URL."""
    rate = float(app.config.get("SEND_RATE") or 0)
    if rate <= 0:
        return NoPacing()
    if app.config.get("REDIS_URL"):
        return _shared(app.config["REDIS_URL"], rate)
    return _local(rate)
