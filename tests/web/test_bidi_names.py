"""A name with a direction override or isolate left open (U+202E RIGHT-TO-LEFT OVERRIDE, the
isolates U+2066 to U+2068) reversed or swallowed the text after it wherever it was shown: the
admin's rows, "Dear {name}," in mail. Each way a name comes in closes it at the name's end."""

from __future__ import annotations

import pytest

from newsletter.bidi import close_bidi
from newsletter.subscriptions.links import preferences_token
from tests.support.subscribing import person, sign_up

RLO, PDF, RLI, PDI = "\u202e", "\u202c", "\u2067", "\u2069"


@pytest.mark.parametrize(
    "typed, stored",
    [
        (f"Ann {RLO}evil", f"Ann {RLO}evil{PDF}"),
        (f"{RLI}سارا", f"{RLI}سارا{PDI}"),
        (f"{RLI}a{RLO}b", f"{RLI}a{RLO}b{PDF}{PDI}"),
        (f"Ann {RLO}ok{PDF} Lee", f"Ann {RLO}ok{PDF} Lee"),  # closed already: unchanged
        (f"Ann{PDF}{PDI} Lee", "Ann Lee"),  # closing nothing: dropped
        ("Zoë Ahmed", "Zoë Ahmed"),
    ],
)
def test_close_bidi(typed, stored):
    assert close_bidi(typed) == stored


def test_closing_never_makes_a_name_longer_than_its_column():
    name = "a" * 199 + RLO
    assert close_bidi(name, 200) == "a" * 199


def test_a_sign_up_name_is_closed_and_the_admin_row_after_it_reads_the_right_way(
    client, admin_client, news, mail
):
    response = sign_up(client, "ann@example.org", "news", name=f"Ann {RLO}evil")
    assert response.status_code == 200
    assert person("ann@example.org").name == f"Ann {RLO}evil{PDF}"
    page = admin_client.get("/admin/subscribers").get_data(as_text=True)
    assert f"Ann {RLO}evil{PDF}" in page
    assert f"{RLO}evil<" not in page  # never left open up to the markup after it


def test_a_name_changed_on_the_preferences_page_is_closed(client, make, news):
    ann = make.subscriber("ann@example.com", lists=[news], name="Ann")
    client.post(
        f"/preferences/{preferences_token(ann)}", data={"lists": ["news"], "name": f"{RLI}Ann"}
    )
    assert person("ann@example.com").name == f"{RLI}Ann{PDI}"
