"""The lists pages: overview with counts, each list's page, creating and editing lists."""

import re

import pytest
from sqlalchemy import select

from newsletter.consent import Origin, record_consent
from newsletter.extensions import db
from newsletter.lists import slug_from_name
from newsletter.models import AuditEvent, ConsentAction, ConsentMethod, MailingList
from tests.factories import PASSWORD, make_issue
from tests.support.queries import recorded_statements
from tests.support.signin import sign_in


def list_slugs() -> list[str]:
    return db.session.scalars(select(MailingList.slug).order_by(MailingList.id)).all()


def test_lists_page_shows_each_list(admin_client, make):
    """The overview table names every list."""
    make.list(slug="news", name="Monthly news")
    page = admin_client.get("/admin/lists").get_data(as_text=True)
    assert "Monthly news" in page and '<th scope="col">Name</th>' in page


def test_lists_page_says_when_there_are_none(admin_client):
    """An empty overview says so instead of showing an empty table."""
    assert "There are no lists yet" in admin_client.get("/admin/lists").get_data(as_text=True)


def test_new_list_form_starts_public_with_double_opt_in(admin_client):
    """Both safe defaults are ticked on a blank form."""
    page = admin_client.get("/admin/lists/new").get_data(as_text=True)
    assert page.count("checked") == 2


