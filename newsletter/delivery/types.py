"""The delivery engine's vocabulary: its tables, row states, and what a batch passes around.

Every other module of the package imports these and nothing else of each other's to talk:
a claimed `Recipient` goes in, an `Outcome` per row comes out, and a `BatchResult` says how
the batch ended, including a pause it asks for (`pause_reason`), which the caller carries out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from newsletter.models import Delivery, DeliveryStatus, Issue, IssueStatus

DELIVERY = Delivery.__table__
ISSUE = Issue.__table__

# A row in one of these states is done with; the others (queued, sending) are still to go.
FINAL_STATUSES = (
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.BOUNCED,
    DeliveryStatus.SKIPPED,
    DeliveryStatus.CANCELLED,
)
OPEN_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


@dataclass(frozen=True)
class BatchScope:
    """Which rows a batch works on, and as whom.

    `owner` names this run of the batch in `claimed_by`: only its outcomes move the rows and
    only its heartbeat renews them. A reconfirmation goes to people still pending on the
    issue's list; an issue to people confirmed on one of its lists.
    """

    issue_id: int
    first_id: int
    last_id: int
    owner: str
    list_ids: list[int]
    reconfirmation: bool


@dataclass
class Recipient:
    """A claimed row, with the person it is for, or the reason it is skipped."""

    delivery_id: int
    email: str
    attempts: int
    subscriber_id: int | None = None
    name: str = ""
    token: str = ""
    email_key: str = ""
    skip_reason: str | None = None


class Person(NamedTuple):
    """A claimed row's subscriber as the claim finds them."""

    id: int
    name: str | None
    unsubscribe_token: str
    email_key: str
    # Still confirmed (pending, for a reconfirmation) on one of the issue's lists.
    wanted: bool


@dataclass(frozen=True)
class Claim:
    """What one claim returns: its rows, or the issue's status if it is no longer sending."""

    recipients: list[Recipient]
    stopped: IssueStatus | None = None


@dataclass
class Outcome:
    """What became of one claimed row."""

    delivery_id: int
    status: DeliveryStatus
    error: str | None = None
    next_attempt_at: datetime | None = None
    # Claimed but never tried (a pause): give the attempt back.
    untried: bool = False


@dataclass
class BatchResult:
    """How a batch ended: `stopped` names the issue status that stopped it, if any.

    `stopped` is `sending` when the batch lost its claim (see heartbeat.py); `retry_at` is then
    now, so the actor enqueues the range again at once. `pause_reason` is set when the batch
    wants its issue paused (the relay keeps failing, or the message cannot be built); the
    caller (control.run_batch) pauses it.
    """

    sent: int = 0
    stopped: IssueStatus | None = None
    retry_at: datetime | None = None
    pause_reason: str | None = None
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    """Counts of an issue's rows by state (what `issues status --json` prints)."""

    id: int
    status: str
    recipients: int
    counts: dict[str, int]
    unsubscribed_since: int

    @property
    def final(self) -> int:
        return sum(self.counts[s.value] for s in FINAL_STATUSES)

    @property
    def open(self) -> int:
        return sum(self.counts[s.value] for s in OPEN_STATUSES)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "recipients": self.recipients,
            **self.counts,
            "unsubscribed_since": self.unsubscribed_since,
        }
