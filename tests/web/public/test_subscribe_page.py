"""The sign-up form: the GOV.UK email pattern, list choice, errors, honeypot and bad input."""

import re

import pytest

from newsletter.models import SubscriptionStatus
from tests.support.html import element, elements, main_content
from tests.support.subscribing import deliver, person, row_counts, sign_up, statuses

FORMAT_ERROR = "Enter an email address in the correct format, like name@example.com"


def form_page(client) -> str:
    response = client.get("/subscribe")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_email_field_has_a_visible_label_and_hint(client, news):
    """The address field is labelled and described by its hint, as the GOV.UK pattern asks."""
    page = form_page(client)
    assert element(page, "label", for_="email")
    assert ">Email address</label>" in page
    hint = element(page, "div", id="email-hint")
    assert hint["class"] == "hint"
    assert element(page, "input", name="email")["aria-describedby"] == "email-hint"


def test_email_field_attributes_follow_the_govuk_pattern(client, news):
    """type=email, autocomplete=email, spellcheck off and at most 254 characters."""
    field = element(form_page(client), "input", name="email")
    assert field["type"] == "email"
    assert field["autocomplete"] == "email"
    assert field["spellcheck"] == "false"
    assert field["maxlength"] == "254"


def test_name_field_is_marked_optional(client, news):
    """The name has its own labelled field that says it is optional."""
    page = form_page(client)
    assert element(page, "input", name="name")["autocomplete"] == "name"
    assert "Name (optional)</label>" in page


def test_form_without_a_name_field_is_accepted(client, news):
    """A client that sends no name field at all still signs up (no name, no error)."""
    response = client.post("/subscribe", data={"email": "noname@example.com", "lists": "news"})
    assert response.status_code == 200
    assert person("noname@example.com").name == ""


def test_the_only_public_list_is_ticked(client, news):
    """With one list there is nothing to choose, so its box is ticked."""
    box = element(form_page(client), "input", type="checkbox", name="lists")
    assert box["value"] == "news"
    assert "checked" in box


def test_several_lists_are_never_pre_ticked(client, news, jobs):
    """With a choice to make, no box is ticked for the person."""
    boxes = elements(form_page(client), "input", type="checkbox", name="lists")
    assert sorted(box["value"] for box in boxes) == ["jobs", "news"]
    assert not any("checked" in box for box in boxes)


def test_each_list_shows_its_description(client, news, jobs):
    """Every checkbox is described by the list's own description."""
    page = form_page(client)
    for mailing_list in (news, jobs):
        box = element(page, "input", type="checkbox", value=mailing_list.slug)
        hint_id = box["aria-describedby"]
        assert element(page, "div", id=hint_id)
        assert mailing_list.description in page


def test_private_lists_are_not_offered(client, news, make):
    """A list that is not public has no checkbox and its name does not appear."""
    make.list("board", name="Board papers", is_public=False)
    page = form_page(client)
    assert [box["value"] for box in elements(page, "input", name="lists")] == ["news"]
    assert "Board papers" not in page


def test_form_says_what_people_will_receive(client, news):
    """The list choice is introduced by what they will get and how often."""
    page = main_content(form_page(client))
    assert "What you will receive and how often" in page
    assert "Monthly news from the coalition." in page


def test_form_links_to_the_privacy_notice(client, news):
    """Above the button, the form itself links to /privacy (not only the footer)."""
    form = main_content(form_page(client))
    assert 'href="/privacy"' in form[form.index("<form") : form.index("</form>")]


def test_malformed_address_shows_the_error_summary(client, news):
    """A 400 with a summary linking to the field, the message on the field and in the title."""
    response = sign_up(client, "not-an-address", "news")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert element(page, "div", class_="error-summary")["role"] == "alert"
    assert f'<a href="#email">{FORMAT_ERROR}</a>' in page
    assert element(page, "p", id="email-error")
    assert element(page, "input", name="email")["aria-invalid"] == "true"
    assert "<title>Error: " in page


