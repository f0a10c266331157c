"""Sending is a deliberate act (a confirmation page first), and issues read like a history."""

from datetime import timedelta

import sqlalchemy as sa

from newsletter import suppression
from newsletter.compose.times import uk_time
from newsletter.extensions import db
from newsletter.models import AuditEvent, Issue, IssueStatus, SuppressionReason
from newsletter.models.base import utcnow
from tests.factories import deliveries, make_issue, sent_issue, statuses


def _audited(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).filter_by(action=action)))


def test_send_now_shows_who_will_get_it_and_sends_nothing_until_confirmed(admin_client, make, news):
    """GET .../send counts the people after suppressions, the way the send picks them, and
    shows the subject as the first of them gets it; only the POST sends, to that many."""
    events = make.list(slug="events", name="Events")
    make.subscriber("ann@example.com", name="Ann", lists=[news, events])
    make.subscriber("bob@example.com", name="Bob", lists=[events])
    gone = make.subscriber("carl@example.com", name="Carl", lists=[news])
    make.subscriber("dee@example.com", name="Dee", lists=[news], status="pending")
    suppression.suppress(gone.email_key, SuppressionReason.COMPLAINT)
    db.session.commit()
    issue = make_issue(make, [news, events], subject="Spring news, {{ subscriber.name }}")

    page = admin_client.get(f"/admin/issues/{issue.id}")
    assert f'href="/admin/issues/{issue.id}/send"' in page.get_data(as_text=True)

    confirm = admin_client.get(f"/admin/issues/{issue.id}/send")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "Send this issue?" in text and "News, Events" in text
    assert 'data-testid="recipients">2<' in text  # Ann once, Bob; Carl suppressed, Dee pending
    assert "Spring news, Ann" in text  # the first recipient's subject
    assert "Send now to 2 people" in text
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == IssueStatus.DRAFT
    assert deliveries(issue) == []

    sent = admin_client.post(f"/admin/issues/{issue.id}/send")
    assert sent.status_code == 302
    assert sorted(statuses(issue)) == ["ann@example.com", "bob@example.com"]


NOBODY = (
    "Nobody would get this issue: the list has no confirmed subscribers who are not suppressed."
)


def test_the_confirmation_says_when_nobody_would_get_it_and_offers_no_button(
    admin_client, make, news
):
    """Only a pending person and a suppressed one: the page says so, with nothing to press."""
    make.subscriber("dee@example.com", name="Dee", lists=[news], status="pending")
    gone = make.subscriber("carl@example.com", name="Carl", lists=[news])
    suppression.suppress(gone.email_key, SuppressionReason.COMPLAINT)
    db.session.commit()
    issue = make_issue(make, [news])
    text = admin_client.get(f"/admin/issues/{issue.id}/send").get_data(as_text=True)
    assert NOBODY in text
    assert "Send now" not in text and f"/admin/issues/{issue.id}/send" not in text
    scheduled = admin_client.get(
        f"/admin/issues/{issue.id}/schedule", query_string={"date": "01/07/2099", "time": "09:30"}
    ).get_data(as_text=True)
    assert NOBODY in scheduled
    assert "Schedule for" not in scheduled
    assert f'action="/admin/issues/{issue.id}/schedule"' not in scheduled


def test_a_forced_send_or_schedule_to_nobody_is_refused_and_changes_nothing(
    admin_client, make, news
):
    issue = make_issue(make, [news])
    sent = admin_client.post(f"/admin/issues/{issue.id}/send", follow_redirects=True)
    assert NOBODY in sent.get_data(as_text=True)
    scheduled = admin_client.post(
        f"/admin/issues/{issue.id}/schedule",
        data={"date": "01/07/2099", "time": "09:30"},
        follow_redirects=True,
    )
    assert NOBODY in scheduled.get_data(as_text=True)
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.status == IssueStatus.DRAFT and issue.scheduled_at is None
    assert issue.started_at is None and deliveries(issue) == []
    assert _audited("issue.sent") == [] and _audited("issue.scheduled") == []


