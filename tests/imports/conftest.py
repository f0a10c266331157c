"""Helpers for the import tests: fixture files, running the command, reading the result."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import Subscriber, Subscription
from tests.factories import export_file

SUMMARY = re.compile(
    r"imported (\d+), updated (\d+), unchanged (\d+), suppressed (\d+), rejected (\d+), "
    r"duplicates (\d+)"
)
MAILCHIMP_FILES = (
    "subscribed_members_export.csv",
    "unsubscribed_members_export.csv",
    "cleaned_members_export.csv",
)


def summary(output: str) -> dict[str, int]:
    """The counts of the summary line, which must be the last line of stdout."""
    last = output.strip().splitlines()[-1]
    match = SUMMARY.fullmatch(last)
    assert match, f"last line is not the summary: {last!r}"
    names = ("imported", "updated", "unchanged", "suppressed", "rejected", "duplicates")
    return dict(zip(names, map(int, match.groups()), strict=True))


def statuses(slug_list) -> dict[str, str]:
    """Canonical key -> subscription status on the list."""
    rows = db.session.execute(
        select(Subscriber.email_key, Subscription.status)
        .join(Subscription)
        .where(Subscription.list_id == slug_list.id)
    )
    return {key: str(status) for key, status in rows}


@pytest.fixture
def run_import(runner, news):
    """Run `newsletter import FILE --list news ARGS`; returns the click result."""

    def run(path: Path | str, *args: str, expect: int = 0):
        result = runner.invoke(main, ["import", str(path), "--list", "news", *args])
        assert result.exit_code == expect, (result.output, result.exception)
        db.session.expire_all()
        return result

    return run


@pytest.fixture
def mailchimp_zip(tmp_path) -> Path:
    """The ZIP Mailchimp's audience export gives: subscribed, unsubscribed and cleaned CSVs."""
    path = tmp_path / "members_export_3f9a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in MAILCHIMP_FILES:
            archive.write(export_file(name), arcname=name)
        archive.writestr("__MACOSX/._subscribed_members_export.csv", b"\x00\x05junk")
    return path
