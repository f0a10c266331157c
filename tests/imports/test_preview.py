"""The preview of an upload: format, column mapping and first rows, from the file's head."""

from __future__ import annotations

import pytest

from newsletter.imports.errors import ImportFileError
from newsletter.imports.limits import Limits
from newsletter.imports.preview import preview
from tests.imports import hostile


def test_a_mailchimp_zip_shows_each_file_and_the_leavers_first(mailchimp_zip):
    """As the import reads it: the leavers' files before the subscribed one."""
    shown = preview(mailchimp_zip.name, mailchimp_zip.read_bytes(), "auto", "reconfirm")
    assert shown.format_name == "Mailchimp audience export"
    assert shown.files[-1] == "subscribed_members_export.csv" and len(shown.files) == 3
    outcomes = [row.outcome for row in shown.rows]
    assert outcomes[0].startswith("added to the suppression list")
    assert "added to the list as pending, to confirm later" in outcomes
    becomes = {(c.file, c.header): c.becomes for c in shown.columns}
    assert becomes[("subscribed_members_export.csv", "OPTIN_TIME")] == (
        "consent evidence: when they signed up"
    )
    assert becomes[("subscribed_members_export.csv", "MEMBER_RATING")] == "not imported"


def test_a_listmonk_export_maps_its_status_and_flags_bad_rows(tmp_path):
    content = (
        b"uuid,email,name,attributes,status\n"
        b'1,lin@example.org,Lin,"{}",enabled\n'
        b"2,off@example.org,Off,{},disabled\n"
        b"3,lin@example.org,Lin again,{},enabled\n"
    )
    shown = preview("subscribers.csv", content, "auto", "keep")
    assert shown.format == "listmonk"
    assert {c.header: c.becomes for c in shown.columns}["status"].startswith("status:")
    assert [(row.outcome, row.problem) for row in shown.rows] == [
        ("subscribed to the list as confirmed", ""),
        ("refused", "status 'disabled' in listmonk: not imported"),
        ("counted as a duplicate", "repeats line 2"),
    ]


def test_a_zip_bomb_is_refused_by_the_preview_as_by_the_import(tmp_path):
    """The head read goes past the point where the packing ratio is judged."""
    bomb = hostile.zip_bomb(tmp_path, 20)
    with pytest.raises(ImportFileError, match="times its packed size"):
        preview(bomb.name, bomb.read_bytes(), "auto", "keep", Limits())
