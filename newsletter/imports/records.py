"""The common shape every format's rows are turned into before they are applied."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from newsletter.models import SuppressionReason


class RowKind(StrEnum):
    """What the old provider said about the person."""

    MEMBER = "member"  # subscribed there: import them
    UNSUBSCRIBED = "unsubscribed"  # left: suppress, never subscribe
    CLEANED = "cleaned"  # Mailchimp removed the address after bounces
    BLOCKLISTED = "blocklisted"  # listmonk's blocklist


LEAVER_REASONS = {
    RowKind.UNSUBSCRIBED: SuppressionReason.IMPORTED_UNSUBSCRIBED,
    RowKind.CLEANED: SuppressionReason.IMPORTED_CLEANED,
    RowKind.BLOCKLISTED: SuppressionReason.IMPORTED_BLOCKLISTED,
}


@dataclass(slots=True)
class ImportRecord:
    line: int  # first line of the row in its file (1 = the first line)
    file: str
    email: str  # the raw address cell, as given
    kind: RowKind = RowKind.MEMBER
    name: str = ""
    attributes: dict = field(default_factory=dict)
    # Consent evidence columns exactly as given (OPTIN_TIME, OPTIN_IP, CONFIRM_TIME, CONFIRM_IP).
    evidence: dict = field(default_factory=dict)
    # The old system's own identifiers of the person (Mailchimp LEID/EUID, listmonk uuid).
    source_ids: dict = field(default_factory=dict)
    opted_in_at: datetime | None = None
    confirmed_at: datetime | None = None
    left_at: datetime | None = None
    note: str = ""  # why they left, as the old system recorded it
    # A reason to refuse the row found while reading it (bad JSON, a status we do not import).
    problem: str | None = None

    @property
    def is_leaver(self) -> bool:
        return self.kind is not RowKind.MEMBER


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_time(value: str | None) -> datetime | None:
    """An export's timestamp as aware UTC; naive ones are UTC (as Mailchimp's are); else None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)  # Mailchimp's "2019-03-04 10:22:11", at once
    except ValueError:
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text, count=1))
        except ValueError:
            return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def join_name(first: str, last: str) -> str:
    """First and last name (either may be blank) as one display name."""
    name = f"{first} {last}" if first and last else first or last
    return name[:200]
