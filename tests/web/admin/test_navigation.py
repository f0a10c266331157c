"""The admin navigation: the same items in the same order on every page, the current one marked
with aria-current, the account's own links in the header. (Its fitting one line at 1280 px is
checked in a browser: tests/browser/test_admin_small_things.py.)"""

from __future__ import annotations

import re

from tests.support.html import elements

ITEMS = [
    ("/admin/", "Dashboard"),
    ("/admin/lists", "Lists"),
    ("/admin/subscribers", "Subscribers"),
    ("/admin/suppressions", "Suppressions"),
    ("/admin/imports", "Imports"),
    ("/admin/issues", "Issues"),
    ("/admin/outbox", "Outbox"),
    ("/admin/accounts", "Accounts"),
    ("/admin/audit", "Audit log"),
    ("/admin/settings", "Settings"),
]


def nav_items(page: str) -> list[tuple[str, str, bool]]:
    nav = page[page.index('<nav class="admin-nav"') : page.index("</nav>")]
    return [
        (href, label, "aria-current" in attrs)
        for attrs, href, label in re.findall(r'<a( href="([^"]+)"[^>]*)>([^<]+)</a>', nav)
    ]


def test_every_page_has_the_same_items_with_the_current_one_marked(admin_client):
    for current, _ in ITEMS:
        page = admin_client.get(current).get_data(as_text=True)
        items = nav_items(page)
        assert [(href, label) for href, label, _ in items] == ITEMS
        assert [href for href, _, marked in items if marked] == [current]


def test_a_page_below_an_item_marks_that_item(admin_client):
    page = admin_client.get("/admin/suppressions/new").get_data(as_text=True)
    assert [href for href, _, marked in nav_items(page) if marked] == ["/admin/suppressions"]


def test_change_password_and_sign_out_are_in_the_header(admin_client):
    page = admin_client.get("/admin/password").get_data(as_text=True)
    header = page[page.index('<header class="site-header">') : page.index("</header>")]
    assert elements(header, "a", href="/admin/password")[0]["aria-current"] == "page"
    assert "Sign out</button>" in header
    assert not [marked for _, _, marked in nav_items(page) if marked]
