"""`newsletter import`: the summary line, consent carried over, leavers kept out, reports."""

from __future__ import annotations

import csv

from sqlalchemy import func, select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import (
    AuditEvent,
    ConsentEvent,
    ImportJob,
    Subscriber,
    SuppressionEntryReason,
)
from newsletter.suppression import active_reasons
from tests.factories import export_file
from tests.imports.conftest import statuses, summary


def test_mailchimp_subscribed_export_is_imported_with_counts(run_import, news):
    """New people are imported, the bad row rejected, the repeated address a duplicate."""
    result = run_import(export_file("subscribed_members_export.csv"))
    assert summary(result.stdout) == {
        "imported": 4, "updated": 0, "unchanged": 0, "suppressed": 0, "rejected": 1,
        "duplicates": 1,
    }  # fmt: skip
    assert set(statuses(news).values()) == {"confirmed"}


def test_each_imported_person_gets_an_import_consent_event_with_the_old_evidence(run_import, news):
    """Source system, file name and SHA-256, job, and OPTIN/CONFIRM columns as given."""
    run_import(export_file("subscribed_members_export.csv"))
    ada = db.session.scalar(select(Subscriber).where(Subscriber.email_key == "ada@example.org"))
    event = db.session.scalars(select(ConsentEvent).where(ConsentEvent.subscriber == ada)).one()
    job = db.session.scalars(select(ImportJob)).one()
    assert (event.action, event.method, event.source_system) == ("imported", "import", "mailchimp")
    assert (event.import_job_id, event.list_id, event.source) == (job.id, news.id, job.file_name)
    assert event.detail["sha256"] == job.file_sha256 and len(job.file_sha256) == 64
    assert event.detail["evidence"]["CONFIRM_IP"] == "192.0.2.11"
    assert event.detail["evidence"]["OPTIN_TIME"] == "2019-03-04 10:22:11"
    assert event.opt_in_level == "confirmed" and event.ip_address == "192.0.2.11"
    assert event.occurred_at.isoformat() == "2019-03-04T10:25:40+00:00"
    assert ada.created_via == "import" and ada.attributes["Organisation"].startswith("Analytical")


def test_without_a_confirmation_time_the_opt_in_level_is_unknown(run_import, news):
    """Grace has OPTIN_TIME but no CONFIRM_TIME."""
    run_import(export_file("subscribed_members_export.csv"))
    levels = dict(
        db.session.execute(
            select(Subscriber.email_key, ConsentEvent.opt_in_level).join(ConsentEvent.subscriber)
        ).all()
    )
    assert levels["grace@example.net"] == "unknown" and levels["alan@example.com"] == "confirmed"


def test_the_same_file_twice_changes_nothing_the_second_time(run_import, news):
    """Second run: all unchanged, rejected and duplicates; no new events or people."""
    run_import(export_file("subscribed_members_export.csv"))
    events = db.session.scalar(select(func.count(ConsentEvent.id)))
    second = summary(run_import(export_file("subscribed_members_export.csv")).stdout)
    assert second == {
        "imported": 0, "updated": 0, "unchanged": 4, "suppressed": 0, "rejected": 1,
        "duplicates": 1,
    }  # fmt: skip
    assert db.session.scalar(select(func.count(ConsentEvent.id))) == events
    assert db.session.scalar(select(func.count(Subscriber.id))) == 4


def test_the_mailchimp_zip_suppresses_leavers_and_never_subscribes_them(
    run_import, news, mailchimp_zip
):
    """Unsubscribed and cleaned rows become suppression entries with reason and date."""
    counts = summary(run_import(mailchimp_zip).stdout)
    assert counts == {
        "imported": 3, "updated": 0, "unchanged": 0, "suppressed": 3, "rejected": 1,
        "duplicates": 2,
    }  # fmt: skip
    keys = statuses(news)
    assert "left@example.com" not in keys and "quit@example.org" not in keys
    assert active_reasons("left@example.com") == {"imported_unsubscribed"}
    assert active_reasons("bounced@example.org") == {"imported_cleaned"}
    reason = db.session.scalars(
        select(SuppressionEntryReason).where(SuppressionEntryReason.reason == "imported_cleaned")
    ).one()
    assert reason.given_at.isoformat() == "2019-09-09T09:09:09+00:00"
    assert "September news" in reason.note
    assert summary(run_import(mailchimp_zip).stdout)["suppressed"] == 0


def test_listmonk_blocklisted_is_suppressed_and_disabled_rejected(run_import, news):
    """A listmonk export: enabled imported, blocklisted suppressed, disabled refused."""
    counts = summary(run_import(export_file("listmonk_export.csv")).stdout)
    assert (counts["imported"], counts["suppressed"], counts["rejected"]) == (1, 1, 1)
    assert active_reasons("spam@example.org") == {"imported_blocklisted"}


def test_an_invalid_row_is_rejected_with_its_line_and_reason_and_the_rest_go_on(
    run_import, news, tmp_path
):
    """--rejects writes line, raw value, reason (and the file it came from)."""
    out = tmp_path / "rejects.csv"
    run_import(export_file("mailman_plain.txt"), "--rejects", str(out))
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [(r["line"], r["value"]) for r in rows] == [("5", "not an address")]
    assert "@-sign" in rows[0]["reason"] and rows[0]["file"] == "mailman_plain.txt"
    assert len(statuses(news)) == 3


