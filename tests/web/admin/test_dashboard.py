"""The dashboard: subscribers per list and status, weekly growth as SVG, latest issues."""

from __future__ import annotations

import re

import sqlalchemy as sa

from newsletter.bounces.policy import hard_bounce
from newsletter.cli import main
from newsletter.consent import Origin, record_consent
from newsletter.extensions import db
from newsletter.models import ConsentAction, ConsentMethod, Delivery, DeliveryStatus
from newsletter.subscriptions.unsubscribe import leave_lists
from newsletter.web.admin.charts import LAYOUTS, MIN_LABEL_PX
from tests.factories import make_issue, start


def test_subscribers_are_counted_per_list_and_status(admin_client, make, news):
    make.subscriber("a@example.com", lists=[news])
    make.subscriber("b@example.com", lists=[news])
    make.subscriber("c@example.com", lists=[news], status="unsubscribed")
    page = admin_client.get("/admin/").get_data(as_text=True)
    row = re.search(r">News</a>.*?</tr>", page, re.S).group(0)
    assert [int(n) for n in re.findall(r"<td class=\"numeric\">(\d+)</td>", row)] == [2, 0, 1]


def week_rows(page: str) -> list[list[str]]:
    """The growth table's rows, each week's figures as text."""
    rows = re.findall(r"<tr><th scope=\"row\"><time.*?</tr>", page)
    return [re.findall(r"<td class=\"numeric\">(\d+)</td>", row) for row in rows]


def test_growth_is_an_accessible_svg_with_a_table_of_the_same_figures(admin_client, make, news):
    """The chart has a title and description; the table gives this week's 2 and 1."""
    people = [make.subscriber(f"p{n}@example.com", lists=[news]) for n in range(3)]
    origin = Origin(source="test")
    for person in people[:2]:
        record_consent(person, ConsentAction.CONFIRMED, ConsentMethod.CONFIRM_LINK, origin)
    record_consent(people[2], ConsentAction.UNSUBSCRIBED, ConsentMethod.ONE_CLICK, origin)
    db.session.commit()
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert '<svg class="chart__svg--wide" role="img" aria-labelledby="growth-title-wide' in page
    assert "joined: 2 (2 confirmed sign-ups, 0 imported); left: 1 (1 unsubscribed" in page
    # signed up, imported, unsubscribed, bounced
    assert week_rows(page)[-1] == ["2", "0", "1", "0"]
    # Drawn on the server: no chart library, nothing loaded from another origin.
    assert not re.search(r"<script[^>]*src=\"https?://", page)


def run_import(runner, path, consent: str) -> None:
    result = runner.invoke(main, ["import", str(path), "--list", "news", "--consent", consent])
    assert result.exit_code == 0, result.output


def test_growth_counts_imports_apart_and_bounces_as_leaving(
    admin_client, runner, make, news, tmp_path
):
    """An import that keeps consent joins people; one that asks again does not (yet); a hard
    bounce stops a person's mail, so it counts among those who left."""
    kept = tmp_path / "kept.csv"
    kept.write_text("email\nk1@example.com\nk2@example.com\nk3@example.com\n")
    again = tmp_path / "again.csv"
    again.write_text("email\nr1@example.com\n")
    run_import(runner, kept, "keep")
    run_import(runner, again, "reconfirm")
    person = make.subscriber("gone@example.com", lists=[news])
    hard_bounce(person, "issue 1, 5.1.1")
    db.session.commit()
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert week_rows(page)[-1] == ["0", "3", "0", "1"]
    assert "joined: 3 (0 confirmed sign-ups, 3 imported); left: 1 (0 unsubscribed, 1" in page


def test_growth_counts_a_complaint_once_as_an_unsubscribe(admin_client, make, news):
    """A complaint leaves every list: each left list is one unsubscribe, no more."""
    person = make.subscriber("angry@example.com", lists=[news])
    leave_lists(person, ConsentMethod.COMPLAINT, Origin(source="test"))
    db.session.commit()
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert week_rows(page)[-1] == ["0", "0", "1", "0"]


def test_chart_labels_are_at_least_12px_at_every_width_they_are_shown(admin_client):
    """Each drawing's labels, scaled to the narrowest and widest width it shows at."""
    for layout in LAYOUTS:
        assert layout.label_px(layout.shown_min) >= MIN_LABEL_PX, layout.name
        assert layout.label_px(layout.shown_max) >= MIN_LABEL_PX, layout.name
    page = admin_client.get("/admin/").get_data(as_text=True)
    for layout in LAYOUTS:
        assert f'viewBox="0 0 {layout.width} {layout.height}"' in page
        assert f'class="chart__axis" font-size="{layout.font}"' in page


def test_latest_issues_show_their_delivery_counts(admin_client, make, news):
    for n in range(3):
        make.subscriber(f"p{n}@example.com", lists=[news])
    issue = make_issue(make, [news], subject="Autumn news")
    start(issue)
    first = db.session.scalars(sa.select(Delivery).order_by(Delivery.id)).first()
    first.status = DeliveryStatus.BOUNCED
    db.session.commit()
    page = admin_client.get("/admin/").get_data(as_text=True)
    row = re.search(r"Autumn news.*?</tr>", page, re.S).group(0)
    # recipients, sent, bounced, failed, unsubscribed since
    assert re.findall(r"<td class=\"numeric\">(\d+)</td>", row) == ["3", "0", "1", "0", "0"]
