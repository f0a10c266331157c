"""The event types an endpoint may want, and the words the admin shows for each."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    SUBSCRIBER_REQUESTED = "subscriber.requested"
    SUBSCRIBER_CONFIRMED = "subscriber.confirmed"
    SUBSCRIBER_UNSUBSCRIBED = "subscriber.unsubscribed"
    SUBSCRIBER_SUPPRESSED = "subscriber.suppressed"
    SUBSCRIBER_ERASED = "subscriber.erased"
    ISSUE_SENT = "issue.sent"
    BOUNCE_RECEIVED = "bounce.received"
    IMPORT_FINISHED = "import.finished"


DESCRIPTIONS: dict[EventType, str] = {
    EventType.SUBSCRIBER_REQUESTED: "Someone asked to subscribe",
    EventType.SUBSCRIBER_CONFIRMED: "A subscription was confirmed",
    EventType.SUBSCRIBER_UNSUBSCRIBED: "Someone left a list",
    EventType.SUBSCRIBER_SUPPRESSED: "An address was suppressed",
    EventType.SUBSCRIBER_ERASED: "A person was erased",
    EventType.ISSUE_SENT: "An issue finished sending",
    EventType.BOUNCE_RECEIVED: "A bounce or complaint arrived",
    EventType.IMPORT_FINISHED: "An import finished",
}
