"""International addresses end to end: import, admin, suppression, exports and sending."""

from __future__ import annotations

import csv
import json

import pytest
from email_validator import validate_email

from newsletter import suppression
from newsletter.addresses import AddressValidator, parse_address
from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import IssueStatus
from tests.factories import make_issue, send_here, start, statuses

ZOE = "zoë.ahmed@hackney.gov.uk"
INTERNATIONAL = [
    ZOE,
    "ZOË.Ahmed@Hackney.GOV.uk",
    "josé.garcía@example.org",
    "anna@bücher.example",
    "anna@XN--BCHER-KVA.example",
    "Zoë@faß.de",
    "用户@例子.广告",
    "अजय@डाटा.भारत",
]


@pytest.mark.parametrize("raw", INTERNATIONAL)
def test_import_fast_path_and_forms_give_email_validators_form(raw):
    """The import's cached validator, the forms' parse_address and email-validator agree."""
    expected = validate_email(raw, check_deliverability=False).normalized
    validator = AddressValidator()
    for _ in range(2):  # the second time from the domain cache
        address, reason = validator.parse(raw)
        assert reason is None and address.email == expected
    assert parse_address(raw).email == expected
    assert parse_address(raw).key == expected.casefold()


def test_an_imported_accented_address_is_mailed(runner, news, smtp_sink, make, tmp_path):
    """zoë.ahmed@hackney.gov.uk from a CSV is imported and gets the issue, as stored."""
    source = tmp_path / "members.csv"
    source.write_text(
        f"Email Address,First Name\n{ZOE},Zoë\nzoë@bücher_.example,Bad\n", encoding="utf-8"
    )
    rejects = tmp_path / "rejects.csv"
    result = runner.invoke(
        main, ["import", str(source), "--list", "news", "--rejects", str(rejects)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("imported 1,")
    [rejected] = list(csv.DictReader(rejects.read_text(encoding="utf-8").splitlines()))
    assert rejected["value"] == "zoë@bücher_.example"
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    assert smtp_sink.recipients() == [ZOE]
    assert statuses(issue) == {ZOE: "sent"}


def test_the_admin_finds_and_shows_an_accented_address(admin_client, make, news):
    """Search by part of the address (any case) and open the person's page."""
    person = make.subscriber(email=ZOE, name="Zoë Ahmed", lists=[news])
    page = admin_client.get("/admin/subscribers?q=ZOË.AHM").get_data(as_text=True)
    assert f"/admin/subscribers/{person.id}" in page
    shown = admin_client.get(f"/admin/subscribers/{person.id}").get_data(as_text=True)
    assert ZOE in shown


def test_suppressing_an_accented_address_by_hand_stops_its_mail(
    admin_client, make, news, smtp_sink
):
    """Typed in another case, the suppression keys to the same person, who is then skipped."""
    make.subscriber(email=ZOE, lists=[news])
    make.subscriber(email="ann@example.com", lists=[news])
    response = admin_client.post(
        "/admin/suppressions/new", data={"email": "ZOË.Ahmed@hackney.gov.uk", "note": "letter"}
    )
    assert response.status_code == 302
    assert suppression.active_reasons(parse_address(ZOE).key)
    issue = make_issue(make, [news])
    start(issue)
    send_here(issue)
    assert smtp_sink.recipients() == ["ann@example.com"]


def test_subject_access_export_of_an_accented_address(runner, make, news):
    """`subscribers export` finds the person by their address and prints it as stored."""
    make.subscriber(email=ZOE, name="Zoë Ahmed", lists=[news])
    db.session.commit()
    result = runner.invoke(main, ["subscribers", "export", "ZOË.Ahmed@hackney.gov.uk"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["profile"]["name"] == "Zoë Ahmed"
    assert data["profile"]["email"] == ZOE
    assert ZOE in result.stdout, "readable as written, not as \\u escapes"


def test_the_preview_as_an_accented_subscriber(admin_client, make, news):
    """The issue's preview works for a person whose address has an accent."""
    zoe = make.subscriber(email=ZOE, name="Zoë", lists=[news])
    issue = make_issue(make, [news], body="Dear {{ subscriber.name }}, at {{ subscriber.email }}")
    response = admin_client.get(f"/admin/issues/{issue.id}/preview?subscriber={zoe.id}")
    assert response.status_code == 200
    frame = admin_client.get(f"/admin/issues/{issue.id}/preview.html?subscriber={zoe.id}")
    assert f"Dear Zoë, at {ZOE}" in frame.get_data(as_text=True)
