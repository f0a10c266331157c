"""`newsletter issues …`: create, send, status, pause, resume, cancel."""

import json

import pytest

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import AuditEvent, Issue, IssueStatus
from tests.support.process import clean_env, run_newsletter
from tests.support.serve_process import RunningCommand
from tests.support.servers import free_port

STATUS_KEYS = {
    "id", "status", "recipients", "queued", "sending", "sent", "failed", "bounced", "skipped",
    "cancelled", "unsubscribed_since",
}  # fmt: skip


@pytest.fixture
def body_file(tmp_path):
    path = tmp_path / "body.md"
    path.write_text("# Hello\n\nNews of the *month*.\n", encoding="utf-8")
    return path


def create(runner, body_file, *lists: str) -> int:
    args = ["issues", "create", "--subject", "May news", "--body-file", str(body_file)]
    for slug in lists:
        args += ["--list", slug]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    return int(result.stdout.strip())


def test_create_prints_the_id_alone_and_keeps_list_order(runner, make, body_file):
    """stdout is the id; the first --list is the primary list."""
    make.list(slug="news")
    make.list(slug="events")
    issue_id = create(runner, body_file, "events", "news")
    issue = db.session.get(Issue, issue_id)
    assert issue.status == IssueStatus.DRAFT
    assert [ml.slug for ml in issue.lists] == ["events", "news"]
    assert issue.subject == "May news" and "*month*" in issue.body_markdown


@pytest.mark.parametrize(
    "raw, note",
    [
        ("\ufeff# Café news\n".encode(), False),  # Notepad's "UTF-8 with BOM"
        ("# Café news\n".encode("cp1252"), True),  # Notepad's "ANSI"
    ],
)
def test_create_reads_body_files_as_editors_save_them(runner, make, tmp_path, raw, note):
    """A byte-order mark is dropped (the heading stays a heading); Windows-1252 is read, noted."""
    make.list(slug="news")
    path = tmp_path / "body.md"
    path.write_bytes(raw)
    issue_id = create(runner, path, "news")
    assert db.session.get(Issue, issue_id).body_markdown == "# Café news\n"
    result = runner.invoke(
        main, ["issues", "create", "--list", "news", "--subject", "S", "--body-file", str(path)]
    )
    assert ("read as Windows-1252" in result.stderr) is note


def test_create_with_an_unknown_list_is_a_one_line_error(runner, body_file):
    """Exit 1 with a sentence naming the slug."""
    result = runner.invoke(
        main,
        ["issues", "create", "--list", "nope", "--subject", "S", "--body-file", str(body_file)],
    )
    assert result.exit_code == 1
    assert "nope" in result.output


@pytest.mark.parametrize("command", ["send", "status", "pause", "reconfirm"])
@pytest.mark.parametrize("number", ["99999999999", "99999999999999999999999", "0", "-5"])
def test_an_id_no_row_can_have_is_not_found_not_a_traceback(runner, command, number):
    """A mistyped id beyond the database's integers is "no issue with the id", exit 1."""
    result = runner.invoke(main, ["issues", command, "--", number])
    assert result.exit_code == 1, result.output
    assert f"with the id {number}" in result.output
    assert (
        "Traceback" not in result.output
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )


def test_status_json_has_every_key_even_before_sending(runner, make, body_file):
    """Zeros included, and the status is the issue's state (draft, scheduled, sending…)."""
    make.list(slug="news")
    issue_id = create(runner, body_file, "news")
    result = runner.invoke(main, ["issues", "status", str(issue_id), "--json"])
    counts = json.loads(result.stdout)
    assert set(counts) == STATUS_KEYS
    assert counts["status"] == "draft" and counts["recipients"] == 0


def test_send_wait_sends_in_process_and_exits_0(runner, make, body_file, smtp_sink):
    """No Redis and no serve: --wait sends here, shows progress on stderr, exits 0."""
    news = make.list(slug="news")
    for n in range(5):
        make.subscriber(email=f"p{n}@example.com", lists=[news])
    issue_id = create(runner, body_file, "news")
    result = runner.invoke(main, ["issues", "send", str(issue_id), "--wait"])
    assert result.exit_code == 0, result.output
    assert "5/5" in result.stderr and f"issue {issue_id} is sent" in result.stderr
    assert len(smtp_sink.recipients()) == 5
    counts = json.loads(runner.invoke(main, ["issues", "status", str(issue_id), "--json"]).stdout)
    assert (counts["recipients"], counts["sent"], counts["status"]) == (5, 5, "sent")


def test_send_without_wait_only_records_the_work(runner, make, body_file, smtp_sink):
    """Without REDIS_URL the rows are queued for a running serve; nothing is sent yet."""
    news = make.list(slug="news")
    make.subscriber(lists=[news])
    issue_id = create(runner, body_file, "news")
    result = runner.invoke(main, ["issues", "send", str(issue_id)])
    assert result.exit_code == 0, result.output
    assert "newsletter serve" in result.stderr
    counts = json.loads(runner.invoke(main, ["issues", "status", str(issue_id), "--json"]).stdout)
    assert (counts["status"], counts["queued"]) == ("sending", 1)
    assert smtp_sink.messages == []


