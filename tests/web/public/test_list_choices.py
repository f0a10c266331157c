"""The public lists the form offers: read once per moment in each process, fresh after edits."""

import sqlalchemy as sa

from newsletter.extensions import db
from newsletter.lists import update_list
from newsletter.models import MailingList
from newsletter.web.public import list_choices
from tests.support.html import elements
from tests.support.queries import recorded_statements


def offered(client) -> list[str]:
    response = client.get("/subscribe")
    assert response.status_code == 200
    return [
        box["value"] for box in elements(response.get_data(as_text=True), "input", name="lists")
    ]


def test_the_form_does_not_read_the_lists_on_every_request(client, news):
    """A second visit within moments is served the lists this process already read."""
    offered(client)
    with recorded_statements() as statements:
        assert offered(client) == ["news"]
    assert not any("mailing_list" in s for s in statements)


def test_a_list_edited_by_an_admin_shows_at_once(client, news):
    """Renaming a list or making it private changes the form on the next request."""
    assert offered(client) == ["news"]
    update_list(
        news, name="News and views", description="Fortnightly.", is_public=True,
        double_opt_in=True, list_id_label=news.list_id_label,
    )  # fmt: skip
    page = client.get("/subscribe").get_data(as_text=True)
    assert "News and views" in page and "Fortnightly." in page
    update_list(
        news, name="News and views", description="Fortnightly.", is_public=False,
        double_opt_in=True, list_id_label=news.list_id_label,
    )  # fmt: skip
    assert offered(client) == []


def test_a_new_list_shows_at_once(client, news, make):
    """A list created in this process is offered on the next request."""
    assert offered(client) == ["news"]
    make.list("jobs", name="Jobs")
    assert offered(client) == ["jobs", "news"]


def test_a_change_made_by_another_process_shows_within_moments(client, news, monkeypatch):
    """Another worker or the CLI changed the list: seen once FRESH_FOR seconds have passed."""
    assert offered(client) == ["news"]
    with db.engine.begin() as other_process:
        other_process.execute(sa.update(MailingList).values(is_public=False))
    later = list_choices._clock() + list_choices.FRESH_FOR + 1
    monkeypatch.setattr(list_choices, "_clock", lambda: later)
    assert offered(client) == []
