"""The lists pages: overview, creating and editing lists."""

from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import AuditEvent, MailingList


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
    """The form creates the list and returns to the overview."""
    response = admin_client.post(
        "/admin/lists/new",
        data={"slug": "news", "name": "News", "description": "Once a month", "is_public": "y"},
    )
    assert response.status_code == 302
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
    """The slug comes before the name in the summary, as on the page."""
    page = admin_client.post("/admin/lists/new", data={"slug": "Bad", "name": ""}).get_data(
        as_text=True
    )
    assert page.index('href="#slug"') < page.index('href="#name"')


def test_edit_form_has_no_slug_field(admin_client, make):
    """A list's slug is fixed once it exists."""
    make.list(slug="news")
    page = admin_client.get("/admin/lists/news/edit").get_data(as_text=True)
    assert 'name="slug"' not in page
