"""The resources through the API: each call does what the admin's or the sign-up page's
function does, is audited under the token's account, and keeps the rules."""

from __future__ import annotations

import base64

from sqlalchemy import select

from newsletter.background import enqueue
from newsletter.extensions import db
from newsletter.models import (
    AuditEvent,
    ConsentEvent,
    ImportJob,
    Issue,
    IssueStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.suppression import active_reasons
from newsletter.suppression.manual import add_addresses
from tests.web.api.conftest import Api

EVIDENCE = {
    "consented_at": "2026-11-01T10:00:00Z",
    "source": "https://coalition.example/events/summit",
    "wording": "Yes, send me the coalition's newsletter.",
}


def _audited(action: str, account) -> AuditEvent:
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).one()
    assert event.account_id == account.id
    return event


def test_add_with_evidence_confirms_and_records_the_wording(api, make, admin_account):
    make.list("news")
    response = api.post("/subscribers", json={"email": "Zoë.Ahmed@hackney.gov.uk",
                                              "name": "Zoë Ahmed", "lists": ["news"],
                                              "evidence": EVIDENCE})  # fmt: skip
    assert response.status_code == 202
    person = db.session.scalars(select(Subscriber)).one()
    assert person.email == "Zoë.Ahmed@hackney.gov.uk" and person.name == "Zoë Ahmed"
    assert person.subscriptions[0].status == SubscriptionStatus.CONFIRMED
    event = db.session.scalars(select(ConsentEvent)).one()
    assert event.source == "api: https://coalition.example/events/summit"
    assert event.occurred_at.isoformat().startswith("2026-11-01T10:00")
    assert event.wording_version is not None
    _audited("subscriber.evidence_recorded", admin_account)


def test_evidence_never_lifts_a_suppression_and_the_answer_is_the_same(api, make, admin_account):
    make.list("news")
    add_addresses(["bounced@example.com"], "", actor=admin_account)
    fresh = api.post("/subscribers", json={"email": "new@example.com", "lists": ["news"],
                                           "evidence": EVIDENCE})  # fmt: skip
    blocked = api.post("/subscribers", json={"email": "bounced@example.com", "lists": ["news"],
                                             "evidence": EVIDENCE})  # fmt: skip
    assert (blocked.status_code, blocked.get_json()) == (fresh.status_code, fresh.get_json())
    assert db.session.scalars(select(Subscriber.email)).all() == ["new@example.com"]
    assert active_reasons("bounced@example.com")


def test_double_opt_in_leaves_the_person_pending(api, make):
    make.list("news")
    response = api.post("/subscribers", json={"email": "a@example.com", "lists": ["news"],
                                              "wording": "Join our list"})  # fmt: skip
    assert response.status_code == 202
    assert db.session.scalars(select(Subscription.status)).one() == SubscriptionStatus.PENDING


def test_a_queued_double_opt_in_names_its_lists_by_id(api, make, redis_broker, monkeypatch):
    """With a worker to record it, the request queues the lists' ids, which a process remembers
    once read: a list made since is found at once, and an unknown slug is refused every time."""
    queued: list[dict] = []
    monkeypatch.setattr(enqueue, "record_signup", queued.append)
    news = make.list("news")
    for email in ("a@example.com", "b@example.com"):  # read, then remembered
        body = {"email": email, "lists": ["news"], "wording": "Join our list"}
        assert api.post("/subscribers", json=body).status_code == 202
    body = {"email": "c@example.com", "lists": ["news", "later", "news"], "wording": "Join"}
    for _ in range(2):
        problem = api.post("/subscribers", json=body)
        assert problem.status_code == 422
        assert problem.get_json(force=True)["detail"] == "No list with the slug 'later'"
    later = make.list("later")
    assert api.post("/subscribers", json=body).status_code == 202
    assert [(m["email"], m["list_ids"]) for m in queued] == [
        ("a@example.com", [news.id]),
        ("b@example.com", [news.id]),
        ("c@example.com", [news.id, later.id]),
    ]
    assert db.session.scalars(select(Subscriber)).all() == []  # the worker records them


def test_wording_and_evidence_together_is_422(api, make):
    make.list("news")
    body = {"email": "a@example.com", "lists": ["news"], "wording": "x", "evidence": EVIDENCE}
    assert api.post("/subscribers", json=body).status_code == 422


def test_a_name_with_a_line_break_gets_the_forms_sentence(api, make):
    make.list("news")
    body = {"email": "a@example.com", "lists": ["news"], "wording": "x", "name": "A\nB"}
    problem = api.post("/subscribers", json=body).get_json(force=True)
    assert problem["detail"] == "name: Name must not contain line breaks or control characters"


