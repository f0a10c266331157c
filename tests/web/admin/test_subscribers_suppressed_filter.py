"""The subscribers page's "Suppressed" filter: every way a suppression comes or goes shows.

Each test takes one path that adds or lifts a suppression, or makes a person, and checks
that the filter then shows or hides the person, with an exact count.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from newsletter.addresses import parse_address
from newsletter.bounces.policy import apply_report
from newsletter.bounces.reports import Report
from newsletter.consent import Origin
from newsletter.extensions import db
from newsletter.models import BounceKind, ConsentMethod, Subscriber
from newsletter.rights.erasure import erase_person
from newsletter.subscriptions import audience
from newsletter.subscriptions.confirmation import confirm_subscription
from newsletter.subscriptions.links import confirmation_token
from newsletter.subscriptions.preferences import update_preferences
from newsletter.subscriptions.signup import request_subscription
from newsletter.subscriptions.unsubscribe import unsubscribe
from newsletter.suppression.manual import add_addresses
from tests.factories import deliveries, export_file, finished_import, sent_issue

ORIGIN = Origin(source="test", ip_address="192.0.2.7", user_agent="Firefox")
SHOWN = re.compile(r'href="/admin/subscribers/\d+">([^<]+)</a>')
COUNT = re.compile(r'id="subscriber-count" class="count"><strong>([^<]+)</strong>')


def suppressed_page(client, **args) -> tuple[list[str], str]:
    """The addresses the page lists with the filter "Suppressed", in order, and its count."""
    response = client.get("/admin/subscribers", query_string={"status": "suppressed", **args})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<option value="suppressed" selected>' in html
    return SHOWN.findall(html), COUNT.search(html).group(1)


def shown(client, **args) -> list[str]:
    addresses, count = suppressed_page(client, **args)
    assert count == str(len(addresses))  # the count is exact
    return addresses


def sign_up(email: str, *lists) -> Subscriber:
    result = request_subscription(parse_address(email), "", list(lists), ORIGIN, "wording")
    return db.session.get(Subscriber, result.subscriber_id)


def confirm(subscriber: Subscriber) -> None:
    """The person's confirm link, naming the lists they are pending on, is followed."""
    db.session.refresh(subscriber)
    pending = [s.list_id for s in subscriber.subscriptions if s.status == "pending"]
    confirm_subscription(confirmation_token(subscriber, pending), ORIGIN)


def test_nobody_suppressed_shows_nobody(admin_client, make, news):
    """People on lists, none suppressed: the filter lists nobody and counts 0."""
    make.subscriber("ann@example.com", lists=[news])
    addresses, count = suppressed_page(admin_client)
    assert addresses == [] and count == "0"
    assert "No subscribers with these filters" in admin_client.get(
        "/admin/subscribers?status=suppressed"
    ).get_data(as_text=True)


def test_manual_suppression_shows_and_an_admin_lift_leaves_them_until_they_opt_in(
    admin_client, admin_account, make, news
):
    """Added by hand: shown. Lifted by an admin: still shown (left_all stands in, by design)
    until the person confirms again; then hidden."""
    ann = make.subscriber("ann@example.com", lists=[news])
    make.subscriber("bob@example.com", lists=[news])
    add_addresses(["ANN@example.com"], "asked by phone", admin_account)
    assert shown(admin_client) == ["ann@example.com"]
    lifted = admin_client.post(f"/admin/subscribers/{ann.id}/lift", data={"reason": "error"})
    assert lifted.status_code == 302
    assert shown(admin_client) == ["ann@example.com"]
    sign_up("ann@example.com", make.list("jobs"))
    confirm(ann)
    assert shown(admin_client) == []


def test_a_hard_bounce_shows_the_person(admin_client, make, news):
    """A hard bounce report of a delivery suppresses its person: shown."""
    make.subscriber("gone@example.com", lists=[news])
    make.subscriber("here@example.com", lists=[news])
    issue = sent_issue(make, [news])
    row = next(r for r in deliveries(issue) if r.email == "gone@example.com")
    apply_report(row.id, Report(BounceKind.HARD, "5.1.1", "dsn", "550 5.1.1 no such user"))
    assert shown(admin_client) == ["gone@example.com"]


def test_soft_bounces_from_enough_issues_show_the_person(admin_client, app, make, news):
    """Soft bounces of BOUNCE_SOFT_LIMIT issues suppress: hidden before, shown after."""
    make.subscriber("full@example.com", lists=[news])
    limit = app.config["BOUNCE_SOFT_LIMIT"]
    for n in range(limit):
        assert shown(admin_client) == []
        issue = sent_issue(make, [news], subject=f"Issue {n}")
        row = deliveries(issue)[0]
        apply_report(row.id, Report(BounceKind.SOFT, "4.2.2", "dsn", "452 4.2.2 mailbox full"))
    assert shown(admin_client) == ["full@example.com"]


def test_a_complaint_shows_the_person(admin_client, make, news):
    """A spam complaint suppresses (and unsubscribes): shown."""
    make.subscriber("angry@example.com", lists=[news])
    issue = sent_issue(make, [news])
    apply_report(deliveries(issue)[0].id, Report(BounceKind.COMPLAINT, detector="arf"))
    assert shown(admin_client) == ["angry@example.com"]