def test_admin_creates_a_list(admin_client):
    """The form creates the list and goes to the list's own page."""
    response = admin_client.post(
        "/admin/lists/new",
        data={"slug": "news", "name": "News", "description": "Once a month", "is_public": "y"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/lists/news"
    news = db.session.scalars(select(MailingList)).one()
    assert (news.slug, news.is_public, news.double_opt_in) == ("news", True, False)
    assert news.list_id_label == "news.localhost"


def test_bad_slug_rerenders_with_an_error_and_creates_nothing(admin_client):
    """Invalid input gives 422 with the slug's error and no list."""
    response = admin_client.post("/admin/lists/new", data={"slug": "Not OK", "name": "News"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and 'href="#slug"' in page
    assert list_slugs() == []


def test_missing_name_is_refused(admin_client):
    """A list needs a name."""
    response = admin_client.post("/admin/lists/new", data={"slug": "news", "name": ""})
    assert response.status_code == 422
    assert "Enter a name for the list" in response.get_data(as_text=True)


def test_duplicate_slug_is_refused_on_the_slug_field(admin_client, make):
    """A slug in use is a conflict shown on the form."""
    make.list(slug="news")
    response = admin_client.post("/admin/lists/new", data={"slug": "news", "name": "Again"})
    assert response.status_code == 422
    assert "A list with the slug &#39;news&#39; exists already" in response.get_data(as_text=True)
    assert list_slugs() == ["news"]


def test_a_name_another_list_has_is_refused_on_the_name_field(admin_client, make):
    """Names that read the same (case, width, an invisible space) would be two identical
    checkboxes on the public sign-up form: refused on the name field, nothing created."""
    make.list(slug="news", name="Straße News")
    response = admin_client.post(
        "/admin/lists/new", data={"slug": "", "name": "STRASSE\u200b NEWS"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#name"' in page
    assert "A list named &#39;Straße News&#39; exists already: choose another name" in page
    assert list_slugs() == ["news"]


def test_renaming_a_list_to_another_lists_name_changes_nothing(admin_client, make):
    """Editing checks the name against the other lists, not against the list itself."""
    news = make.list(slug="news", name="News")
    make.list(slug="jobs", name="Jobs")
    label = news.list_id_label
    form = {"name": "jobs", "is_public": "y", "list_id_label": label}
    response = admin_client.post("/admin/lists/news/edit", data=form)
    assert response.status_code == 422
    assert "A list named &#39;Jobs&#39; exists already" in response.get_data(as_text=True)
    db.session.refresh(news)
    assert news.name == "News"
    form["name"] = "NEWS"  # its own name in other letters is no clash
    assert admin_client.post("/admin/lists/news/edit", data=form).status_code == 302


def test_edit_form_shows_the_current_settings(admin_client, make):
    """The edit page is filled in from the list."""
    make.list(slug="news", name="Monthly news")
    page = admin_client.get("/admin/lists/news/edit").get_data(as_text=True)
    assert 'value="Monthly news"' in page


def test_admin_edits_a_list(admin_client, make):
    """Saving changes the list and audits which fields changed."""
    news = make.list(slug="news", name="News")
    response = admin_client.post(
        "/admin/lists/news/edit",
        data={
            "name": "Weekly news",
            "description": "",
            "is_public": "y",
            "double_opt_in": "y",
            "list_id_label": news.list_id_label,
        },
    )
    assert response.status_code == 302
    db.session.refresh(news)
    assert news.name == "Weekly news"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "list.updated")).one()
    assert (event.detail, event.actor) == ({"changed": ["name"]}, "admin@example.org")


def test_invalid_edit_changes_nothing(admin_client, make):
    """A bad List-Id label is refused with 422 and the list stays as it was."""
    news = make.list(slug="news", name="News")
    label = news.list_id_label
    response = admin_client.post(
        "/admin/lists/news/edit", data={"name": "Changed", "list_id_label": "no dots"}
    )
    assert response.status_code == 422
    db.session.refresh(news)
    assert (news.name, news.list_id_label) == ("News", label)


def test_editing_an_unknown_list_is_a_404(admin_client):
    """An unknown slug gets the friendly not-found page."""
    response = admin_client.get("/admin/lists/nope/edit")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_creating_a_list_is_audited(admin_client):
    """list.created is written with the admin as actor."""
    admin_client.post("/admin/lists/new", data={"slug": "news", "name": "News"})
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "list.created")).one()
    assert (event.actor, event.target) == ("admin@example.org", "list:news")


def test_error_summary_lists_problems_in_page_order(admin_client):
    """The name comes before the slug in the summary, as on the page (the slug follows it)."""
    page = admin_client.post("/admin/lists/new", data={"slug": "Bad", "name": ""}).get_data(
        as_text=True
    )
    assert page.index('href="#name"') < page.index('href="#slug"')


def test_edit_form_has_no_slug_field(admin_client, make):
    """A list's slug is fixed once it exists."""
    make.list(slug="news")
    page = admin_client.get("/admin/lists/news/edit").get_data(as_text=True)
    assert 'name="slug"' not in page


# Counts, the list's own page, slugs made from names -----------------------------------------


def counts_in(page: str, name: str) -> list[int]:
    """The numeric cells of the row headed by the list called `name`."""
    row = re.search(rf">{re.escape(name)}</a>.*?</tr>", page, re.S).group(0)
    return [int(n.replace(",", "")) for n in re.findall(r'<td class="numeric">([\d,]+)</td>', row)]


def test_lists_page_counts_subscribers_by_status_in_one_grouped_query(admin_client, make):
    """Confirmed, pending, unsubscribed per list; one query counts every list at once."""
    news, jobs = make.list(slug="news", name="News"), make.list(slug="jobs", name="Jobs")
    for n in range(3):
        make.subscriber(f"c{n}@example.com", lists=[news])
    make.subscriber("p@example.com", lists=[news, jobs], status="pending")
    make.subscriber("u@example.com", lists=[jobs], status="unsubscribed")
    with recorded_statements() as statements:
        page = admin_client.get("/admin/lists").get_data(as_text=True)
    assert counts_in(page, "News") == [3, 1, 0]
    assert counts_in(page, "Jobs") == [0, 1, 1]
    counting = [s for s in statements if "count(" in s.lower() and "subscription" in s]
    assert len(counting) == 1 and "GROUP BY" in counting[0]


def test_list_page_shows_counts_issues_sign_up_link_and_edit_link(admin_client, make):
    """Everything about one list on one page, with a way to its edit page."""
    news = make.list(slug="news", name="Monthly news")
    make.subscriber("a@example.com", lists=[news])
    make.subscriber("b@example.com", lists=[news], status="pending")
    make_issue(make, [news], subject="Autumn round-up")
    page = admin_client.get("/admin/lists/news").get_data(as_text=True)
    assert "<h1>Monthly news</h1>" in page
    assert re.search(r'<th scope="row">Confirmed</th><td class="numeric">1</td>', page)
    pending = r'<th scope="row">Pending \(not yet confirmed\)</th><td class="numeric">1<'
    assert re.search(pending, page)
    assert re.search(r'href="/admin/issues/\d+">Autumn round-up</a>', page)
    assert "http://localhost/subscribe?list=news" in page
    assert 'href="/admin/lists/news/edit"' in page


def test_list_page_growth_counts_the_lists_own_joins_and_leaves(admin_client, make):
    """A confirmation on this list counts; one on another list does not."""
    news, jobs = make.list(slug="news", name="News"), make.list(slug="jobs", name="Jobs")
    ann = make.subscriber("ann@example.com", lists=[news, jobs])
    origin = Origin(source="test")
    method = ConsentMethod.CONFIRM_LINK
    record_consent(ann, ConsentAction.CONFIRMED, method, origin, list_id=news.id)
    record_consent(ann, ConsentAction.CONFIRMED, method, origin, list_id=jobs.id)
    left = ConsentAction.UNSUBSCRIBED
    record_consent(ann, left, ConsentMethod.ONE_CLICK, origin, list_id=jobs.id)
    db.session.commit()
    page = admin_client.get("/admin/lists/news").get_data(as_text=True)
    assert "joined: 1 (1 confirmed sign-ups, 0 imported); left: 0 unsubscribed" in page


def test_private_list_page_offers_no_sign_up_link(admin_client, make):
    """A private list is not on the form: its page says so instead of giving a link."""
    make.list(slug="staff", name="Staff", is_public=False)
    page = admin_client.get("/admin/lists/staff").get_data(as_text=True)
    assert "subscribe?list=staff" not in page and "has no public sign-up form" in page


def test_unknown_list_page_is_a_404(admin_client):
    assert admin_client.get("/admin/lists/nope").status_code == 404


def test_an_empty_slug_is_made_from_the_name(admin_client):
    """Left empty, the slug is the name in ASCII; a slug in use gets -2."""
    for name in ("Café news", "Cafe news"):
        response = admin_client.post("/admin/lists/new", data={"slug": "", "name": name})
        assert response.status_code == 302
    assert list_slugs() == ["cafe-news", "cafe-news-2"]
    assert response.headers["Location"] == "/admin/lists/cafe-news-2"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café news", "cafe-news"),
        ("  Årets Nyheter!  ", "arets-nyheter"),
        ("Straße & Co.", "strasse-co"),
        ("Łódź Øresund", "lodz-oresund"),
        ("新闻", "list"),
        ("x" * 200, "x" * 60),
    ],
)
def test_slug_from_any_unicode_name(name, slug):
    assert slug_from_name(name) == slug


def test_editor_sees_a_list_page_without_edit_links(app, make):
    """Everyone may look; only admins see the edit and export links."""
    make.list(slug="news", name="News")
    editor = make.account(email="editor@example.org", password=PASSWORD, role="editor")
    client = app.test_client()
    assert sign_in(client, editor.email).status_code == 302
    page = client.get("/admin/lists/news").get_data(as_text=True)
    assert "<h1>News</h1>" in page and "/admin/lists/news/edit" not in page