def test_update_unsubscribe_export_and_erase(api, make, admin_account):
    news = make.list("news")
    person = make.subscriber("p@example.com", lists=[news])
    changed = api.patch(f"/subscribers/{person.id}",
                        json={"name": "Łukasz", "attributes": {"team": "Cymru"}})  # fmt: skip
    assert changed.status_code == 200 and changed.get_json()["name"] == "Łukasz"
    left = api.post(f"/subscribers/{person.id}/unsubscribe", json={})
    assert left.get_json() == {"left": ["news"]}
    exported = api.post(f"/subscribers/{person.id}/export")
    assert exported.status_code == 200 and exported.get_json()["address"] == "p@example.com"
    erased = api.post(f"/subscribers/{person.id}/erase")
    assert erased.status_code == 200 and "erased" in erased.get_json()["reasons"]
    assert db.session.get(Subscriber, person.id) is None
    for action in ("subscriber.updated", "subscriber.unsubscribed", "subscriber.exported",
                   "subscriber.erased"):  # fmt: skip
        _audited(action, admin_account)


def test_suppressions_list_add_and_lift(api, make, admin_account):
    added = api.post("/suppressions", json={"emails": ["x@example.com"], "note": "asked"})
    assert added.get_json() == {"added": 1, "already": 0}
    page = api.get("/suppressions").get_json()
    entry = page["items"][0]
    assert entry["reasons"] == ["suppressed by hand in the admin"]
    lifted = api.post(f"/suppressions/{entry['id']}/lift", json={"reason": "they asked"})
    assert lifted.get_json() == {"lifted": ["manual"]}
    # As on the admin's page: the address still needs the person to opt in again.
    assert active_reasons("x@example.com") == {SuppressionReason.LEFT_ALL}


def test_issue_draft_preview_schedule_and_status(api, make, admin_account):
    make.list("news")
    body = {"subject": "Spring news", "lists": ["news"],
            "body_markdown": "Hello **{{ subscriber.name }}**"}  # fmt: skip
    created = api.post("/issues", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    issue_id = created.get_json()["id"]
    preview = api.get(f"/issues/{issue_id}/preview").get_json()
    assert "<strong>" in preview["html"] and preview["subject"] == "Spring news"
    scheduled = api.post(f"/issues/{issue_id}/schedule", json={"at": "2099-01-01T09:00:00Z"})
    assert scheduled.get_json()["status"] == "scheduled"
    status = api.get(f"/issues/{issue_id}/status").get_json()
    assert status["id"] == issue_id and status["recipients"] == 0
    _audited("issue.scheduled", admin_account)


def test_sending_follows_the_right_to_send(client, make, token_for):
    news = make.list("news")
    make.subscriber("p@example.com", lists=[news])
    editor = Api(client, token_for(make.account(role="editor")))
    issue_id = editor.post("/issues", json={"subject": "Hi", "lists": ["news"],
                                            "body_markdown": "Hello"}).get_json()["id"]  # fmt: skip
    refused = editor.post(f"/issues/{issue_id}/send")
    assert refused.status_code == 403
    assert db.session.get(Issue, issue_id).status == IssueStatus.DRAFT


def test_sending_a_sent_issue_is_409(api, make):
    news = make.list("news")
    make.subscriber("p@example.com", lists=[news])
    issue_id = api.post("/issues", json={"subject": "Hi", "lists": ["news"],
                                         "body_markdown": "Hello"}).get_json()["id"]  # fmt: skip
    sent = api.post(f"/issues/{issue_id}/send")
    assert sent.status_code == 202 and sent.get_json()["recipients"] == 1
    again = api.post(f"/issues/{issue_id}/send")
    assert again.status_code == 409
    assert again.get_json(force=True)["detail"].startswith(f"Issue {issue_id} is sending")


def test_import_from_an_upload(api, make, admin_account):
    make.list("news")
    content = base64.b64encode("email,name\nzoë@bücher.example,Zoë\n".encode()).decode()
    started = api.post("/imports", json={"list": "news", "file_name": "members.csv",
                                         "content_base64": content})  # fmt: skip
    assert started.status_code == 202, started.get_data(as_text=True)
    job_id = started.get_json()["id"]
    assert db.session.get(ImportJob, job_id) is not None
    assert api.get(f"/imports/{job_id}").get_json()["id"] == job_id
    refused = api.post("/imports", json={"list": "news", "file_name": "x.csv",
                                         "content_base64": "***"})  # fmt: skip
    assert refused.status_code == 422


def test_a_name_with_a_direction_override_left_open_is_closed(api, make):
    """U+202E or an isolate left open would reverse what follows the name on every page."""
    news = make.list("news")
    body = {"email": "a@example.com", "lists": ["news"], "wording": "x", "name": "A \u202eB"}
    assert api.post("/subscribers", json=body).status_code == 202
    added = db.session.scalars(select(Subscriber).filter_by(email="a@example.com")).one()
    assert added.name == "A \u202eB\u202c"
    other = make.subscriber("p@example.com", lists=[news])
    changed = api.patch(f"/subscribers/{other.id}", json={"name": "\u2067P"})
    assert changed.status_code == 200 and changed.get_json()["name"] == "\u2067P\u2069"
    db.session.expire_all()
    assert db.session.get(Subscriber, other.id).name == "\u2067P\u2069"