def test_rejected_form_keeps_what_was_typed(client, news, jobs):
    """After an error, the address and the boxes the person ticked are still there."""
    response = sign_up(client, "ann@", "jobs", name="Ann")
    page = response.get_data(as_text=True)
    assert element(page, "input", name="email")["value"] == "ann@"
    assert element(page, "input", name="name")["value"] == "Ann"
    assert "checked" in element(page, "input", value="jobs")
    assert "checked" not in element(page, "input", value="news")


def test_honeypot_answers_the_same_page_and_stores_nothing(
    client, news, stub_broker, stub_worker, smtp_sink
):
    """A filled hidden field (a bot) gets the normal answer, but nothing is stored or sent."""
    before = row_counts()
    trapped = sign_up(client, "bot@example.com", "news", website="http://spam.example")
    assert row_counts() == before
    deliver(stub_broker, stub_worker)
    assert smtp_sink.messages == []
    genuine = sign_up(client, "bot@example.com", "news")
    assert (trapped.status_code, trapped.data) == (genuine.status_code, genuine.data)


def test_honeypot_is_hidden_from_people_and_assistive_technology(client, news):
    """The trap field is out of the tab order, not autofilled, inside an aria-hidden box."""
    page = form_page(client)
    field = element(page, "input", name="website")
    assert (field["tabindex"], field["autocomplete"]) == ("-1", "off")
    assert element(page, "div", class_="honeypot")["aria-hidden"] == "true"


def test_address_is_stored_normalised(client, news):
    """Spaces go, the domain is lower-cased, the local part keeps its case."""
    assert sign_up(client, "  Ann.Lee@EXAMPLE.org ", "news").status_code == 200
    assert person("ann.lee@example.org").email == "Ann.Lee@example.org"


def test_each_answer_names_the_address_just_entered(client, news):
    """The "Check your email" page shows this visitor's address, escaped, and no one else's."""
    first = sign_up(client, "first@example.org", "news").get_data(as_text=True)
    second = sign_up(client, "o'brien&co@example.org", "news").get_data(as_text=True)
    assert "<strong>first@example.org</strong>" in first
    assert "<strong>o&#39;brien&amp;co@example.org</strong>" in second
    assert "first@example.org" not in second


def test_a_waiting_flash_message_is_shown_with_the_answer(client, news):
    """A message flashed by an earlier page (the admin's, say) still reaches the visitor."""
    sign_up(client, "warm@example.org", "news")  # the answer is now remembered
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "List saved.")]
    page = sign_up(client, "flash@example.org", "news").get_data(as_text=True)
    assert "List saved." in page and "<strong>flash@example.org</strong>" in page


def test_address_in_another_case_is_the_same_person(client, news, jobs):
    """A second sign-up in other letters joins the first person, not a new one."""
    sign_up(client, "Bob@example.com", "news")
    sign_up(client, "BOB@Example.COM", "jobs")
    assert row_counts()["subscriber"] == 1
    assert statuses("bob@example.com") == {
        "news": SubscriptionStatus.PENDING,
        "jobs": SubscriptionStatus.PENDING,
    }


BAD_INPUT = {
    "oversized address": dict(email="a" * 64 + "@" + "b" * 185 + ".example", lists=["news"]),
    "oversized name": dict(email="ann@example.com", name="A" * 201, lists=["news"]),
    "header injection in the name": dict(
        email="ann@example.com", name="Ann\r\nBcc: evil@example.com", lists=["news"]
    ),
    "line feed in the name": dict(email="ann@example.com", name="Ann\nBcc: x@y", lists=["news"]),
    "unknown list": dict(email="ann@example.com", lists=["no-such-list"]),
    "no list chosen": dict(email="ann@example.com", lists=[]),
    "missing address": dict(email="", lists=["news"]),
    "two addresses": dict(email="ann@example.com, bob@example.com", lists=["news"]),
    "NUL byte in the address": dict(email="ann\x00@example.com", lists=["news"]),
    "NUL byte in the name": dict(email="ann@example.com", name="Ann\x00", lists=["news"]),
}

