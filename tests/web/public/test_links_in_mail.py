"""Every link we put in mail, fetched as a link scanner does (GET, HEAD): nothing changes.

Mail scanners (Safe Links and the like) fetch each link of an incoming mail, sometimes with
odd query strings and headers. Only a person's POST may change anything; RFC 8058's one-click
POST to the List-Unsubscribe URL still unsubscribes.
"""

from __future__ import annotations

import html
import re
import time
from unittest import mock

import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from newsletter.accounts import issue_setup_token, setup_token_is_valid
from newsletter.background import enqueue
from newsletter.compose.issues import create_issue
from newsletter.delivery.control import send_issue
from newsletter.delivery.reconfirmation import start_reconfirmation
from newsletter.delivery.trial_send import send_test_issue
from newsletter.extensions import db
from newsletter.subscriptions.links import preferences_token
from tests.factories import finished_import, send_here
from tests.support.subscribing import BASE_URL, person, sign_up, statuses

SCANNER_HEADERS = [
    {"User-Agent": "Mozilla/5.0 (compatible; Safe Links scanner)"},
    {"User-Agent": "Microsoft Office Existence Discovery", "Purpose": "prefetch"},
    {"Sec-Purpose": "prefetch;prerender", "Accept": "*/*", "X-Requested-With": "XMLHttpRequest"},
]
SCANNER_QUERIES = ["", "?confirm=yes&List-Unsubscribe=One-Click", "?utm_source=scan&submit=1"]
_LINK = re.compile(rf"{re.escape(BASE_URL)}(/[^\s\"'<>)]*)")


def links_in(message) -> set[str]:
    """Paths of our links in a captured mail: text part, HTML part and List-Unsubscribe."""
    found = set(_LINK.findall(message.text() or ""))
    found |= {html.unescape(path) for path in _LINK.findall(message.html() or "")}
    found |= set(_LINK.findall(str(message["List-Unsubscribe"] or "")))
    return found


def database_rows() -> dict[str, list]:
    """Every row of every table, in a stable order."""
    db.session.expire_all()
    rows = {
        table.name: sorted((tuple(row) for row in db.session.execute(sa.select(table))), key=repr)
        for table in db.metadata.sorted_tables
    }
    db.session.commit()
    return rows


def scan(client, paths) -> None:
    """GET and HEAD every path, with each scanner's headers and query strings."""
    for path in sorted(paths):
        for query in SCANNER_QUERIES:
            for headers in SCANNER_HEADERS:
                for method in ("GET", "HEAD"):
                    response = client.open(path + query, method=method, headers=headers)
                    assert response.status_code < 500, (method, path, response.status_code)


@pytest.fixture
def every_kind_of_mail(client, runner, make, news, jobs, mail, tmp_path):
    """One of each mail carrying links: issues (public and private list), a confirmation, a
    preferences link, a reconfirmation request and a test send; the captured messages."""
    members = make.list("members", name="Members", is_public=False)
    ann = make.subscriber("ann@example.com", lists=[news, members], name="Ann")
    for slug in ("news", "members"):
        issue = create_issue(f"{slug} issue", "Hello.\n", [slug], actor="test")
        send_issue(issue, "test", dispatch=False)
        send_here(issue)
    send_test_issue(issue.id, ["proof@example.net"])
    assert sign_up(client, "bob@example.com", "jobs").status_code == 200
    enqueue.send_preferences_link(ann.id)
    source = tmp_path / "old.csv"
    source.write_text("email,name\ncara@example.com,Cara\n")
    imported = finished_import(runner, source, "--consent", "reconfirm")
    send_here(start_reconfirmation(imported, "test", False))
    return mail.deliver()


def test_fetching_every_link_in_mail_changes_nothing(client, every_kind_of_mail, mail):
    """Scanners GET and HEAD every link of every mail: no row anywhere changes, no mail goes."""
    paths = set().union(*(links_in(m) for m in every_kind_of_mail))
    routes = {path.split("/")[1] for path in paths}
    assert {"confirm", "unsubscribe", "preferences", "web", "archive"} <= routes
    ann = person("ann@example.com")
    year_ago = int(time.time()) - 366 * 24 * 3600
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=year_ago):
        paths.add(f"/preferences/{preferences_token(ann)}")  # its renewal page
    before, sent = database_rows(), len(every_kind_of_mail)

    scan(client, paths)

    assert database_rows() == before
    assert len(mail.deliver()) == sent
    assert statuses("bob@example.com") == {"jobs": "pending"}
    assert statuses("cara@example.com") == {"news": "pending"}


def test_one_click_unsubscribe_still_works_after_a_scan(client, every_kind_of_mail):
    """RFC 8058: the POST of List-Unsubscribe=One-Click to the header's URL leaves, as before."""
    issue_mail = next(m for m in every_kind_of_mail if m["List-Unsubscribe"])
    [url] = _LINK.findall(str(issue_mail["List-Unsubscribe"]))
    scan(client, [url])
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "unsubscribed" in statuses("ann@example.com").values()


def test_fetching_the_first_admin_set_up_link_changes_nothing(client):
    """The one-time set-up link `serve` prints stays valid however often it is fetched."""
    token = issue_setup_token()
    db.session.commit()
    before = database_rows()
    scan(client, [f"/admin/setup/{token}"])
    assert database_rows() == before
    assert setup_token_is_valid(token)