def test_dry_run_prints_the_same_summary_and_writes_nothing(run_import, news, tmp_path):
    """--dry-run: same counts, same rejects, no people, no job, no audit entry."""
    out = tmp_path / "rejects.csv"
    dry = run_import(
        export_file("subscribed_members_export.csv"), "--dry-run", "--rejects", str(out)
    )
    assert summary(dry.stdout)["imported"] == 4
    # The contract's last line on stdout is unchanged; stderr says nothing was written.
    assert dry.stdout.splitlines()[-1].startswith("imported 4, updated 0, unchanged 0")
    assert "dry run: nothing was written" in dry.stderr
    assert "nothing was written" not in dry.stdout
    assert len(list(csv.DictReader(out.read_text().splitlines()))) == 1
    assert db.session.scalar(select(func.count(Subscriber.id))) == 0
    assert db.session.scalar(select(func.count(ImportJob.id))) == 0
    real = run_import(export_file("subscribed_members_export.csv"))
    assert summary(real.stdout) == summary(dry.stdout)


def test_every_import_is_written_to_the_audit_log(run_import, news):
    """import.started and import.completed, with the file, its hash and the counts."""
    run_import(export_file("govdelivery.csv"))
    completed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "import.completed")
    ).one()
    assert (completed.actor, completed.target) == ("cli", "list:news")
    assert completed.detail["imported"] == 2 and completed.detail["file"] == "govdelivery.csv"


def test_reconfirm_imports_people_as_pending_and_sends_nothing(run_import, news):
    """--consent reconfirm: pending subscriptions, counted as imported; no mail queued."""
    counts = summary(run_import(export_file("mailman_names.txt"), "--consent", "reconfirm").stdout)
    assert counts["imported"] == 3
    assert set(statuses(news).values()) == {"pending"}
    people = db.session.scalars(select(Subscriber)).all()
    assert all(p.confirmation_sent_at is None for p in people)


def test_a_missing_file_is_a_one_line_error(runner, news, tmp_path):
    """Exit status 1 and a sentence, no traceback."""
    result = runner.invoke(main, ["import", str(tmp_path / "nope.csv"), "--list", "news"])
    assert result.exit_code == 1
    assert "no such file" in result.output and "Traceback" not in result.output


def test_an_unknown_list_is_a_one_line_error(runner):
    """Exit status 1 naming the slug."""
    result = runner.invoke(main, ["import", str(export_file("govdelivery.csv")), "--list", "nope"])
    assert result.exit_code == 1 and "no list with the slug 'nope'" in result.output


def test_a_file_without_an_email_column_is_a_user_error(run_import):
    """Exit status 1 with the hint to use --map."""
    result = run_import(export_file("no_email_column.csv"), expect=1)
    assert "--map email=COLUMN" in result.output


def test_map_picks_the_email_column(run_import, news, tmp_path):
    """--map email=COLUMN reads addresses from a column we would not guess."""
    path = tmp_path / "people.csv"
    path.write_text("Who,Contact\nAda,ada@example.org\n")
    result = run_import(path, "--map", "email=Contact", "--map", "name=Who")
    assert summary(result.stdout)["imported"] == 1
    assert db.session.scalars(select(Subscriber.name)).one() == "Ada"


def test_a_malformed_map_is_a_usage_error(run_import):
    """--map without FIELD=COLUMN is exit status 2."""
    run_import(export_file("govdelivery.csv"), "--map", "Contact", expect=2)


def test_a_windows_1252_file_warns_on_stderr(run_import, news):
    """The warning goes to stderr; the summary is still the last line of stdout."""
    result = run_import(export_file("windows_1252.csv"))
    assert "Windows-1252" in result.stderr and "Windows-1252" not in result.stdout
    assert db.session.scalars(select(Subscriber.name)).one() == "Zoë Café"


def test_a_quote_left_open_is_a_one_line_error_naming_the_line(run_import, news, tmp_path):
    """A cell that runs on past the csv limit (a quote never closed) stops with a sentence."""
    path = tmp_path / "open_quote.csv"
    filler = "".join(f"p{n}@example.com,Person {n}\n" for n in range(6000))
    path.write_text('email,name\nann@example.com,"Ann\n' + filler)
    for args in ((), ("--dry-run",)):
        result = run_import(path, *args, expect=1)
        assert 'is a quote (") left open' in result.output
        assert "Traceback" not in result.output


def test_names_with_line_breaks_and_control_characters_are_made_plain(run_import, news, tmp_path):
    """A quoted cell may hold anything; the name stored is one line, as the forms require."""
    path = tmp_path / "names.csv"
    path.write_text(
        'email,name\nann@example.com,"Ann\r\nSmith\x07"\nbob@example.com,"Bo\x00b"\n',
        newline="",
    )
    run_import(path)
    names = dict(db.session.execute(select(Subscriber.email, Subscriber.name)).all())
    assert names == {"ann@example.com": "Ann Smith", "bob@example.com": "Bo b"}


def test_a_name_with_a_direction_override_left_open_is_closed_not_refused(
    run_import, news, tmp_path
):
    """One name with U+202E or an isolate left open fails neither its row nor the file."""
    path = tmp_path / "names.csv"
    path.write_text(
        "email,name\nann@example.com,Ann \u202eevil\nbob@example.com,\u2067Bob\n"
        "cy@example.com,Cy\n",
        encoding="utf-8",
    )
    run_import(path)
    names = dict(db.session.execute(select(Subscriber.email, Subscriber.name)).all())
    assert names == {
        "ann@example.com": "Ann \u202eevil\u202c",
        "bob@example.com": "\u2067Bob\u2069",
        "cy@example.com": "Cy",
    }
