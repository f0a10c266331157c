"""Who may call: a bearer token (never the session cookie), within its scopes and its
account's role; each refusal a problem with its documented status."""

from __future__ import annotations

import pytest

from newsletter.models.base import utcnow
from tests.web.api.conftest import Api

PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nl_wrong", "Basic abc", "nl_x"])
def test_no_valid_token_is_401_with_www_authenticate(client, make, header):
    make.list("news")
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/lists", headers=headers)
    _problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_admin_session_cookie_is_not_api_auth(admin_client, make):
    """A signed-in admin's browser cookie gets a 401 from the API, not their data."""
    make.list("news")
    response = admin_client.get("/api/v1/lists")
    _problem(response, 401)
    assert "Set-Cookie" not in response.headers


def test_a_revoked_token_is_401(api, make):
    from newsletter.api_tokens import authenticate, revoke_token

    token = authenticate(api.secret)
    revoke_token(token, actor="test")
    _problem(api.get("/lists"), 401)


def test_a_token_without_the_scope_is_403(client, admin_account, token_for, make):
    make.list("news")
    reader = Api(client, token_for(admin_account, ["read"]))
    assert reader.get("/lists").status_code == 200
    body = _problem(
        reader.post("/subscribers", json={"email": "a@example.com", "lists": ["news"],
                                          "wording": "Join"}),
        403,
    )  # fmt: skip
    assert "subscribers" in body["detail"]


def test_an_editor_token_cannot_export_erase_or_change_suppressions(client, make, token_for):
    """However broad its scopes, a token does no more than its account may in the admin."""
    editor = make.account(role="editor")
    api = Api(client, token_for(editor))
    news = make.list("news")
    person = make.subscriber("someone@example.com", lists=[news])
    for path, body in [
        (f"/subscribers/{person.id}/export", None),
        (f"/subscribers/{person.id}/erase", None),
        ("/suppressions", {"emails": ["x@example.com"]}),
        ("/suppressions/1/lift", {"reason": "asked"}),
    ]:
        assert _problem(api.post(path, json=body), 403)["detail"] == (
            "Only an admin account may do this."
        )


def test_an_expired_token_is_401(api, make):
    from newsletter.api_tokens import authenticate
    from newsletter.extensions import db

    token = authenticate(api.secret)
    token.expires_at = utcnow()
    db.session.commit()
    _problem(api.get("/lists"), 401)


def test_api_posts_need_no_csrf_token(app, client, admin_account, token_for, make):
    """Token auth: no CSRF token, even with CSRF protection on."""
    app.config["WTF_CSRF_ENABLED"] = True
    make.list("news")
    api = Api(client, token_for(admin_account))
    response = api.post(
        "/subscribers", json={"email": "a@example.com", "lists": ["news"], "wording": "Join"}
    )
    assert response.status_code == 202


def test_unknown_route_and_method_are_problems(api):
    _problem(api.get("/nothing-here"), 404)
    _problem(api.client.delete("/api/v1/lists", headers=api._headers(None)), 405)


def test_openapi_document_is_valid_openapi_3_1(client):
    """The served document says 3.1 and passes the OpenAPI 3.1 validator."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation import OpenAPIV31SpecValidator

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)
    responses = document["paths"]["/api/v1/subscribers"]["post"]["responses"]
    for status in ("401", "403", "422", "429"):
        assert PROBLEM in responses[status]["content"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
