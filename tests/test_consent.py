"""Consent events read as sentences: one for every kind of event the code records."""

from __future__ import annotations

import itertools

import pytest

from newsletter.consent import describe_event
from newsletter.models import ConsentAction, ConsentEvent, ConsentMethod, OptInLevel

A, M = ConsentAction, ConsentMethod
ISSUES = {7: "Spring digital fund"}
ACCOUNTS = {3: "ann@example.org"}


def event(action, method, source="", **columns) -> ConsentEvent:
    return ConsentEvent(action=action, method=method, source=source, **columns)


# Every (action, method) a writer in newsletter/ records, as it records it.
RECORDED = [
    # subscriptions/signup.py: the form's request, and a single opt-in list's confirmation
    (event(A.REQUESTED, M.FORM, "/subscribe"), "signed up on the form at /subscribe"),
    (
        event(A.CONFIRMED, M.FORM, "/subscribe", opt_in_level=OptInLevel.SINGLE),
        "joined on the form at /subscribe (single opt-in)",
    ),
    # subscriptions/confirmation.py: the confirm link, first time and after leaving
    (
        event(A.CONFIRMED, M.CONFIRM_LINK, "/confirm/<token>"),
        "confirmed by the link in the confirmation email",
    ),
    (
        event(A.RESUBSCRIBED, M.CONFIRM_LINK, "/confirm/<token>"),
        "joined again by the link in the confirmation email",
    ),
    # subscriptions/preferences.py: joining, leaving and a new name on the preferences page
    (event(A.CONFIRMED, M.PREFERENCES, "/preferences/<token>"), "joined on their preferences page"),
    (
        event(A.RESUBSCRIBED, M.PREFERENCES, "/preferences/<token>"),
        "joined again on their preferences page",
    ),
    (
        event(A.UNSUBSCRIBED, M.PREFERENCES, "/preferences/<token>"),
        "left the list on their preferences page",
    ),
    (
        event(
            A.PREFERENCES_CHANGED,
            M.PREFERENCES,
            "/preferences/<token>",
            detail={"changed": ["name"]},
        ),
        "changed their name on their preferences page",
    ),
    # imports/merge.py: a member imported, and an unsubscribed row of an export
    (
        event(
            A.IMPORTED,
            M.IMPORT,
            "export.csv",
            source_system="mailchimp",
            account_id=3,
            opt_in_level=OptInLevel.CONFIRMED,
        ),
        "imported from Mailchimp export.csv by ann@example.org as a confirmed (double) opt-in",
    ),
    (
        event(A.UNSUBSCRIBED, M.IMPORT, "members.csv", source_system="csv"),
        "imported as unsubscribed from CSV members.csv",
    ),
    # web/public/unsubscribe.py: one click (RFC 8058) and the page, from an issue's link
    (
        event(
            A.UNSUBSCRIBED,
            M.ONE_CLICK,
            "/unsubscribe/<token>/<int:issue_id>",
            detail={"issue_id": 7},
        ),
        "unsubscribed with one click from the issue ‘Spring digital fund’",
    ),
    (
        event(
            A.UNSUBSCRIBED,
            M.UNSUBSCRIBE_PAGE,
            "/unsubscribe/<token>/<int:issue_id>",
            detail={"issue_id": 7},
        ),
        "unsubscribed on the unsubscribe page from the issue ‘Spring digital fund’",
    ),
    (
        event(A.UNSUBSCRIBED, M.UNSUBSCRIBE_PAGE, "/unsubscribe/<token>"),
        "unsubscribed on the unsubscribe page",
    ),
    # bounces/policy.py: the List-Unsubscribe mailto, bounces, complaints
    (
        event(A.UNSUBSCRIBED, M.ONE_CLICK, "List-Unsubscribe mailto", detail={"issue_id": 7}),
        "unsubscribed by email (the List-Unsubscribe address) from the issue ‘Spring digital fund’",
    ),
    (
        event(
            A.BOUNCED,
            M.BOUNCE,
            "bounce receiver",
            detail={"kind": "hard", "issue_id": 7, "status": "5.1.1", "delivery_id": 1},
        ),
        "the issue ‘Spring digital fund’ came back: a permanent bounce, status 5.1.1",
    ),
    (
        event(A.BOUNCED, M.BOUNCE, "smtp", detail={"delivery_id": 1}),
        "the receiving mail server refused the address (the mailbox does not exist)",
    ),
    (
        event(A.COMPLAINED, M.COMPLAINT, "bounce receiver", detail={"issue_id": 7}),
        "reported the issue ‘Spring digital fund’ as spam",
    ),
    (
        event(A.UNSUBSCRIBED, M.COMPLAINT, "bounce receiver", detail={"issue_id": 7}),
        "left every list after a spam complaint about the issue ‘Spring digital fund’",
    ),
    # subscriptions/unsubscribe.py by an admin; suppression/manual.py and confirmation.py
    (
        event(A.UNSUBSCRIBED, M.ADMIN, "/admin/subscribers/<int:subscriber_id>/unsubscribe"),
        "unsubscribed by hand by an administrator",
    ),
    (
        event(
            A.SUPPRESSION_LIFTED,
            M.ADMIN,
            "/admin/subscribers/<int:subscriber_id>/lift",
            account_id=3,
            detail={"reasons": ["hard_bounce"], "why": "mailbox fixed"},
        ),
        "suppression (hard bounce: the receiving server said the mailbox does not exist) "
        "removed by ann@example.org: “mailbox fixed”",
    ),
    (
        event(
            A.SUPPRESSION_LIFTED,
            M.CONFIRM_LINK,
            "/confirm/<token>",
            detail={"reasons": ["left_all"]},
        ),
        "suppression (unsubscribed from every list) lifted by opting in again"
        " by the link in the confirmation email",
    ),
]


@pytest.mark.parametrize(("recorded", "sentence"), RECORDED)
def test_each_recorded_event_reads_as_a_sentence(recorded, sentence):
    assert describe_event(recorded, issues=ISSUES, accounts=ACCOUNTS) == sentence


def test_an_issue_no_longer_held_is_named_by_its_number():
    gone = event(
        A.UNSUBSCRIBED, M.ONE_CLICK, "/unsubscribe/<token>/<int:issue_id>", detail={"issue_id": 9}
    )
    assert describe_event(gone) == "unsubscribed with one click from issue 9"


@pytest.mark.parametrize(("action", "method"), list(itertools.product(A, M)))
def test_no_event_reads_as_a_route_or_a_code(action, method):
    """Any pair, even one no code writes today, reads as words: no route, no underscore."""
    imported = action == A.IMPORTED or method == M.IMPORT
    # An import's source is its file's name, shown as it is; every other source is a page.
    source = "export.csv" if imported else "/unsubscribe/<token>/<int:issue_id>"
    sentence = describe_event(event(action, method, source, detail={"issue_id": 7}), issues=ISSUES)
    assert sentence and "<" not in sentence and "_" not in sentence
