"""/admin/settings: the organisation's identity, set once in the admin, the environment winning."""

import time

from sqlalchemy import select

from newsletter import settings
from newsletter.config import load_config
from newsletter.extensions import db
from newsletter.models import AuditEvent
from tests.support.signin import sign_in

VALUES = {
    "org_name": "Local Digital Coalition",
    "postal_address": "1 High Street\nLeeds LS1 1AA",
    "from_name": "Coalition news",
    "from_address": "news@coalition.example",
    "site_title": "",
}


def save(client, **changes):
    return client.post("/admin/settings", data={**VALUES, **changes})


def test_saved_settings_reach_every_page_footer_and_the_mail_settings(app, admin_client):
    """Saving shows the name and the one-line address in the footer; From moves what follows it."""
    response = save(admin_client)
    assert response.status_code == 302
    page = admin_client.get("/privacy").get_data(as_text=True)
    assert "Local Digital Coalition, 1 High Street, Leeds LS1 1AA" in page
    assert "<title>Privacy notice – Local Digital Coalition newsletter</title>" in page
    assert app.config["MAIL_FROM"] == "Coalition news <news@coalition.example>"
    assert app.config["MAIL_FROM_SYSTEM"] == "Coalition news <noreply@coalition.example>"
    assert app.config["BOUNCE_DOMAIN"] == "coalition.example"
    assert app.config["BOUNCE_COMPLAINTS_ADDRESS"] == "complaints@coalition.example"


def test_a_change_is_audited_with_what_changed(admin_client):
    save(admin_client)
    save(admin_client, org_name="Coalition")
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "settings.changed").order_by(AuditEvent.id)
    ).all()
    assert len(events) == 2
    assert events[1].detail == {"org_name": {"from": "Local Digital Coalition", "to": "Coalition"}}
    assert events[1].actor == "admin@example.org"


def test_a_bad_from_address_gets_a_message_and_changes_nothing(app, admin_client):
    response = save(admin_client, from_address="not an address")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert "Enter a From address in the correct format, like news@example.org" in page
    assert settings.stored_row() is None
    assert app.config["MAIL_FROM"] == "Newsletter <newsletter@localhost>"


def test_a_from_name_without_an_address_is_refused(admin_client):
    response = save(admin_client, from_address="")
    assert response.status_code == 422
    assert "Enter a From address to go with the From name" in response.get_data(as_text=True)


def test_dashboard_warns_until_a_postal_address_is_set(admin_client):
    notice = "Mail goes out without a postal address"
    assert notice in admin_client.get("/admin/").get_data(as_text=True)
    save(admin_client)
    assert notice not in admin_client.get("/admin/").get_data(as_text=True)


def test_no_page_reads_newsletter_newsletter(admin_client, client):
    """With the default name the title is "Newsletter", not "Newsletter newsletter"."""
    for path in ("/privacy", "/admin/settings", "/archive/feed.xml"):
        page = admin_client.get(path).get_data(as_text=True)
        assert "Newsletter newsletter" not in page, path


def test_editors_may_not_open_the_settings(client, make):
    make.account(email="ed@example.org", role="editor")
    sign_in(client, "ed@example.org")
    assert client.get("/admin/settings").status_code == 403
    assert client.post("/admin/settings", data=VALUES).status_code == 403
    assert settings.stored_row() is None


def test_another_process_sees_the_change_within_the_refresh_time(
    app, admin_client, migrated_database
):
    """A second app on the same database (a worker, say) picks the change up without restart."""
    from newsletter import create_app
    from tests.support.configuration import base_config

    other = create_app(base_config(migrated_database))
    with other.app_context():
        settings.refresh(other, force=True)
        assert other.config["ORG_ADDRESS"] == ""
    save(admin_client)
    with other.app_context():
        settings.refresh(other)
        assert other.config["ORG_ADDRESS"] == ""  # looked a moment ago: not yet
        other.extensions["newsletter.settings"]["checked"] = time.monotonic() - 60
        settings.refresh(other)
        assert other.config["ORG_ADDRESS"] == "1 High Street, Leeds LS1 1AA"
        db.session.remove()
        db.engine.dispose()


def test_the_environment_wins_and_the_page_says_so(migrated_database, tmp_path, monkeypatch):
    """A field the environment sets is read-only, names its variable, and is never stored."""
    from newsletter import create_app
    from tests.factories import PASSWORD, Factories
    from tests.support.configuration import base_config

    monkeypatch.chdir(tmp_path)
    env_config = load_config(
        {
            "DATABASE_URL": migrated_database,
            "SECRET_KEY": "x" * 32,
            "ORG_NAME": "Env Org",
            "MAIL_FROM": "Env <env@env.example>",
        }
    )
    identity = {name: env_config[name] for name in ("ORG_NAME", "MAIL_FROM", "SETTINGS_FROM_ENV")}
    app = create_app(base_config(migrated_database, **identity))
    with app.app_context():
        try:
            Factories(app).account(email="admin@example.org", password=PASSWORD, role="admin")
            client = app.test_client()
            sign_in(client, "admin@example.org")
            page = client.get("/admin/settings").get_data(as_text=True)
            assert "Set by ORG_NAME in the environment" in page
            assert page.count("Set by MAIL_FROM in the environment") == 2
            assert 'value="Env Org" readonly' in page
            client.post("/admin/settings", data=VALUES)
            assert app.config["ORG_NAME"] == "Env Org"
            assert app.config["MAIL_FROM"] == "Env <env@env.example>"
            assert app.config["ORG_ADDRESS"] == "1 High Street, Leeds LS1 1AA"
            row = settings.stored_row()
            assert row.org_name == "" and row.from_address == ""
        finally:
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())
            db.engine.dispose()
