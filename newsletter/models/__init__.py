"""The data model; importing this package registers every table on db.metadata."""

from newsletter.models.accounts import Account, AllowedTestAddress, AuditEvent
from newsletter.models.api import ApiIdempotencyKey, ApiToken
from newsletter.models.bounces import Bounce, BounceKind, IssueDeliveryCount
from newsletter.models.consent import AppendOnlyError, ConsentEvent, ConsentWording, EmbedWording
from newsletter.models.enums import (
    AccountRole,
    ConsentAction,
    ConsentMethod,
    DeliveryStatus,
    IssueKind,
    IssueStatus,
    OptInLevel,
    SubscriptionStatus,
    SuppressionReason,
    WebhookDeliveryStatus,
)
from newsletter.models.imports import (
    ConsentMode,
    ImportFile,
    ImportJob,
    ImportReject,
    ImportStatus,
)
from newsletter.models.issues import Delivery, Issue, IssueList
from newsletter.models.lists import MailingList
from newsletter.models.settings import OrganisationSettings
from newsletter.models.subscribers import Subscriber, Subscription
from newsletter.models.suppression import SuppressionEntry, SuppressionEntryReason
from newsletter.models.system import AppSetting, Lease, OutboxMessage
from newsletter.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "Account",
    "AccountRole",
    "ApiIdempotencyKey",
    "ApiToken",
    "AllowedTestAddress",
    "AppSetting",
    "AppendOnlyError",
    "AuditEvent",
    "Bounce",
    "BounceKind",
    "ConsentAction",
    "ConsentEvent",
    "ConsentMode",
    "ConsentMethod",
    "ConsentWording",
    "Delivery",
    "EmbedWording",
    "DeliveryStatus",
    "ImportFile",
    "ImportJob",
    "ImportReject",
    "ImportStatus",
    "Issue",
    "IssueDeliveryCount",
    "IssueKind",
    "IssueList",
    "IssueStatus",
    "Lease",
    "MailingList",
    "OptInLevel",
    "OrganisationSettings",
    "OutboxMessage",
    "Subscriber",
    "Subscription",
    "SubscriptionStatus",
    "SuppressionEntry",
    "SuppressionEntryReason",
    "SuppressionReason",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
    "WebhookEvent",
]
