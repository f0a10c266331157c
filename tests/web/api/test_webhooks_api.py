"""Webhook endpoints through the API: registered by an admin's token, the secret shown once,
events delivered signed to a real receiver, disable, enable (the backlog held, never sent
unasked), replay, discard and resend, each audited under the token's account."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import AuditEvent, WebhookEndpoint
from tests.factories import pending_person
from tests.support.webhook_receiver import WebhookReceiver
from tests.web.api.conftest import Api
from tests.webhooks.conftest import deliver, deliveries

EVERY_EVENT = [
    "subscriber.requested",
    "subscriber.confirmed",
    "subscriber.unsubscribed",
    "subscriber.suppressed",
    "subscriber.erased",
    "issue.sent",
    "bounce.received",
    "import.finished",
]


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def made(api, receiver, stub_broker) -> dict:
    """An endpoint registered through the API at the receiver, wanting sign-ups."""
    response = api.post("/webhooks", json={"url": receiver.url, "events": ["subscriber.requested"],
                                           "description": "CRM"})  # fmt: skip
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json(force=True)


def _audited(action: str, account) -> list[AuditEvent]:
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
    assert events and all(event.account_id == account.id for event in events)
    return events


def test_an_endpoint_made_through_the_api_gets_signed_events(
    api, made, receiver, news, admin_account
):
    """The answer's secret verifies the signature of the event the receiver gets."""
    assert made["secret"].startswith("whsec_")
    assert made["url"] == receiver.url and made["events"] == ["subscriber.requested"]
    assert made["enabled"] is True and made["description"] == "CRM"
    person = pending_person("zoë@bücher.example", news)
    deliver(made["id"])
    [received] = receiver.received
    assert received.verifies_with(made["secret"])
    assert received.payload["type"] == "subscriber.requested"
    assert received.payload["data"]["subscriber_id"] == person
    [created] = _audited("webhook.created", admin_account)
    assert created.target == f"webhook:{made['id']}"


