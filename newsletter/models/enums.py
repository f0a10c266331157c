"""The project's vocabulary of states, one enum per kind, the same in code, database and JSON."""

from enum import StrEnum

import sqlalchemy as sa


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class OptInLevel(StrEnum):
    SINGLE = "single"
    CONFIRMED = "confirmed"
    UNKNOWN = "unknown"


class ConsentMethod(StrEnum):
    FORM = "form"
    CONFIRM_LINK = "confirm_link"
    ONE_CLICK = "one_click"
    UNSUBSCRIBE_PAGE = "unsubscribe_page"
    PREFERENCES = "preferences"
    ADMIN = "admin"
    IMPORT = "import"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"


class ConsentAction(StrEnum):
    """What a consent event records; the method says how it happened."""

    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    IMPORTED = "imported"
    UNSUBSCRIBED = "unsubscribed"
    RESUBSCRIBED = "resubscribed"
    PREFERENCES_CHANGED = "preferences_changed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    SUPPRESSION_LIFTED = "suppression_lifted"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class IssueStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"


class IssueKind(StrEnum):
    """What an issue carries: a newsletter, an import's requests to confirm again, or a list's
    welcome message (sent to each person once, when their subscription is confirmed)."""

    ISSUE = "issue"
    RECONFIRMATION = "reconfirmation"
    WELCOME = "welcome"


class WebhookDeliveryStatus(StrEnum):
    """One event's delivery to one endpoint (newsletter/webhooks/)."""

    PENDING = "pending"  # due at next_attempt_at (claimed while claimed_until is ahead)
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # given up after WEBHOOK_RETRY_HOURS, or by an admin's choice
    DROPPED = "dropped"  # the person was erased, or an admin discarded the backlog
    HELD = "held"  # backlog of a re-enabled endpoint, waiting for an admin to replay it


class SuppressionReason(StrEnum):
    LEFT_ALL = "left_all"
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCES = "soft_bounces"
    COMPLAINT = "complaint"
    ERASED = "erased"
    IMPORTED_UNSUBSCRIBED = "imported_unsubscribed"
    IMPORTED_CLEANED = "imported_cleaned"
    IMPORTED_BLOCKLISTED = "imported_blocklisted"
    MANUAL = "manual"


# Reasons the person can lift themselves by confirming a sign-up or rejoining (invariant 4 in
# docs/architecture.md).
SELF_LIFTABLE_REASONS = frozenset(
    {
        SuppressionReason.LEFT_ALL,
        SuppressionReason.ERASED,
        SuppressionReason.IMPORTED_UNSUBSCRIBED,
    }
)


class AccountRole(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"


def enum_column(enum_cls: type[StrEnum]) -> sa.Enum:
    """A portable VARCHAR column holding the enum's values, checked by a named constraint."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=32,
        name=enum_cls.__name__.lower(),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
