"""Request and response bodies. Request fields are checked by the forms' own rules: the
address by `addresses.parse_address`, a name by `forms.check_person_name`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from newsletter.addresses import MAX_LENGTH, parse_address
from newsletter.errors import ValidationError
from newsletter.lists import SLUG_PATTERN
from newsletter.web.api.cursors import CURSOR_PATTERN
from newsletter.web.forms import MAX_NAME_LENGTH, check_person_name
from newsletter.webhooks.endpoints import MAX_URL_LENGTH, check_event_types, check_url
from newsletter.webhooks.events import EventType


def _domain(check):
    """A pydantic validator that runs a domain check; its sentence becomes the error."""

    def validator(value):
        try:
            result = check(value)
        except ValidationError as error:
            raise ValueError(str(error)) from error
        return value if result is None else result

    return validator


def _no_nul(value: str) -> str:
    """Text the database can store: PostgreSQL refuses a NUL byte, and UTF-8 a lone surrogate
    (which JSON's \\u escapes can carry)."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _address(value: str) -> str:
    return _domain(parse_address)(_no_nul(value)).email


def _name(value: str) -> str:
    return _domain(check_person_name)(_no_nul(value))


Email = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_LENGTH),
    AfterValidator(_address),
    Field(
        description="An email address; international addresses are welcome",
        json_schema_extra={"format": "email"},
    ),
]
PersonName = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH), AfterValidator(_name)]
Slug = Annotated[str, StringConstraints(pattern=f"^{SLUG_PATTERN.pattern}$", max_length=64)]


def _text(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length)


# Free text the database can store, by longest length (and "Required": not empty).
Text64Required = Annotated[str, _text(64, 1), AfterValidator(_no_nul)]
Text64 = Annotated[str, _text(64), AfterValidator(_no_nul)]
Text200 = Annotated[str, _text(200), AfterValidator(_no_nul)]
Text200Required = Annotated[str, _text(200, 1), AfterValidator(_no_nul)]
Text500 = Annotated[str, _text(500), AfterValidator(_no_nul)]
Text500Required = Annotated[str, _text(500, 1), AfterValidator(_no_nul)]
Text1000 = Annotated[str, _text(1000), AfterValidator(_no_nul)]
Wording = Annotated[str, _text(10_000, 1), AfterValidator(_no_nul)]
AttributeValue = Text1000 | int | float | bool | None