def test_the_secret_is_shown_once(api, receiver, stub_broker):
    """Only the answer that made the endpoint (not cached) holds it; reads and a replayed
    answer for the same Idempotency-Key do not, and the retry makes nothing more."""
    payload = {"url": receiver.url, "events": EVERY_EVENT}
    key = {"Idempotency-Key": "crm-hook-1"}
    first = api.post("/webhooks", json=payload, headers=key)
    assert first.status_code == 201 and first.headers["Cache-Control"] == "no-store"
    secret = first.get_json()["secret"]
    again = api.post("/webhooks", json=payload, headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["secret"] is None
    assert again.get_json()["id"] == first.get_json()["id"]
    assert db.session.query(WebhookEndpoint).count() == 1
    for path in ("/webhooks", f"/webhooks/{first.get_json()['id']}"):
        response = api.get(path)
        assert response.status_code == 200
        assert secret not in response.get_data(as_text=True)
        assert "secret" not in response.get_data(as_text=True)


def test_the_list_and_one_endpoint(api, made):
    listed = api.get("/webhooks").get_json()
    assert [item["id"] for item in listed["items"]] == [made["id"]]
    assert listed["next_cursor"] is None
    one = api.get(f"/webhooks/{made['id']}").get_json()
    assert one["held"] == 0 and one["deliveries"] == []
    assert one["events"] == ["subscriber.requested"]


def test_an_editors_token_is_refused(client, make, token_for, made):
    editor = Api(client, token_for(make.account(role="editor")))
    for response in (
        editor.get("/webhooks"),
        editor.get(f"/webhooks/{made['id']}"),
        editor.post("/webhooks", json={"url": "https://crm.example.org/hook",
                                       "events": ["issue.sent"]}),
        editor.post(f"/webhooks/{made['id']}/disable"),
        editor.post(f"/webhooks/{made['id']}/replay"),
    ):  # fmt: skip
        assert _problem(response, 403)["detail"] == "Only an admin account may do this."
    assert db.session.query(WebhookEndpoint).count() == 1


def test_changes_need_the_webhooks_scope(api_as, admin_account, made):
    """An admin's token for subscribers may read endpoints, not register or change them."""
    crm = api_as(admin_account, ["read", "subscribers"])
    assert crm.get(f"/webhooks/{made['id']}").status_code == 200
    refused = crm.post("/webhooks", json={"url": "https://crm.example.org/hook",
                                          "events": ["issue.sent"]})  # fmt: skip
    assert _problem(refused, 403)["detail"] == "This token does not have the scope `webhooks`."
    _problem(crm.post(f"/webhooks/{made['id']}/disable"), 403)


@pytest.mark.parametrize(
    "url, detail",
    [
        ("http://crm.example.org/hook", "url: The URL must start with https://"),
        ("https://user:pw@crm.example.org/hook",
         "url: The URL must not contain a user name or password"),
        ("  ", "url: Enter the URL of the endpoint"),
        ("https://crm.example.org/" + "a" * 2000, "url: The URL must be 2,000 characters or fewer"),
    ],
)  # fmt: skip
def test_a_url_the_admin_page_refuses_is_refused_with_its_sentence(app, api, url, detail):
    app.config["BASE_URL"] = "https://news.example.org"
    body = _problem(api.post("/webhooks", json={"url": url, "events": ["issue.sent"]}), 422)
    assert body["detail"] == detail
    assert body["invalid-params"][0]["name"] == "url"
    assert db.session.query(WebhookEndpoint).count() == 0


def test_no_event_is_refused_with_the_admin_pages_sentence(api):
    body = _problem(api.post("/webhooks", json={"url": "https://crm.example.org/h",
                                                "events": []}), 422)  # fmt: skip
    assert body["detail"] == "events: Choose at least one event"


def test_an_event_type_named_twice_is_wanted_once(api):
    """The admin's boxes cannot repeat a type; a body may, and gets it once, in the usual order."""
    made = api.post("/webhooks", json={"url": "https://crm.example.org/h",
                                       "events": ["issue.sent", "subscriber.erased",
                                                  "issue.sent"]})  # fmt: skip
    assert made.status_code == 201
    assert made.get_json()["events"] == ["subscriber.erased", "issue.sent"]


def test_an_unknown_endpoint_is_404_with_a_sentence(api, stub_broker):
    for response in (api.get("/webhooks/999"), api.post("/webhooks/999/enable")):
        assert _problem(response, 404)["detail"] == "No such webhook endpoint"


def test_disable_keeps_events_and_enable_holds_them_until_replayed(
    api, made, receiver, news, admin_account
):
    hook = made["id"]
    off = api.post(f"/webhooks/{hook}/disable")
    assert off.status_code == 200
    assert off.get_json()["enabled"] is False
    assert off.get_json()["disabled_reason"] == "Disabled by an admin."
    pending_person("ann@example.com", news)
    pending_person("bob@example.com", news)
    deliver(hook)
    assert receiver.received == []  # nothing is sent to a disabled endpoint

    on = api.post(f"/webhooks/{hook}/enable")
    assert on.status_code == 200
    assert on.get_json()["enabled"] is True and on.get_json()["held"] == 2
    deliver(hook)
    assert receiver.received == []  # enabling never sends the backlog unasked
    shown = api.get(f"/webhooks/{hook}").get_json()
    assert shown["held"] == 2
    assert [d["status"] for d in shown["deliveries"]] == ["held", "held"]
    assert {d["event_type"] for d in shown["deliveries"]} == {"subscriber.requested"}

    replayed = api.post(f"/webhooks/{hook}/replay")
    assert replayed.status_code == 202 and replayed.get_json() == {"replayed": 2}
    deliver(hook)
    assert len(receiver.received) == 2
    assert all(r.verifies_with(made["secret"]) for r in receiver.received)
    shown = api.get(f"/webhooks/{hook}").get_json()
    assert shown["held"] == 0
    assert [d["status"] for d in shown["deliveries"]] == ["delivered", "delivered"]
    assert [d["last_status"] for d in shown["deliveries"]] == [200, 200]
    for action in ("webhook.disabled", "webhook.enabled", "webhook.replayed"):
        _audited(action, admin_account)


def test_a_discarded_backlog_is_never_sent_and_cannot_be_resent(
    api, made, receiver, news, admin_account
):
    hook = made["id"]
    api.post(f"/webhooks/{hook}/disable")
    pending_person("ann@example.com", news)
    assert api.post(f"/webhooks/{hook}/enable").get_json()["held"] == 1
    discarded = api.post(f"/webhooks/{hook}/discard")
    assert discarded.status_code == 200 and discarded.get_json() == {"discarded": 1}
    assert api.post(f"/webhooks/{hook}/replay").get_json() == {"replayed": 0}
    deliver(hook)
    assert receiver.received == []
    [dropped] = deliveries(hook)
    assert dropped.status == "dropped"
    refused = api.post(f"/webhooks/{hook}/deliveries/{dropped.id}/resend")
    assert _problem(refused, 409)["detail"] == (
        "This event was dropped (its person was erased) and cannot be sent"
    )
    _audited("webhook.backlog_discarded", admin_account)


def test_resend_sends_one_event_again(api, made, receiver, news, admin_account):
    hook = made["id"]
    pending_person("ann@example.com", news)
    deliver(hook)
    [delivery] = api.get(f"/webhooks/{hook}").get_json()["deliveries"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    resent = api.post(f"/webhooks/{hook}/deliveries/{delivery['id']}/resend")
    assert resent.status_code == 202
    assert resent.get_json() == {"delivery_id": delivery["id"], "status": "pending"}
    deliver(hook)
    first, again = receiver.received
    webhook_id = f"evt_{delivery['event_id']}"
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == webhook_id
    [event] = _audited("webhook.resent", admin_account)
    assert event.detail["delivery"] == delivery["id"]
    missing = api.post(f"/webhooks/{hook}/deliveries/{delivery['id'] + 1}/resend")
    assert _problem(missing, 404)["detail"] == "No such delivery"
