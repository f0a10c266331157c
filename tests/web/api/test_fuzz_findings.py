"""What schemathesis found (tests/web/api/test_fuzz.py), replayed: each input with the answer
it gets now, a documented status and a problem, never a 5xx."""

from __future__ import annotations

import pytest

from newsletter.extensions import db
from newsletter.models import Subscriber, Subscription, SubscriptionStatus


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json(force=True)


def test_a_cursor_the_api_never_gave_is_refused_by_its_pattern(api, make):
    """GET /subscribers?status=unsubscribed&cursor=attributes: 422 naming the cursor (the
    pattern now says what a cursor is, so a schema-valid cursor is always one we can read)."""
    body = _problem(api.get("/subscribers?status=unsubscribed&cursor=attributes"), 422)
    assert body["invalid-params"][0]["name"] == "cursor"


def test_cursors_page_through_everyone_once(api, make):
    news = make.list("news")
    people = {make.subscriber(f"p{n}@example.com", lists=[news]).id for n in range(5)}
    seen, cursor = [], None
    while True:
        query = "/subscribers?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(query).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(people)


def test_an_address_email_validator_refuses_gets_the_forms_sentence(api, make):
    """{"email": "time", …}: 422 with the sign-up form's own words."""
    make.list("news")
    body = _problem(api.post("/subscribers", json={"email": "time", "lists": ["news"],
                                                   "wording": "Join"}), 422)  # fmt: skip
    assert body["detail"] == (
        "email: Enter an email address in the correct format, like name@example.com"
    )


def test_a_list_slug_that_names_no_list_is_invalid_input_not_404(api, make):
    """A body naming a list that does not exist: 422, and nobody is written."""
    body = _problem(
        api.post("/subscribers", json={"email": "0@jym23nn.io", "lists": ["pj1osqjazuwu62"],
                                       "wording": "Join"}),
        422,
    )  # fmt: skip
    assert body["detail"] == "No list with the slug 'pj1osqjazuwu62'"
    assert db.session.query(Subscriber).count() == 0


@pytest.mark.parametrize("raw", [b"\x00", b"[]", b"not json", b""])
def test_a_body_that_is_not_a_json_object_is_400(api, make, raw):
    """POST /subscribers/1/unsubscribe with the body \\x00 was read as {} and unsubscribed
    the person from everything; now it is a 400 and nothing changes."""
    news = make.list("news")
    person = make.subscriber("someone@example.com", lists=[news])
    response = api.client.post(
        f"/api/v1/subscribers/{person.id}/unsubscribe",
        data=raw,
        headers={**api._headers(None), "Content-Type": "application/json"},
    )
    _problem(response, 400)
    subscription = db.session.query(Subscription).one()
    assert subscription.status == SubscriptionStatus.CONFIRMED


def test_a_nul_byte_in_the_query_string_is_a_documented_400(api):
    _problem(api.get("/suppressions?%C3%9E%00=x"), 400)


@pytest.mark.parametrize(
    "field, value",
    [("wording", "half a pair \ud813"), ("wording", "nul \x00"), ("name", "Zo\ud800ë")],
)
def test_text_the_database_cannot_store_is_422_not_500(api, make, field, value):
    make.list("news")
    payload = {"email": "a@example.com", "lists": ["news"], "wording": "Join", field: value}
    body = _problem(api.post("/subscribers", json=payload), 422)
    assert body["invalid-params"][0]["name"] == field
