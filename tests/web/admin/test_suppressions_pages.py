"""Admin pages: the suppression list."""

from __future__ import annotations

import io

import sqlalchemy as sa

from newsletter import suppression
from newsletter.extensions import db
from newsletter.models import AuditEvent, SuppressionEntry, SuppressionReason
from tests.support.signin import sign_in


def test_looking_up_an_address_finds_its_entry_by_hash(admin_client):
    """The list holds no addresses; a whole address typed in finds its entry."""
    suppression.suppress("ann@example.com", SuppressionReason.COMPLAINT)
    db.session.commit()
    found = admin_client.get("/admin/suppressions?q=Ann@Example.com").get_data(as_text=True)
    assert "complaint" in found
    missing = admin_client.get("/admin/suppressions?q=bob@example.com").get_data(as_text=True)
    assert "is not on the suppression list" in missing


def test_adding_one_address_by_hand_gives_the_reason_manual(admin_client):
    response = admin_client.post(
        "/admin/suppressions/new", data={"email": "ann@example.com", "note": "asked by letter"}
    )
    assert response.status_code == 302
    assert suppression.active_reasons("ann@example.com") == {SuppressionReason.MANUAL}
    entry = db.session.scalars(sa.select(SuppressionEntry)).one()
    assert entry.reasons[0].note == "asked by letter"
    assert db.session.scalar(
        sa.select(AuditEvent.action).where(AuditEvent.action == "suppression.added")
    )


def test_adding_a_csv_suppresses_each_valid_address_and_lists_the_rest(admin_client):
    """An email column is found by name; a bad line is reported, the others still count."""
    upload = (io.BytesIO(b"name,Email\nAnn,ann@example.com\nBob,not-an-address\nCy,cy@x.org\n"),
              "people.csv")  # fmt: skip
    response = admin_client.post(
        "/admin/suppressions/new", data={"file": upload, "note": ""}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "Suppressed 2" in page and "1 not valid (line 2)" in page
    assert suppression.active_reasons("cy@x.org") == {SuppressionReason.MANUAL}


def test_a_list_export_suppresses_its_addresses_as_they_were(admin_client):
    """The export marks an address that starts with - or + for spreadsheets; the upload
    takes the mark off again."""
    upload = (io.BytesIO(b"email,name\n'-bob@example.org,Bob\n'+tag@example.org,'=x\n"),
              "news-subscribers.csv")  # fmt: skip
    response = admin_client.post(
        "/admin/suppressions/new", data={"file": upload, "note": ""}, follow_redirects=True
    )
    assert "Suppressed 2" in response.get_data(as_text=True)
    assert suppression.active_reasons("-bob@example.org") == {SuppressionReason.MANUAL}
    assert suppression.active_reasons("+tag@example.org") == {SuppressionReason.MANUAL}


def test_a_file_too_big_or_unreadable_is_one_sentence_and_changes_nothing(
    admin_client, monkeypatch
):
    """Reading stops past the most addresses a file may hold, and at a cell the csv module
    cannot read (a quote left open), with a form error, not a traceback."""
    from newsletter.suppression import manual

    monkeypatch.setattr(manual, "MAX_ADDRESSES", 3)
    many = b"email\n" + b"".join(b"p%d@example.org\n" % n for n in range(10))
    open_quote = b'email\n"' + b"x" * 200_000 + b"\n"
    for content, words in ((many, "at most 3 addresses"), (open_quote, "cannot be read")):
        response = admin_client.post(
            "/admin/suppressions/new",
            data={"file": (io.BytesIO(content), "people.csv"), "note": ""},
        )
        assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SuppressionEntry)) == 0


def test_an_invalid_address_is_a_form_error_and_changes_nothing(admin_client):
    response = admin_client.post("/admin/suppressions/new", data={"email": "nope"})
    assert response.status_code == 422
    assert "Enter an email address in the correct format" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SuppressionEntry)) == 0


def test_admins_remove_an_entry_with_a_reason(admin_client):
    """The blocking reasons are lifted, a fresh opt-in is needed, the reason is audited."""
    suppression.suppress("ann@example.com", SuppressionReason.MANUAL)
    db.session.commit()
    entry = db.session.scalars(sa.select(SuppressionEntry)).one()
    admin_client.post(f"/admin/suppressions/{entry.id}/remove", data={"reason": "typo"})
    db.session.expire_all()
    assert suppression.blocking_reasons("ann@example.com") == set()
    assert suppression.active_reasons("ann@example.com") == {SuppressionReason.LEFT_ALL}


def test_removing_without_a_reason_changes_nothing(admin_client):
    suppression.suppress("ann@example.com", SuppressionReason.MANUAL)
    db.session.commit()
    entry = db.session.scalars(sa.select(SuppressionEntry)).one()
    admin_client.post(f"/admin/suppressions/{entry.id}/remove", data={"reason": "  "})
    assert suppression.active_reasons("ann@example.com") == {SuppressionReason.MANUAL}


