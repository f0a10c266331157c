"""An error that starts with a file name or an address shows it as written: "empty.csv is
empty" read "Empty.csv is empty" on the import form, a file name that is not the file's."""

from __future__ import annotations

import io

import pytest

from newsletter.web.forms import sentence


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("empty.csv is empty", "empty.csv is empty"),
        ("x.csv: no email column in the header (a)", "x.csv: no email column in the header (a)"),
        ("zoë@example.org is suppressed", "zoë@example.org is suppressed"),
        ("members.csv inside a.zip is itself a ZIP", "members.csv inside a.zip is itself a ZIP"),
        ("enter a name", "Enter a name"),
        ("Already a sentence", "Already a sentence"),
    ],
)
def test_sentence_capitalises_only_a_plain_first_word(message, shown):
    assert sentence(message) == shown


def test_the_import_form_names_the_file_as_uploaded(admin_client, make):
    make.list(slug="news")
    response = admin_client.post(
        "/admin/imports/new",
        data={
            "mailing_list": "news",
            "format": "auto",
            "consent": "keep",
            "file": (io.BytesIO(b""), "empty.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "empty.csv is empty" in page and "Empty.csv" not in page