class Strict(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class PageQuery(Strict):
    cursor: Annotated[str, StringConstraints(pattern=CURSOR_PATTERN)] | None = Field(
        default=None, description="The `next_cursor` of the page before; opaque"
    )
    limit: int = Field(default=50, ge=1, le=200)


# Lists


class ListCounts(BaseModel):
    pending: int
    confirmed: int
    unsubscribed: int


class ListOut(BaseModel):
    slug: str
    name: str
    description: str
    public: bool
    double_opt_in: bool
    subscriptions: ListCounts


class ListPage(Page):
    items: list[ListOut]


# Subscribers


class SubscriptionOut(BaseModel):
    list: str
    status: Literal["pending", "confirmed", "unsubscribed"]
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None


class SubscriberOut(BaseModel):
    id: int
    email: str
    name: str
    attributes: dict[str, AttributeValue]
    created_at: datetime
    subscriptions: list[SubscriptionOut]
    suppressed: list[str] = Field(description="Standing suppression reasons, in words")


class SubscriberSummary(BaseModel):
    id: int
    email: str
    name: str
    created_at: datetime


class SubscriberPage(Page):
    items: list[SubscriberSummary]


class SubscriberQuery(PageQuery):
    q: Text200 = Field(default="", description="Part of an address or name")
    list: Slug | None = None
    status: Literal["pending", "confirmed", "unsubscribed"] | None = None
    sort: Literal["newest", "oldest", "address"] = "newest"


class Evidence(Strict):
    """Consent the caller obtained and records: when, how and the words the person saw."""

    consented_at: datetime = Field(description="When the person agreed (ISO 8601)")
    source: Text200Required = Field(
        description="Where they agreed: a page address, an event, a paper form"
    )
    wording: Wording = Field(description="The exact consent text the person saw")
    ip_address: Text64 | None = None


class SubscriberIn(Strict):
    email: Email
    name: PersonName = ""
    lists: list[Slug] = Field(min_length=1, max_length=50)
    wording: Wording | None = Field(
        default=None,
        description="For double opt-in: the consent text your form showed (stored as evidence)",
    )
    evidence: Evidence | None = Field(
        default=None,
        description="Consent already given: confirms at once, never lifting a suppression",
    )

    @model_validator(mode="after")
    def one_way_in(self) -> SubscriberIn:
        if (self.wording is None) == (self.evidence is None):
            raise ValueError(
                "Give `wording` (double opt-in: the person confirms by email) or `evidence` "
                "(consent already given), one of the two"
            )
        return self


class Accepted(BaseModel):
    """The same answer for every address, whatever it holds (no oracle)."""

    status: Literal["accepted"]
    detail: str


class SubscriberUpdate(Strict):
    name: PersonName | None = None
    attributes: dict[Text64Required, AttributeValue] | None = Field(
        default=None, max_length=50, description="Replaces the person's attributes"
    )


class UnsubscribeIn(Strict):
    lists: list[Slug] | None = Field(default=None, description="Leave these lists; omitted: all")


class Left(BaseModel):
    left: list[str]


class Erased(BaseModel):
    erased: bool
    reasons: list[str]


class Export(BaseModel):
    model_config = ConfigDict(extra="allow")


# Suppressions


class SuppressionOut(BaseModel):
    id: int
    created_at: datetime
    reasons: list[str]


class SuppressionPage(Page):
    items: list[SuppressionOut]


class SuppressionIn(Strict):
    emails: list[Email] = Field(min_length=1, max_length=1000)
    note: Text500 = ""


class SuppressionAdded(BaseModel):
    added: int
    already: int


class LiftIn(Strict):
    reason: Text500Required


class Lifted(BaseModel):
    lifted: list[str]


# Issues


class IssueIn(Strict):
    subject: Text500Required
    body_markdown: Annotated[str, _text(500_000), AfterValidator(_no_nul)] = Field(
        description="The body in Markdown, with placeholders such as {{ subscriber.name }}"
    )
    lists: list[Slug] = Field(min_length=1, max_length=50, description="The first is primary")
    preheader: Text500 = ""
    layout: Text64 = "default"


IssueState = Literal["draft", "scheduled", "sending", "paused", "sent", "cancelled"]


class IssueOut(BaseModel):
    id: int
    subject: str
    status: IssueState
    lists: list[str]
    created_at: datetime
    scheduled_at: datetime | None
    started_at: datetime | None


class IssuePreview(BaseModel):
    subject: str
    html: str
    text: str
    size_warning: bool


class ScheduleIn(Strict):
    at: AwareDatetime = Field(description="When to start sending (ISO 8601 with a time zone)")


class IssueStatusOut(BaseModel):
    """As `newsletter issues status ID --json` prints it."""

    id: int
    status: IssueState
    recipients: int
    queued: int
    sending: int
    sent: int
    failed: int
    bounced: int
    skipped: int
    cancelled: int
    unsubscribed_since: int


# Imports


class ImportIn(Strict):
    list: Slug
    file_name: Annotated[str, _text(200, 1), AfterValidator(_no_nul)]
    content_base64: str = Field(description="The file's bytes, base64 (CSV, or a ZIP of one)")
    format: Literal["auto", "csv", "mailchimp", "listmonk", "mailman"] = "auto"
    consent: Literal["keep", "reconfirm"] = "keep"


class ImportStatusOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    status: str
    finished: bool
    rows_done: int
    percent: int
    error: str | None
    dry_run: bool


# Webhooks


def _webhook_url(value: str) -> str:
    return _domain(check_url)(_no_nul(value))


def _event_types(values: list[EventType]) -> list[EventType]:
    # Each once (the admin's boxes cannot repeat one), then the admin's own check and order.
    return _domain(check_event_types)(list(dict.fromkeys(values)))


WebhookUrl = Annotated[
    str,
    AfterValidator(_webhook_url),
    Field(
        description="https:// (http:// only while the site itself is served over http)",
        # Documented, and checked by `endpoints.check_url` so the sentence is the admin's.
        json_schema_extra={"format": "uri", "maxLength": MAX_URL_LENGTH},
    ),
]
DeliveryState = Literal["pending", "delivered", "failed", "dropped", "held"]


class WebhookIn(Strict):
    url: WebhookUrl
    events: Annotated[list[EventType], AfterValidator(_event_types)] = Field(
        description="The event types to send (docs/webhooks.md)",
        json_schema_extra={"minItems": 1},
    )
    description: Text200 = ""


class WebhookOut(BaseModel):
    """An endpoint as the admin's page shows it; never its secret."""

    id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime


class WebhookPage(Page):
    items: list[WebhookOut]


class WebhookMade(WebhookOut):
    secret: str | None = Field(
        description="The signing secret (whsec_…), in this answer only; null when the answer "
        "is replayed for an Idempotency-Key (the secret is shown once)"
    )


class WebhookHeld(WebhookOut):
    held: int = Field(description="Events held for you to replay or discard; never sent unasked")


class DeliveryOut(BaseModel):
    id: int
    event_id: int = Field(description="`webhook-id` is `evt_` and this number")
    event_type: str
    status: DeliveryState
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime = Field(description="When a pending delivery is tried next")
    last_status: int | None = Field(description="The HTTP status of the last answer")
    last_error: str | None


class WebhookDetail(WebhookHeld):
    deliveries: list[DeliveryOut] = Field(description="The newest 50, newest first")


class Replayed(BaseModel):
    replayed: int


class Discarded(BaseModel):
    discarded: int


class Resent(BaseModel):
    delivery_id: int
    status: Literal["pending"]
