"""/api/v1/webhooks: register endpoints, follow their deliveries, disable, enable, replay or
discard the held backlog and resend one event, through the functions the admin's pages call.

Admins only, as the pages are: an endpoint's URL may name an internal address, and its
deliveries tell it about every person (newsletter/webhooks/endpoints.py). Changes need the
`webhooks` scope, so a token given `subscribers` for a sign-up form cannot point events at a
URL of its choosing.
"""

from __future__ import annotations

from flask import request

from newsletter.errors import ValidationError
from newsletter.models import WebhookEndpoint
from newsletter.web.api.auth import Needs, current_account
from newsletter.web.api.blueprint import bp
from newsletter.web.api.operations import operation
from newsletter.web.api.problems import fail
from newsletter.web.api.schemas import (
    Discarded,
    Replayed,
    Resent,
    WebhookDetail,
    WebhookHeld,
    WebhookIn,
    WebhookMade,
    WebhookOut,
    WebhookPage,
)
from newsletter.web.forms import sentence
from newsletter.webhooks import endpoints

TAGS = ("webhooks",)


def endpoint_body(endpoint: WebhookEndpoint) -> dict:
    """The endpoint without its secret, which only the answer that made it shows."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.wanted,
        "enabled": endpoint.enabled,
        "disabled_at": endpoint.disabled_at,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
    }


def _held_body(endpoint: WebhookEndpoint) -> dict:
    return {**endpoint_body(endpoint), "held": endpoints.held_count(endpoint.id)}


@bp.get("/webhooks")
@operation("read", Needs.ADMIN, ok=("HTTP_200", WebhookPage), tags=TAGS, not_found=False)
def api_webhooks():
    """Every endpoint, oldest first (one page: endpoints are few)."""
    return {"items": [endpoint_body(e) for e in endpoints.list_endpoints()], "next_cursor": None}


@bp.post("/webhooks")
@operation(
    "webhooks", Needs.ADMIN, ok=("HTTP_201", WebhookMade), json=WebhookIn, tags=TAGS,
    not_found=False, shown_once=("secret",),
)  # fmt: skip
def api_create_webhook():
    """Register an endpoint (enabled); the answer shows its signing secret, this once."""
    body: WebhookIn = request.context.json  # type: ignore[attr-defined]
    made = endpoints.create(body.url, list(body.events), body.description, current_account())
    body_out = {**endpoint_body(made.endpoint), "secret": made.secret}
    # As the admin's page that shows the secret: kept by no cache on the way.
    return body_out, 201, {"Cache-Control": "no-store"}


@bp.get("/webhooks/<int:endpoint_id>")
@operation("read", Needs.ADMIN, ok=("HTTP_200", WebhookDetail), tags=TAGS)
def api_webhook(endpoint_id: int):
    """One endpoint, how many events it holds, and its newest 50 deliveries with their status."""
    endpoint = endpoints.get_endpoint(endpoint_id)
    deliveries = [
        {**vars(line), "status": line.status.value}
        for line in endpoints.recent_deliveries(endpoint.id)
    ]
    return {**_held_body(endpoint), "deliveries": deliveries}


@bp.post("/webhooks/<int:endpoint_id>/disable")
@operation("webhooks", Needs.ADMIN, ok=("HTTP_200", WebhookOut), tags=TAGS)
def api_disable_webhook(endpoint_id: int):
    """Stop sending to the endpoint; its events are still written and kept for it."""
    endpoints.disable(endpoint_id, current_account())
    return endpoint_body(endpoints.get_endpoint(endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/enable")
@operation("webhooks", Needs.ADMIN, ok=("HTTP_200", WebhookHeld), tags=TAGS)
def api_enable_webhook(endpoint_id: int):
    """Send new events to the endpoint again. What it missed is held, never sent unasked:
    `held` says how many, for a replay or a discard."""
    endpoints.enable(endpoint_id, current_account())
    return _held_body(endpoints.get_endpoint(endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/replay")
@operation("webhooks", Needs.ADMIN, ok=("HTTP_202", Replayed), tags=TAGS)
def api_replay_webhook(endpoint_id: int):
    """Send the held events, oldest first, with a fresh day of retries."""
    return {"replayed": endpoints.replay(endpoint_id, current_account())}, 202


@bp.post("/webhooks/<int:endpoint_id>/discard")
@operation("webhooks", Needs.ADMIN, ok=("HTTP_200", Discarded), tags=TAGS)
def api_discard_webhook_backlog(endpoint_id: int):
    """Drop the held events for good."""
    return {"discarded": endpoints.discard_backlog(endpoint_id, current_account())}


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@operation("webhooks", Needs.ADMIN, ok=("HTTP_202", Resent), tags=TAGS, conflict=True)
def api_resend_webhook_delivery(endpoint_id: int, delivery_id: int):
    """Send one event to the endpoint again, at once, with the same webhook-id."""
    try:
        endpoints.resend(endpoint_id, delivery_id, current_account())
    except ValidationError as error:
        # The delivery's state forbids it (a dropped event): the admin's sentence, as a 409.
        fail(409, sentence(error))
    return {"delivery_id": delivery_id, "status": "pending"}, 202
