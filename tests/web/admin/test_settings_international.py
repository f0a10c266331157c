"""/admin/settings with an international From: an IDN domain and a From name in any script."""

from newsletter import settings
from tests.support.subscribing import sign_up

VALUES = {
    "org_name": "Ōsaka–Zürich Städtepartnerschaft 🇯🇵",
    "postal_address": "Bürgerbüro\nRue de l’Église 12\n75001 Paris Cédex",
    "from_name": "Städte, “News” ✉",
    "from_address": "news@bücher.example",
    "site_title": "",
}


def test_an_idn_from_address_and_a_unicode_from_name_are_saved_and_every_page_still_works(
    app, admin_client, client
):
    """Saving them once answered 500 and left every page (and process) failing on the row."""
    response = admin_client.post("/admin/settings", data=VALUES)
    assert response.status_code == 302
    assert settings.stored_values()["from_address"] == "news@bücher.example"
    for path in ("/", "/subscribe", "/admin/", "/admin/settings"):
        page = admin_client.get(path)
        assert page.status_code == 200, path
        assert "Ōsaka–Zürich Städtepartnerschaft 🇯🇵" in page.get_data(as_text=True)
    settings.refresh(app, force=True)
    assert app.config["BOUNCE_DOMAIN"] == "bücher.example"
    assert "news@bücher.example" in admin_client.get("/admin/settings").get_data(as_text=True)


def test_the_from_name_reads_back_as_typed_in_the_mail_it_sends(admin_client, client, news, mail):
    """The name was encoded once when saved and again in each message: inboxes showed
    `=?utf-8?b?…?=` as the sender."""
    assert admin_client.post("/admin/settings", data=VALUES).status_code == 302
    sign_up(client, "zoë@example.org", "news")
    captured = mail.only_message()
    sender = captured["From"].addresses[0]
    assert sender.display_name == "Städte, “News” ✉"
    assert sender.domain in ("bücher.example", "xn--bcher-kva.example")
    assert sender.username == "noreply"


def test_a_quoted_from_name_keeps_its_quotes_in_the_system_sender():
    """MAIL_FROM='"Leeds, Bradford news" <news@example.org>' made an unparsable system From."""
    from email.utils import parseaddr

    from newsletter.config import system_from

    sender = system_from('"Leeds, Bradford news" <news@bücher.example>')
    assert parseaddr(sender) == ("Leeds, Bradford news", "noreply@bücher.example")
