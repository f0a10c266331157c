"""A batch's heartbeat: the proof that a batch holding claimed rows is still alive.

The sweep frees rows left in `sending` longer than SEND_CLAIM_TIMEOUT. A live batch keeps its
rows out of that reach with a small thread that renews `claimed_at` of the rows it holds
(`claimed_by` is the batch) every sixth of the timeout, however long one SMTP transaction, a
slow relay or a pacer's wait takes; a dead worker's rows stop being renewed and are freed one
timeout later. So the timeout can be short without a slow batch ever losing its rows.

The batch also knows when its claim may have lapsed, and stops before the next message rather
than send a row another batch may have claimed again: the claim holds for two thirds of the
timeout from the start of the last renewal that committed in time (the last third allows for a
message in flight and for the clocks of the machines, which must agree to within a few
seconds). A renewal that commits after the claim lapsed restores nothing: the batch stops.

A worker that is alive but wedged (stuck in a call that never returns) must not hold its rows
for ever: the heartbeat renews only while the batch has recorded a step (an outcome) within
WEDGED_SECONDS. SMTP calls are bounded by the transport's socket timeout (30 s an
operation), so an honest batch takes a step far more often than that.
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa

from newsletter.delivery.types import DELIVERY, BatchScope
from newsletter.models import DeliveryStatus
from newsletter.models.base import utcnow

logger = logging.getLogger(__name__)

# Renewals per timeout: five may be missed or slow before the claim lapses.
BEATS_PER_TIMEOUT = 6
# The part of the timeout a batch may use; the rest covers a message in flight and clock skew.
LEASE_SHARE = 2 / 3
WEDGED_SECONDS = 600.0


class ClaimHeartbeat:
    """Renews the `sending` rows a batch holds (its scope's owner and range), from a thread.

    It writes through the pool, one short transaction a renewal, on either database: it runs
    beside the batch's own store, never on its connection.
    """

    def __init__(self, engine: sa.Engine, scope: BatchScope, *, timeout: float) -> None:
        self.engine = engine
        self.interval = timeout / BEATS_PER_TIMEOUT
        self.lease = timeout * LEASE_SHARE
        self.renewal = (
            sa.update(DELIVERY)
            .where(
                DELIVERY.c.issue_id == scope.issue_id,
                DELIVERY.c.id.between(scope.first_id, scope.last_id),
                DELIVERY.c.status == DeliveryStatus.SENDING,
                DELIVERY.c.claimed_by == scope.owner,
            )
            .values(claimed_at=sa.bindparam("now", type_=DELIVERY.c.claimed_at.type))
        )
        self.issue_id = scope.issue_id
        # Written by one thread, read by the other: plain floats, atomic to assign.
        self.holds_until = time.monotonic() + self.lease
        self.last_step = time.monotonic()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start renewing; every row the batch claims from now on is covered."""
        now = time.monotonic()
        self.holds_until = now + self.lease
        self.last_step = now
        self._thread = threading.Thread(target=self._beat, name="claim-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (the batch has written its outcomes, or died trying)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 30)

    def step(self) -> bool:
        """Note that the batch moved on; False once its claim may have lapsed."""
        self.last_step = now = time.monotonic()
        return now < self.holds_until

    def _beat(self) -> None:
        while not self._stopping.wait(self.interval):
            if time.monotonic() - self.last_step > WEDGED_SECONDS:
                # Let the claim lapse: the sweep frees the rows and the batch, if it ever
                # wakes, stops at its next step.
                continue
            self.renew()

    def renew(self) -> None:
        """One renewal; the claim is extended only if it had not lapsed when it committed."""
        started = time.monotonic()
        try:
            with self.engine.begin() as connection:
                connection.execute(self.renewal, {"now": utcnow()})
        except sa.exc.SQLAlchemyError as error:
            # The next beat tries again; the claim lapses if none succeeds in time.
            logger.warning(
                "claim heartbeat of issue %s failed: %s", self.issue_id, type(error).__name__
            )
            return
        if time.monotonic() < self.holds_until:
            self.holds_until = started + self.lease
