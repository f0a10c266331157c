"""No admin page shows an issue's subject with its raw placeholders: the person's page names
the issue by its public title, the dashboard and a list's page as a sample reader sees it."""

from __future__ import annotations

from tests.factories import make_issue, sent_issue

SUBJECT = "{{ subscriber.name }}, Frühlings-News für {{ list.name }} 🌸"


def test_a_persons_history_and_deliveries_name_the_issue_by_its_public_title(
    admin_client, client, make
):
    news = make.list("news", name="Café & Crème ☕")
    person = make.subscriber("josé@exämple.de", name="José", lists=[news])
    issue = sent_issue(make, [news], subject=SUBJECT)
    response = client.post(
        f"/unsubscribe/{person.unsubscribe_token}/{issue.id}",
        data={"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    page = admin_client.get(f"/admin/subscribers/{person.id}").get_data(as_text=True)
    assert "{{" not in page
    assert (
        "Unsubscribed with one click from the issue ‘Frühlings-News für Café &amp; Crème ☕ 🌸’"
        in page
    )
    assert page.count("Frühlings-News für Café &amp; Crème ☕ 🌸") == 2  # history, deliveries


def test_the_dashboard_a_lists_page_and_the_preview_show_the_subject_as_a_reader_sees_it(
    admin_client, make
):
    news = make.list("news", name="News")
    sent_issue(make, [news], subject=SUBJECT)
    draft = make_issue(make, [news], subject=SUBJECT)
    for path in ("/admin/", "/admin/lists/news", f"/admin/issues/{draft.id}/preview"):
        page = admin_client.get(path).get_data(as_text=True)
        assert "{{ subscriber.name }}" not in page, path
        assert "Frühlings-News für News 🌸" in page, path