BAD_INPUT_ERRORS = {
    "oversized address": "Email address must be 254 characters or fewer",
    "oversized name": "Name must be 200 characters or fewer",
    "header injection in the name": "Name must not contain line breaks or control characters",
    "line feed in the name": "Name must not contain line breaks or control characters",
    "unknown list": "Select newsletters from the list shown",
    "no list chosen": "Select at least one newsletter",
    "missing address": "Enter an email address",
    "two addresses": FORMAT_ERROR,
    "NUL byte in the address": FORMAT_ERROR,
    "NUL byte in the name": "Name must not contain line breaks or control characters",
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_gets_an_error_summary_and_stores_nothing(client, news, case):
    """Each kind of bad input is a 400 page naming the problem; no row is written."""
    before = row_counts()
    response = client.post("/subscribe", data=BAD_INPUT[case])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert BAD_INPUT_ERRORS[case] in page
    assert "Traceback" not in page
    assert row_counts() == before


def test_private_list_cannot_be_joined_by_its_slug(client, news, make):
    """Posting a private list's slug is refused like an unknown list."""
    make.list("board", name="Board papers", is_public=False)
    before = row_counts()
    response = sign_up(client, "ann@example.com", "board")
    assert response.status_code == 400
    assert "Select newsletters from the list shown" in response.get_data(as_text=True)
    assert row_counts() == before


def test_oversized_address_is_refused_before_it_reaches_the_database(client, news):
    """A 100 KB address is a 400 page too, not a database error."""
    response = sign_up(client, "a" * 100_000 + "@example.com", "news")
    assert response.status_code == 400
    assert row_counts()["subscriber"] == 0


class TestWithCsrfOn:
    """The sign-up form carries its CSRF token, as in production, and a POST without it fails."""

    @pytest.fixture
    def config_overrides(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_signing_up_without_the_token_is_refused(self, client, news):
        """A forged POST (another site's form) stores nothing and sends nothing."""
        before = row_counts()
        assert sign_up(client, "forged@example.com", "news").status_code == 400
        assert row_counts() == before

    def test_signing_up_with_a_token_from_another_session_is_refused(self, client, app, news):
        """The token is bound to the visitor's session."""
        other = app.test_client().get("/subscribe").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', other).group(1)
        client.get("/subscribe")
        response = sign_up(client, "elsewhere@example.com", "news", csrf_token=token)
        assert response.status_code == 400
        assert person("elsewhere@example.com") is None

    def test_the_form_as_served_signs_up(self, client, news):
        """The page's own token is accepted."""
        page = form_page(client)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = sign_up(client, "real@example.com", "news", csrf_token=token)
        assert response.status_code == 200
        assert statuses("real@example.com") == {"news": SubscriptionStatus.PENDING}


def test_a_lists_own_sign_up_link_offers_that_list_alone(client, news, jobs):
    """`?list=jobs`: one box, ticked, and the form posts back to the same link."""
    page = client.get("/subscribe?list=jobs").get_data(as_text=True)
    boxes = elements(page, "input", type="checkbox", name="lists")
    assert [box["value"] for box in boxes] == ["jobs"] and "checked" in boxes[0]
    assert element(page, "form", method="post")["action"] == "/subscribe?list=jobs"
    assert news.description not in page


def test_signing_up_through_a_lists_link_joins_that_list(client, news, jobs):
    response = client.post(
        "/subscribe?list=jobs",
        data={"email": "ann@example.com", "name": "", "lists": ["jobs"], "website": ""},
        environ_base={"REMOTE_ADDR": "192.0.2.10"},
        headers={"User-Agent": "Mozilla/5.0"},
    )
    assert response.status_code == 200
    assert statuses("ann@example.com") == {"jobs": SubscriptionStatus.PENDING}


@pytest.mark.parametrize("slug", ["board", "nope", "Not%20OK"])
def test_a_link_naming_no_public_list_shows_the_whole_form(client, news, jobs, make, slug):
    """A private or unknown list's slug is ignored: every public list, none ticked."""
    make.list("board", name="Board papers", is_public=False)
    page = client.get(f"/subscribe?list={slug}").get_data(as_text=True)
    boxes = elements(page, "input", type="checkbox", name="lists")
    assert sorted(box["value"] for box in boxes) == ["jobs", "news"]
    assert "Board papers" not in page
