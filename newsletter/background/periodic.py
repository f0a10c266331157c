"""The periodic runner: `serve` and every worker process run one, and a lease picks the leader,
so periodic work has one home however many processes run.

Jobs register with `@periodic_job("name", every=timedelta(...))`. Each runner wakes every
`interval` seconds, takes or renews the "periodic" lease with one conditional UPDATE (or an
INSERT when no row exists), and only the holder runs the jobs that are due. A lease lapses after
three intervals, so a leader that dies hands over within seconds. Clocks of the processes must
agree to well within that; jobs must be idempotent, as a stalled leader may overlap its successor.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError

from newsletter.extensions import db
from newsletter.models import Lease
from newsletter.models.base import utcnow

logger = logging.getLogger(__name__)

LEASE_NAME = "periodic"
# Modules that declare product jobs; imported when a runner starts.
JOB_MODULES: tuple[str, ...] = ("newsletter.background.housekeeping",)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    func: Callable[[], object]


REGISTRY: dict[str, PeriodicJob] = {}


def periodic_job(name: str, every: timedelta) -> Callable:
    """Register the decorated function to run (in an app context) once every `every`."""

    def register(func: Callable[[], object]) -> Callable[[], object]:
        REGISTRY[name] = PeriodicJob(name, every, func)
        return func

    return register


def new_holder_id() -> str:
    """hostname:pid:random, unique to one runner."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[:128]


def acquire_lease(name: str, holder: str, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `holder`; True when `holder` now holds it."""
    now = utcnow()
    lease = Lease.__table__
    with db.engine.begin() as connection:
        renewed = connection.execute(
            sa.update(lease)
            .where(lease.c.name == name)
            .where(sa.or_(lease.c.holder == holder, lease.c.expires_at < now))
            .values(holder=holder, expires_at=now + ttl)
        )
        if renewed.rowcount == 1:
            return True
    try:
        with db.engine.begin() as connection:
            connection.execute(
                sa.insert(lease).values(name=name, holder=holder, expires_at=now + ttl)
            )
    except IntegrityError:
        # Someone else holds the lease (or took it between our UPDATE and INSERT).
        return False
    return True


def release_lease(name: str, holder: str) -> None:
    """Give the lease up at once, so that another runner need not wait for it to lapse."""
    lease = Lease.__table__
    with db.engine.begin() as connection:
        connection.execute(
            sa.delete(lease).where(lease.c.name == name).where(lease.c.holder == holder)
        )


class PeriodicRunner(threading.Thread):
    """A daemon thread that runs due periodic jobs while it holds the lease."""

    def __init__(
        self,
        app: Flask,
        interval: float | None = None,
        jobs: Iterable[PeriodicJob] | None = None,
        lease_ttl: timedelta | None = None,
    ) -> None:
        self.holder = new_holder_id()
        super().__init__(name=f"periodic-runner-{self.holder}", daemon=True)
        self.app = app
        self.interval = float(interval or app.config.get("PERIODIC_INTERVAL", 15.0))
        self.lease_ttl = lease_ttl or timedelta(seconds=3 * self.interval)
        self._jobs = list(jobs) if jobs is not None else None
        self.last_run: dict[str, datetime] = {}
        self.is_leader = False
        self._stopping = threading.Event()

    @property
    def jobs(self) -> list[PeriodicJob]:
        return self._jobs if self._jobs is not None else list(REGISTRY.values())

    def run(self) -> None:
        for module in JOB_MODULES:
            importlib.import_module(module)
        while not self._stopping.is_set():
            self.tick()
            self._stopping.wait(self.interval)

    def tick(self) -> None:
        """One round: hold the lease, then run what is due."""
        with self.app.app_context():
            try:
                self.is_leader = acquire_lease(LEASE_NAME, self.holder, self.lease_ttl)
            except sa.exc.SQLAlchemyError:
                logger.exception("periodic runner could not reach the database")
                self.is_leader = False
            if self.is_leader:
                self._run_due_jobs()

    def _run_due_jobs(self) -> None:
        for job in self.jobs:
            if self._stopping.is_set():
                return
            last = self.last_run.get(job.name)
            if last is not None and utcnow() - last < job.every:
                continue
            self.last_run[job.name] = utcnow()
            try:
                job.func()
            except Exception:
                # One failing job must not stop the others, nor the runner.
                logger.exception("periodic job %s failed", job.name)
                db.session.rollback()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and give up the lease."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)
        if self.is_leader:
            with self.app.app_context():
                try:
                    release_lease(LEASE_NAME, self.holder)
                except sa.exc.SQLAlchemyError:
                    logger.warning("periodic runner could not release its lease")
            self.is_leader = False
