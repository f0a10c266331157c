"""The issue page tells the secretariat what failed and why, and when a send is stuck."""

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from newsletter.extensions import db
from newsletter.mail.errors import InternationalAddressRefused
from newsletter.models import Delivery, Issue, IssueStatus
from newsletter.models.base import utcnow
from tests.factories import make_issue, send_here, start

REFUSED = str(InternationalAddressRefused())


def text_of(page: str) -> str:
    """The page's text as read: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def sent_with_failures(make, news, ascii_sink):
    """An issue sent to two people the relay cannot take and one it can."""
    make.subscriber(email="zoë.ahmed@hackney.gov.uk", lists=[news])
    make.subscriber(email="josé.garcía@example.org", lists=[news])
    make.subscriber(email="ann@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    return issue


def test_the_page_shows_failures_grouped_by_reason(admin_client, sent_with_failures):
    """Why recipients failed: the reason with its count, and who failed."""
    page = admin_client.get(f"/admin/issues/{sent_with_failures.id}").get_data(as_text=True)
    text = text_of(page)
    assert "Why recipients failed" in text
    assert f"{REFUSED} 2" in text
    assert "zoë.ahmed@hackney.gov.uk" in text and "josé.garcía@example.org" in text
    assert "ann@example.com" not in text


def test_progress_json_carries_the_reasons(admin_client, sent_with_failures):
    """The polled JSON has the grouped reasons, so the page updates while sending."""
    data = admin_client.get(f"/admin/issues/{sent_with_failures.id}/progress.json").get_json()
    assert data["failed"] == 2
    assert data["failure_reasons"] == [{"reason": REFUSED, "count": 2}]
    assert data["stall_note"] is None


def backdate(issue: Issue, minutes: int) -> None:
    """The issue started `minutes` ago and has recorded nothing since."""
    then = utcnow() - timedelta(minutes=minutes)
    db.session.execute(
        sa.update(Issue).where(Issue.id == issue.id).values(started_at=then, progress_at=then)
    )
    db.session.commit()


def test_a_send_with_no_progress_past_the_stall_time_says_so(admin_client, make, news):
    """Sending, recipients due, nothing recorded for ten minutes: the status says stalled."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    backdate(issue, 10)
    data = admin_client.get(f"/admin/issues/{issue.id}/progress.json").get_json()
    assert data["stalled_seconds"] >= 600
    assert data["stall_note"].startswith("Stalled: nothing recorded for 10 minutes")
    page = text_of(admin_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True))
    assert "Stalled: nothing recorded for 10 minutes" in page


def test_rows_waiting_for_a_later_retry_are_not_a_stall(admin_client, make, news):
    """Only retries not yet due remain: the send is waiting, not stuck."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    db.session.execute(
        sa.update(Delivery)
        .where(Delivery.issue_id == issue.id)
        .values(next_attempt_at=utcnow() + timedelta(minutes=30))
    )
    backdate(issue, 10)
    data = admin_client.get(f"/admin/issues/{issue.id}/progress.json").get_json()
    assert data["stall_note"] is None


def test_a_moving_send_is_not_a_stall(admin_client, make, news):
    """Just started: no stall note, and the page keeps the note hidden."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    data = admin_client.get(f"/admin/issues/{issue.id}/progress.json").get_json()
    assert data["stall_note"] is None and data["stalled_seconds"] is None
