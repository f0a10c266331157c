"""A ZIP bomb is refused on the upload form, as the import would refuse it, not previewed."""

from __future__ import annotations

import io
import zipfile

import sqlalchemy as sa

from newsletter.extensions import db
from newsletter.models import ImportJob
from tests.web.admin.test_imports_pages import upload


def _bomb() -> bytes:
    """A well-formed CSV of 64 MB that packs 500 to 1: plausible rows, a header that tells
    the truth. Reading its first 2 MB, zipfile's read-ahead hid the ratio."""
    buffer = io.BytesIO()
    lines = b"a@example.org,x\n" * 65536
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("members.csv", "w") as member,
    ):
        member.write(b"email,name\n")
        for _ in range(64):
            member.write(lines)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_on_the_form_with_the_reason_and_nothing_is_kept(admin_client, make):
    make.list(slug="news")
    response = upload(admin_client, "members.zip", _bomb(), action=None)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "unpacks to more than 100 times its packed size" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportJob)) == 0
