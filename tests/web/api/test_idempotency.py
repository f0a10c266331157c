"""Idempotency-Key: a retried POST is answered from the store and does nothing again."""

from __future__ import annotations

from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.models import AuditEvent, Issue

DRAFT = {"subject": "Spring news", "lists": ["news"], "body_markdown": "Hello"}


def test_a_retry_with_the_same_key_and_body_replays_and_does_nothing(api, make):
    make.list("news")
    headers = {"Idempotency-Key": "draft-1"}
    first = api.post("/issues", json=DRAFT, headers=headers)
    again = api.post("/issues", json=DRAFT, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 1
    created = select(func.count()).where(AuditEvent.action == "issue.created")
    assert db.session.scalar(created) == 1


def test_the_same_key_with_another_body_is_422(api, make):
    make.list("news")
    api.post("/issues", json=DRAFT, headers={"Idempotency-Key": "k"})
    other = api.post("/issues", json={**DRAFT, "subject": "Other"},
                     headers={"Idempotency-Key": "k"})  # fmt: skip
    assert other.status_code == 422
    assert other.mimetype == "application/problem+json"
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 1


def test_keys_are_per_token_and_without_a_key_each_post_acts(api, make, admin_account, token_for):
    from tests.web.api.conftest import Api

    make.list("news")
    other = Api(api.client, token_for(admin_account))
    api.post("/issues", json=DRAFT, headers={"Idempotency-Key": "k"})
    other.post("/issues", json=DRAFT, headers={"Idempotency-Key": "k"})
    api.post("/issues", json=DRAFT)
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 3
