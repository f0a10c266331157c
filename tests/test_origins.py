"""The embedded form's allow-lists: sites as browsers name them, thank-you pages as full URLs."""

from __future__ import annotations

import pytest

from newsletter.errors import ValidationError
from newsletter.origins import parse_origin, parse_thanks_url, request_origin, thanks_target


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("https://www.example.org", "https://www.example.org"),
        ("  HTTPS://WWW.Example.ORG/  ", "https://www.example.org"),
        ("https://example.org:443", "https://example.org"),
        ("http://example.org:80", "http://example.org"),
        ("https://example.org:8443", "https://example.org:8443"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_a_site_is_stored_as_a_browser_sends_its_origin(typed, stored):
    assert parse_origin(typed) == stored


@pytest.mark.parametrize(
    "typed, says",
    [
        ("www.example.org", "must start with https://"),
        ("ftp://example.org", "must start with https://"),
        ("https://example.org/news", "with no path"),
        ("https://example.org?x=1", "with no path"),
        ("https://example.org#top", "with no path"),
        ("https://user:pw@example.org", "user name or password"),
        ("https://", "no site name"),
        ("https://exa mple.org", "must not contain spaces"),
        ("https://example.org:99999", "port"),
        ("https://-bad-.example", "valid site"),
        ("javascript:alert(1)", "must start with https://"),
    ],
)
def test_anything_but_a_site_is_refused_with_a_reason(typed, says):
    with pytest.raises(ValidationError, match=says):
        parse_origin(typed)


def test_thank_you_pages_are_full_https_urls():
    assert parse_thanks_url("https://Example.org/thanks?a=1", allow_http=False) == (
        "https://example.org/thanks?a=1"
    )
    assert parse_thanks_url("https://example.org", allow_http=False) == "https://example.org/"
    with pytest.raises(ValidationError, match="must start with https://"):
        parse_thanks_url("http://example.org/thanks", allow_http=False)
    assert parse_thanks_url("http://example.org/thanks", allow_http=True) == (
        "http://example.org/thanks"
    )
    with pytest.raises(ValidationError, match="must start with https://"):
        parse_thanks_url("/thanks", allow_http=True)


@pytest.mark.parametrize(
    "origin, referer, found",
    [
        ("https://example.org", None, "https://example.org"),
        ("https://EXAMPLE.org:443", None, "https://example.org"),
        ("null", "https://example.org/a/b?c", "https://example.org"),
        (None, "https://example.org/a/b?c", "https://example.org"),
        ("https://a.example", "https://b.example/", "https://a.example"),
        (None, None, None),
        ("null", None, None),
        (None, "not a url", None),
        ("https://example.org/with/path", None, None),
    ],
)
def test_where_a_post_came_from(origin, referer, found):
    assert request_origin(origin, referer) == found


def test_a_thank_you_target_must_be_listed_exactly():
    allowed = {"https://example.org/thanks"}
    assert thanks_target("https://EXAMPLE.org/thanks", allowed, allow_http=False) == (
        "https://example.org/thanks"
    )
    for other in ("https://example.org/thanks/", "https://example.org/thanks?x", "", None, "//x"):
        assert thanks_target(other, allowed, allow_http=False) is None