@pytest.mark.parametrize(
    "export, address",
    [
        ("unsubscribed_members_export.csv", "left@example.com"),
        ("cleaned_members_export.csv", "bounced@example.org"),
    ],
)
def test_an_import_of_leavers_shows_people_already_held(
    admin_client, runner, make, news, export, address
):
    """A Mailchimp export of unsubscribed or cleaned members suppresses those we hold."""
    make.subscriber(address, lists=[news])
    make.subscriber("stays@example.com", lists=[news])
    finished_import(runner, export_file(export))
    assert shown(admin_client) == [address]


def test_leaving_every_list_shows_and_rejoining_from_preferences_hides(admin_client, make, news):
    """One-click unsubscribe from the last list (left_all): shown; the person ticks a list
    again on their preferences page (lift_own_suppression): hidden."""
    ann = make.subscriber("ann@example.com", lists=[news])
    unsubscribe(ann, ConsentMethod.ONE_CLICK, ORIGIN)
    assert shown(admin_client) == ["ann@example.com"]
    update_preferences(ann, {news.id}, "", ORIGIN)
    db.session.commit()
    assert shown(admin_client) == []


def test_erasure_hides_and_a_new_sign_up_of_the_address_shows_until_confirmed(
    admin_client, make, news
):
    """Erased: the person is gone. Signing up again makes a new person whose address is
    suppressed (erased): shown, pending; confirming lifts it: hidden."""
    make.subscriber("zoë@exämple.org", lists=[news])
    make.subscriber("ann@example.com", lists=[news])
    erase_person("zoë@exämple.org", actor="test")
    assert shown(admin_client) == []
    again = sign_up("Zoë@Exämple.org", news)
    assert shown(admin_client) == ["Zoë@exämple.org"]
    confirm(again)
    assert shown(admin_client) == []


def test_a_new_person_whose_address_is_already_suppressed_shows(
    admin_client, admin_account, make, news
):
    """An address suppressed before anyone held it (bounced elsewhere, added by hand) signs
    up: the new person is shown as soon as they exist."""
    add_addresses(["new@example.com"], "bounced at the old provider", admin_account)
    assert shown(admin_client) == []
    sign_up("new@example.com", news)
    assert shown(admin_client) == ["new@example.com"]


def test_an_import_refuses_a_suppressed_address_and_makes_nobody(
    admin_client, admin_account, runner, make, news, tmp_path
):
    """Imports never lift: a member row whose address is suppressed is rejected, so no
    person appears; a new imported person who is not suppressed is not shown either."""
    add_addresses(["blocked@example.com"], "", admin_account)
    path = tmp_path / "members.csv"
    path.write_text("email,name\nblocked@example.com,B\nfresh@example.com,F\n")
    finished_import(runner, path)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 1
    assert shown(admin_client) == []


def test_the_filter_combines_with_a_list_a_search_and_every_order(
    admin_client, admin_account, make, news
):
    """Suppressed people on one list, in each order, paged by keyset; the count stays exact."""
    members = make.list("members")
    for name in ("cy", "ann", "bea", "dan"):
        make.subscriber(f"{name}@example.com", lists=[news])
    make.subscriber("eve@example.com", lists=[members])
    make.subscriber("fay@example.com", lists=[news, members])
    add_addresses(
        ["cy@example.com", "ann@example.com", "dan@example.com", "eve@example.com"],
        "",
        admin_account,
    )
    assert shown(admin_client, list="news") == [
        "dan@example.com",
        "ann@example.com",
        "cy@example.com",
    ]
    assert shown(admin_client, list="news", sort="oldest") == [
        "cy@example.com", "ann@example.com", "dan@example.com"
    ]  # fmt: skip
    assert shown(admin_client, list="news", sort="address") == [
        "ann@example.com", "cy@example.com", "dan@example.com"
    ]  # fmt: skip
    assert shown(admin_client, list="members") == ["eve@example.com"]
    assert shown(admin_client, q="example.com", list="news", sort="oldest")[0] == "cy@example.com"
    assert shown(admin_client) == [
        "eve@example.com", "dan@example.com", "ann@example.com", "cy@example.com"
    ]  # fmt: skip


@pytest.mark.parametrize("sort", list(audience.Sort))
def test_keyset_pages_of_the_suppressed_hold_each_person_once(
    admin_client, admin_account, make, news, sort
):
    """Two at a time, page after page, the suppressed come out complete and in order."""
    people = [f"p{n}@example.com" for n in range(7)]
    for address in people:
        make.subscriber(address, lists=[news])
    add_addresses(people[1::2] + ["stranger@example.com"], "", admin_account)
    filters = audience.Filters(list_id=news.id, suppressed=True, sort=sort)
    seen, after = [], None
    while True:
        page = audience.find_subscribers(filters, after, limit=2)
        seen += [row.email for row in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    expected = {"newest": people[5::-2], "oldest": people[1::2], "address": people[1::2]}
    assert seen == expected[sort.value]
    assert audience.count_subscribers(filters) == audience.Count(3, False)
