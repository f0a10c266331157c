"""Every registered route, walked with hostile values in each URL variable, query string and
form: an out-of-range or malformed id, a NUL byte, non-ASCII. Nothing may answer 5xx (on
SQLite and, with TEST_DATABASE_URL, on PostgreSQL, which refuses NUL bytes and 20-digit
integers outright)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from newsletter.web.params import MAX_ID
from tests import factories

HOSTILE = [
    "9" * 23,  # past every integer type
    str(MAX_ID + 1),  # past PostgreSQL's INTEGER, within SQLite's
    str(2**63),  # past SQLite's INTEGER
    "-1",
    "0",
    "a\x00b",
    "\x00",
    "é",
    "١٢",  # Arabic-Indic digits, which str.isdigit and \d accept
    "x" * 3000,
]
# /healthz says 503 when no worker runs (as in these tests): its answer, not a failure.
EXPECTED = {("public.healthz", 503)}
# Names the views read from a query string or a form, and a few more they might.
FIELDS = ["before", "after", "page", "subscriber", "q", "next", "list_id", "email", "name"]


@pytest.fixture
def world(make, news, admin_client):
    """A little of everything, so the good value of one variable names a real row."""
    person = make.subscriber("jo@example.com", lists=[news])
    issue = factories.sent_issue(make, [news])
    return {"issue": issue.id, "subscriber": person.id, "slug": news.slug}


def good_value(name: str, world: dict) -> str:
    if name == "slug":
        return world["slug"]
    if name == "filename":
        return "style.css"
    if name.endswith("_id"):
        return str(world["issue"] if "issue" in name else world["subscriber"])
    return "a-token-that-is-not-signed-by-us"


def build(rule, values: dict[str, str]) -> str:
    """The rule's path with each variable replaced by its (percent-encoded) value."""
    path = rule.rule
    for name, value in values.items():
        for spelling in (f"<{name}>", *(f"<{c}:{name}>" for c in ("int", "slug", "path"))):
            path = path.replace(spelling, quote(value, safe=""))
    return path


def methods_of(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def walkable(app) -> list:
    # Logging out last would end the session the other routes are walked with.
    return [r for r in app.url_map.iter_rules() if r.endpoint != "auth.logout"]


def test_no_route_answers_5xx_to_a_hostile_url_variable(app, world, admin_client):
    failures = []
    for rule in walkable(app):
        for name in rule.arguments:
            for bad in HOSTILE:
                values = {n: good_value(n, world) for n in rule.arguments}
                values[name] = bad
                url = build(rule, values)
                for method in methods_of(rule):
                    status = admin_client.open(url, method=method).status_code
                    if status >= 500 and (rule.endpoint, status) not in EXPECTED:
                        failures.append((method, url[:120], status))
    assert failures == []


def test_no_route_answers_5xx_to_a_hostile_query_string(app, world, admin_client):
    failures = []
    for rule in walkable(app):
        if "GET" not in rule.methods:
            continue
        url = build(rule, {n: good_value(n, world) for n in rule.arguments})
        for bad in HOSTILE:
            status = admin_client.get(url, query_string={f: bad for f in FIELDS}).status_code
            if status >= 500 and (rule.endpoint, status) not in EXPECTED:
                failures.append((url, repr(bad)[:40], status))
    assert failures == []


def test_no_form_answers_5xx_to_hostile_fields(app, world, admin_client):
    """Every POST route without variables (those change nothing with a bad id, walked above)."""
    failures = []
    for rule in walkable(app):
        if "POST" not in rule.methods or rule.arguments:
            continue
        for bad in HOSTILE:
            status = admin_client.post(rule.rule, data={f: bad for f in FIELDS}).status_code
            if status >= 500:
                failures.append((rule.rule, repr(bad)[:40], status))
    assert failures == []


def test_a_nul_byte_in_a_query_string_is_a_400_page(admin_client, world):
    """Seen: `q=%00` reached PostgreSQL's LIKE; now the request stops with a clear sentence."""
    response = admin_client.get("/admin/subscribers?q=jo%00")
    assert response.status_code == 400
    assert "Something was wrong with that request" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/archive/99999999999999999999999",
        "/admin/issues/99999999999999999999999",
        "/admin/issues/-1",
        "/admin/lists/news%00/edit",
        "/admin/lists/News/subscribers.csv",
    ],
)
def test_the_cases_seen_are_404(admin_client, world, path):
    assert admin_client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/lists/new", {"slug": "events", "name": "Ev\x00ents", "description": ""}),
        ("/admin/lists/new", {"slug": "events", "name": "Events", "description": "\x00"}),
        (
            "/admin/issues/new",
            {"subject": "Spring\x00", "body": "Hello", "lists": ["news"], "layout": "default"},
        ),
    ],
    ids=["list name", "list description", "issue subject"],
)
def test_a_nul_byte_in_a_form_field_is_an_error_on_that_field(admin_client, world, path, data):
    """Seen: a NUL in a list's name was a 500 on PostgreSQL; now the form says so, and nothing
    is stored."""
    before = admin_client.get("/admin/lists").get_data(as_text=True).count("<tr")
    response = admin_client.post(path, data=data)
    assert response.status_code < 500
    assert "must not contain a NUL byte" in response.get_data(as_text=True)
    assert admin_client.get("/admin/lists").get_data(as_text=True).count("<tr") == before