def test_pause_resume_cancel_and_send_on_a_paused_issue(runner, make, body_file):
    """Each control works from the CLI and is audited; send on a paused issue names resume."""
    news = make.list(slug="news")
    make.subscriber(lists=[news])
    issue_id = create(runner, body_file, "news")
    assert runner.invoke(main, ["issues", "send", str(issue_id)]).exit_code == 0
    assert runner.invoke(main, ["issues", "pause", str(issue_id)]).exit_code == 0
    again = runner.invoke(main, ["issues", "send", str(issue_id)])
    assert again.exit_code == 1 and "resume" in again.output
    assert runner.invoke(main, ["issues", "resume", str(issue_id)]).exit_code == 0
    assert runner.invoke(main, ["issues", "cancel", str(issue_id)]).exit_code == 0
    counts = json.loads(runner.invoke(main, ["issues", "status", str(issue_id), "--json"]).stdout)
    assert (counts["status"], counts["cancelled"]) == ("cancelled", 1)
    actions = [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert [a for a in actions if a.startswith("issue.")] == [
        "issue.created", "issue.sent", "issue.paused", "issue.resumed", "issue.cancelled",
    ]  # fmt: skip


def test_wait_exits_1_when_the_issue_pauses_itself(runner, make, body_file, app):
    """The relay is down: the issue pauses after the configured failures and --wait exits 1."""
    app.config["SEND_PAUSE_AFTER_FAILURES"] = 2
    news = make.list(slug="news")
    for _ in range(3):
        make.subscriber(lists=[news])
    issue_id = create(runner, body_file, "news")
    result = runner.invoke(main, ["issues", "send", str(issue_id), "--wait"])
    assert result.exit_code == 1
    assert "paused" in result.stderr


def test_the_console_script_sends_with_wait(tmp_path, app, make, migrated_database, smtp_sink):
    """The real `newsletter` command, in its own process, sends an issue and exits 0."""
    news = make.list(slug="news")
    for n in range(3):
        make.subscriber(email=f"p{n}@example.com", lists=[news])
    (tmp_path / "body.md").write_text("Hello\n", encoding="utf-8")
    env = clean_env(
        DATABASE_URL=migrated_database,
        SECRET_KEY="test-secret-key-not-for-production",
        SMTP_URL=f"smtp://127.0.0.1:{smtp_sink.port}",
    )
    created = run_newsletter(
        "issues", "create", "--list", "news", "--subject", "Hi", "--body-file", "body.md",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    issue_id = created.stdout.strip()
    assert issue_id.isdigit()
    command = RunningCommand("issues", "send", issue_id, "--wait", cwd=tmp_path, env=env)
    assert command.wait(timeout=60) == 0, command.stderr
    assert sorted(smtp_sink.recipients()) == ["p0@example.com", "p1@example.com", "p2@example.com"]
    status = run_newsletter("issues", "status", issue_id, "--json", cwd=tmp_path, env=env)
    assert json.loads(status.stdout)["sent"] == 3


def test_a_running_serve_sends_what_the_cli_recorded(
    tmp_path, app, make, migrated_database, smtp_sink
):
    """No Redis: `issues send` records the ledger and serve's sweep sends it; `--wait` watches."""
    news = make.list(slug="news")
    for n in range(4):
        make.subscriber(email=f"p{n}@example.com", lists=[news])
    (tmp_path / "body.md").write_text("Hello\n", encoding="utf-8")
    env = clean_env(
        DATABASE_URL=migrated_database,
        SECRET_KEY="test-secret-key-not-for-production",
        SMTP_URL=f"smtp://127.0.0.1:{smtp_sink.port}",
        PERIODIC_INTERVAL="0.2",
    )
    serve = RunningCommand("serve", "--port", str(free_port()), cwd=tmp_path, env=env)
    try:
        serve.wait_for_line("running at")
        ids = []
        for _ in range(2):
            created = run_newsletter(
                "issues", "create", "--list", "news", "--subject", "Hi", "--body-file", "body.md",
                cwd=tmp_path, env=env,
            )  # fmt: skip
            ids.append(created.stdout.strip())
        assert run_newsletter("issues", "send", ids[0], cwd=tmp_path, env=env).returncode == 0
        smtp_sink.wait_for(4, timeout=30)
        waited = run_newsletter("issues", "send", ids[1], "--wait", cwd=tmp_path, env=env)
        assert waited.returncode == 0, waited.stderr
    finally:
        serve.interrupt()
    recipients = smtp_sink.recipients()
    assert len(recipients) == 8 and len(set(recipients)) == 4
