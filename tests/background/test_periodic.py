"""The periodic runner: one leader at a time through the database lease, jobs run when due."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from newsletter.background.periodic import (
    LEASE_NAME,
    REGISTRY,
    PeriodicJob,
    PeriodicRunner,
    acquire_lease,
    periodic_job,
    release_lease,
)
from newsletter.extensions import db
from newsletter.models import Lease

INTERVAL = 0.05


class RunLog:
    """A job that records which runner thread ran it."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.runs.append(threading.current_thread().name)

    def by(self, runner: PeriodicRunner) -> int:
        with self.lock:
            return self.runs.count(runner.name)


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def runners(app):
    started: list[PeriodicRunner] = []

    def start(*jobs: PeriodicJob) -> PeriodicRunner:
        # A long lease: a runner slowed down by a busy machine must not lose it mid-test.
        runner = PeriodicRunner(app, interval=INTERVAL, jobs=jobs, lease_ttl=timedelta(seconds=30))
        runner.start()
        started.append(runner)
        return runner

    yield start
    for runner in started:
        runner.stop()


def every_tick(log) -> PeriodicJob:
    return PeriodicJob("tick", timedelta(0), log)


def test_lease_goes_to_one_holder_until_it_lapses(app):
    """A second holder is refused while the lease is live, and gets it once it has expired."""
    assert acquire_lease("test", "a", timedelta(seconds=60))
    assert acquire_lease("test", "a", timedelta(seconds=60)), "the holder renews"
    assert not acquire_lease("test", "b", timedelta(seconds=60))
    db.session.get(Lease, "test").expires_at -= timedelta(seconds=120)
    db.session.commit()
    assert acquire_lease("test", "b", timedelta(seconds=60))
    assert not acquire_lease("test", "a", timedelta(seconds=60))


def test_released_lease_is_free_at_once(app):
    """release_lease lets another holder in without waiting for expiry."""
    assert acquire_lease("test", "a", timedelta(seconds=60))
    release_lease("test", "b")
    assert not acquire_lease("test", "b", timedelta(seconds=60)), "only the holder releases"
    release_lease("test", "a")
    assert acquire_lease("test", "b", timedelta(seconds=60))


def test_two_runners_on_one_database_elect_one_leader(runners):
    """Only one of two runners sharing the database runs the job."""
    log = RunLog()
    first, second = runners(every_tick(log)), runners(every_tick(log))
    wait_until(lambda: len(log.runs) >= 10)
    assert sorted([log.by(first) == 0, log.by(second) == 0]) == [False, True]
    assert first.is_leader != second.is_leader


def test_when_the_leader_stops_the_other_takes_over(runners):
    """Stopping the leader releases the lease; the follower becomes leader and runs jobs."""
    log = RunLog()
    first, second = runners(every_tick(log)), runners(every_tick(log))
    wait_until(lambda: first.is_leader or second.is_leader)
    leader, follower = (first, second) if first.is_leader else (second, first)
    leader.stop()
    taken_over_at = len(log.runs)
    wait_until(lambda: log.by(follower) >= 3)
    assert follower.is_leader
    assert log.by(leader) <= taken_over_at
    db.session.expire_all()
    assert db.session.get(Lease, LEASE_NAME).holder == follower.holder


def test_a_dead_leaders_lease_lapses(app, runners):
    """A leader that vanishes without releasing is replaced after its lease expires."""
    assert acquire_lease(LEASE_NAME, "crashed-host:1:x", timedelta(seconds=3 * INTERVAL))
    log = RunLog()
    runner = runners(every_tick(log))
    wait_until(lambda: log.by(runner) >= 1)
    assert db.session.get(Lease, LEASE_NAME).holder == runner.holder


def test_a_failing_job_is_logged_and_the_runner_goes_on(runners, caplog):
    """An exception in one job neither stops the runner nor the jobs after it."""

    def broken() -> None:
        raise RuntimeError("boom")

    log = RunLog()
    runner = runners(PeriodicJob("broken", timedelta(0), broken), every_tick(log))
    wait_until(lambda: log.by(runner) >= 3)
    assert runner.is_alive()
    assert "periodic job broken failed" in caplog.text


def test_jobs_run_only_when_due(runners):
    """A job due hourly runs once, while an every-tick job keeps running."""
    hourly, often = RunLog(), RunLog()
    runner = runners(PeriodicJob("hourly", timedelta(hours=1), hourly), every_tick(often))
    wait_until(lambda: often.by(runner) >= 5)
    assert hourly.by(runner) == 1
    assert "hourly" in runner.last_run


def test_jobs_run_inside_the_app_context(app, runners):
    """A job can use the database as views do."""
    seen: list[int] = []

    def count_leases() -> None:
        seen.append(db.session.query(Lease).count())

    runners(PeriodicJob("count", timedelta(0), count_leases))
    wait_until(lambda: len(seen) >= 1)
    assert seen[0] == 1


def test_decorator_registers_a_job():
    """@periodic_job adds the function to the registry that runners read by default."""
    try:

        @periodic_job("test-registered", every=timedelta(minutes=5))
        def job() -> None:
            pass

        assert REGISTRY["test-registered"] == PeriodicJob(
            "test-registered", timedelta(minutes=5), job
        )
    finally:
        REGISTRY.pop("test-registered", None)
