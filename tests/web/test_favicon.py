"""The favicon: linked from every page, public and admin, and /favicon.ico answered and cached."""

from __future__ import annotations

import re

from tests.support.html import elements


def icon_links(page: str) -> list[str]:
    return [link["href"] for link in elements(page, "link", rel="icon")]


def test_favicon_ico_is_served_and_cached(client):
    response = client.get("/favicon.ico")
    data = response.data
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert "max-age=86400" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]
    again = client.get("/favicon.ico", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_svg_icon_is_served(client):
    response = client.get("/favicon.svg")
    response.close()
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_every_kind_of_page_links_the_icons(client, admin_client, news):
    pages = [client.get(path).get_data(as_text=True) for path in ("/subscribe", "/privacy")]
    pages.append(client.get("/no-such-page").get_data(as_text=True))
    for path in ("/admin/", "/admin/outbox", "/admin/suppressions"):
        pages.append(admin_client.get(path).get_data(as_text=True))
    for page in pages:
        assert icon_links(page) == ["/favicon.ico", "/favicon.svg"]


def test_the_sign_in_page_links_them_too(client):
    page = client.get("/admin/login").get_data(as_text=True)
    assert re.search(r'<link rel="icon" href="/favicon.ico"', page)