def test_editors_may_add_but_not_remove(client, make):
    make.account(email="ed@example.org", role="editor")
    sign_in(client, "ed@example.org")
    client.post("/admin/suppressions/new", data={"email": "ann@example.com"})
    entry = db.session.scalars(sa.select(SuppressionEntry)).one()
    response = client.post(f"/admin/suppressions/{entry.id}/remove", data={"reason": "x"})
    assert response.status_code == 403
    assert suppression.active_reasons("ann@example.com") == {SuppressionReason.MANUAL}


def _entry_row(page: str, entry_id: int) -> str:
    start = page.index(f"<td>{entry_id}</td>")
    return page[start : page.index("</tr>", start)]


def test_entries_show_their_reasons_in_words_and_what_lifts_them(admin_client):
    """Each reason is a sentence, its note beside it; each entry says who can lift it, and the
    Remove control appears only where removing would lift something."""
    suppression.suppress("bounced@example.com", SuppressionReason.HARD_BOUNCE, "issue 4, 5.1.1")
    suppression.suppress("spam@example.com", SuppressionReason.COMPLAINT, "complaint about issue 4")
    suppression.suppress("left@example.com", SuppressionReason.LEFT_ALL)
    suppression.suppress("erased@example.com", SuppressionReason.ERASED)
    suppression.suppress(
        "old@example.com", SuppressionReason.IMPORTED_UNSUBSCRIBED, "unsubscribed in Mailchimp"
    )
    db.session.commit()
    ids = {
        name: suppression.find_entry(f"{name}@example.com").id
        for name in ("bounced", "spam", "left", "erased", "old")
    }
    page = admin_client.get("/admin/suppressions").get_data(as_text=True)
    bounced = _entry_row(page, ids["bounced"])
    assert (
        "Hard bounce: the receiving server said the mailbox does not exist (issue 4, 5.1.1)"
        in bounced
    )
    assert "The person cannot lift this by signing up again. An admin can remove it" in bounced
    assert "<summary>Remove" in bounced
    assert "Complaint: marked as spam" in _entry_row(page, ids["spam"])
    left = _entry_row(page, ids["left"])
    assert "Unsubscribed from every list" in left
    assert "Only the person can lift it." in left and "<summary>Remove" not in left
    erased = _entry_row(page, ids["erased"])
    assert "Erased on request" in erased
    assert "The person lifts this by signing up and confirming again." in erased
    assert "Imported as unsubscribed (unsubscribed in Mailchimp)" in _entry_row(page, ids["old"])
    assert "Hard bounce: the receiving server said the mailbox does not exist: 1" in page
    assert "hard_bounce" not in page and "left_all" not in page


def test_a_removed_entry_reads_as_lifted_and_waiting_for_the_person(admin_client):
    suppression.suppress("ann@example.com", SuppressionReason.MANUAL, "asked by letter")
    db.session.commit()
    entry = db.session.scalars(sa.select(SuppressionEntry)).one()
    admin_client.post(f"/admin/suppressions/{entry.id}/remove", data={"reason": "typo"})
    row = _entry_row(admin_client.get("/admin/suppressions").get_data(as_text=True), entry.id)
    assert "Suppressed by hand in the admin (asked by letter): lifted on" in row
    assert "Unsubscribed from every list (suppression removed by an admin" in row
    assert "Only the person can lift it." in row and "<summary>Remove" not in row


def test_the_lookup_says_what_stands_in_words(admin_client):
    suppression.suppress("ann@example.com", SuppressionReason.SOFT_BOUNCES)
    db.session.commit()
    page = admin_client.get("/admin/suppressions?q=ann@example.com").get_data(as_text=True)
    assert "<strong>repeated soft bounces: the mailbox was full or unavailable" in page
    assert "The person cannot lift this by signing up again." in page


def test_editors_see_the_reasons_but_no_remove_control(client, make):
    make.account(email="ed@example.org", role="editor")
    suppression.suppress("ann@example.com", SuppressionReason.MANUAL)
    db.session.commit()
    sign_in(client, "ed@example.org")
    page = client.get("/admin/suppressions").get_data(as_text=True)
    assert "Suppressed by hand in the admin" in page
    assert "<summary>Remove" not in page and "Ask an admin to remove it." in page


def test_a_page_of_entries_reads_their_reasons_in_one_query(admin_client):
    """Fifty entries, not fifty-one queries."""
    from tests.support.queries import recorded_statements

    for n in range(60):
        suppression.suppress(f"p{n}@example.com", SuppressionReason.MANUAL)
    db.session.commit()
    with recorded_statements() as statements:
        admin_client.get("/admin/suppressions")
    reason_reads = [s for s in statements if "FROM suppression_entry_reason" in s]
    assert len(reason_reads) == 2  # the page's reasons, and the counts by reason