def test_schedule_shows_the_uk_time_and_the_count_then_schedules_on_confirm(
    admin_client, make, news
):
    make.subscriber("ann@example.com", name="Ann", lists=[news])
    issue = make_issue(make, [news])
    confirm = admin_client.get(
        f"/admin/issues/{issue.id}/schedule", query_string={"date": "01/07/2099", "time": "09:30"}
    )
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Schedule this issue?" in text
    assert "1 July 2099 at 09:30 (BST)" in text and 'data-testid="recipients">1<' in text
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == IssueStatus.DRAFT

    done = admin_client.post(
        f"/admin/issues/{issue.id}/schedule", data={"date": "01/07/2099", "time": "09:30"}
    )
    assert done.status_code == 302
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.status == IssueStatus.SCHEDULED and issue.sent_by.email == "admin@example.org"
    page = admin_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True)
    assert "Scheduled by" in page and "admin@example.org" in page


def test_a_bad_schedule_is_shown_on_the_issue_page_with_the_hinted_format(admin_client, make, news):
    issue = make_issue(make, [news])
    for date, time, message in (
        ("July", "09:30", "Enter the date as day/month/year, for example 01/12/2026"),
        ("01/07/2099", "half nine", "Enter the time on the 24-hour clock, for example 09:30"),
        ("01/01/2000", "09:30", "Choose a time in the future"),
    ):
        response = admin_client.get(
            f"/admin/issues/{issue.id}/schedule", query_string={"date": date, "time": time}
        )
        text = response.get_data(as_text=True)
        assert response.status_code == 422 and message in text
        assert "There is a problem" in text
    page = admin_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True)
    # The hints name the very formats the errors ask for; both inputs are text.
    assert "Day/month/year, for example 01/12/2026" in page
    assert "24-hour clock, for example 09:30" in page
    assert 'type="date"' not in page and 'type="time"' not in page


def test_send_controls_stand_apart_from_cancel(admin_client, make, news):
    issue = make_issue(make, [news])
    text = admin_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True)
    send_group = text.index('class="action-group"')
    cancel_group = text.index("action-group action-group--danger")
    assert send_group < text.index(">Send now<") < cancel_group
    assert text.index("Cancel the issue", cancel_group) > cancel_group


def test_a_sent_issue_is_not_sent_again_from_the_confirmation(admin_client, make, news):
    make.subscriber(lists=[news])
    issue = sent_issue(make, [news])
    response = admin_client.get(f"/admin/issues/{issue.id}/send")
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "cannot be sent or scheduled now" in page


def test_issues_list_reads_like_a_history(admin_client, make, news):
    """When, by whom, to how many, the outcome, and subjects as a reader sees them."""
    for n in range(3):
        make.subscriber(f"p{n}@example.com", lists=[news])
    issue = make_issue(make, [news], subject="Hello {{ subscriber.name }}")
    admin_client.post(f"/admin/issues/{issue.id}/send")
    rows = deliveries(issue)
    rows[0].status, rows[1].status = "sent", "failed"
    rows[2].status = "bounced"
    db.session.commit()
    make_issue(make, [news], subject="Draft only")

    page = admin_client.get("/admin/issues").get_data(as_text=True)
    assert "Hello Sam Sample" in page and "{{" not in page
    assert "admin@example.org" in page
    db.session.expire_all()
    started = db.session.get(Issue, issue.id).started_at
    assert f"Sent {uk_time(started)}" in page
    assert "1 sent, 1 failed, 1 bounced" in page
    assert "Draft only" in page


def test_a_finished_send_shows_no_time_left(admin_client, make, news):
    make.subscriber(lists=[news])
    issue = sent_issue(make, [news])
    issue.status, issue.finished_at = IssueStatus.SENT, utcnow() + timedelta(seconds=1)
    db.session.commit()
    text = admin_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True)
    assert "<dt data-while-sending hidden>Time left</dt>" in text
    assert "Finished" in text


def test_duplicate_makes_an_audited_draft_and_opens_its_editor(admin_client, make, news):
    make.subscriber(lists=[news])
    original = sent_issue(make, [news], subject="May news", body="Body **text**")
    response = admin_client.post(f"/admin/issues/{original.id}/duplicate")
    copy = db.session.scalars(sa.select(Issue).order_by(Issue.id.desc())).first()
    assert copy.id != original.id
    assert response.headers["Location"].endswith(f"/admin/issues/{copy.id}/edit")
    assert (copy.subject, copy.body_markdown, copy.status) == (
        "May news",
        "Body **text**",
        IssueStatus.DRAFT,
    )
    assert [ml.slug for ml in copy.lists] == ["news"]
    (event,) = _audited("issue.duplicated")
    assert event.target == f"issue:{copy.id}" and event.detail == {"from": original.id}
    editor = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "copied from issue" in editor and 'value="May news"' in editor
