"""A name of nothing visible (zero-width spaces, direction marks and overrides) is no name: a
list so named made a sign-up checkbox with no label; a person so named got mail that greeted
an invisible name instead of "reader"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import MailingList
from tests.support.subscribing import person, sign_up

INVISIBLE = ["\u200b", "\u200b\u200b", "\u202e", " \u200e\u2066\u2069 ", "\ufeff"]


@pytest.mark.parametrize("name", INVISIBLE)
def test_a_list_needs_a_name_one_can_see(admin_client, name):
    response = admin_client.post("/admin/lists/new", data={"slug": "", "name": name})
    assert response.status_code == 422
    assert "Enter a name for the list" in response.get_data(as_text=True)
    assert db.session.scalars(select(MailingList)).all() == []


def test_a_list_name_may_hold_marks_beside_letters(admin_client):
    response = admin_client.post(
        "/admin/lists/new", data={"slug": "", "name": "\u200fنشرة\u200f news"}
    )
    assert response.status_code == 302
    assert db.session.scalars(select(MailingList.name)).one() == "\u200fنشرة\u200f news"


@pytest.mark.parametrize("name", INVISIBLE)
def test_a_sign_up_with_an_invisible_name_keeps_no_name(client, news, mail, name):
    response = sign_up(client, "zoë@example.org", "news", name=name)
    assert response.status_code == 200
    mail.deliver()
    assert person("zoë@example.org").name == ""
