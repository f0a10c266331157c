"""`newsletter admin create`: accounts from the command line."""

from sqlalchemy import select

from newsletter.accounts import authenticate
from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import Account, AccountRole, AuditEvent

PASSWORD = "a long enough password"


def run(runner, *args, password=PASSWORD):
    return runner.invoke(main, ["admin", "create", *args], input=f"{password}\n")


def test_admin_create_makes_an_admin_from_a_password_on_stdin(runner):
    """Exit 0, one confirmation line, an admin account that can authenticate."""
    result = run(runner, "Boss@Example.org")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "created admin account for Boss@example.org"
    assert authenticate("boss@example.org", PASSWORD).role == AccountRole.ADMIN


def test_admin_create_with_editor_role(runner):
    """--role editor makes an editor."""
    assert run(runner, "ed@example.org", "--role", "editor").exit_code == 0
    account = db.session.scalars(select(Account)).one()
    assert account.role == AccountRole.EDITOR


def test_admin_create_reads_only_the_first_line_of_stdin(runner):
    """A trailing second line is not part of the password."""
    result = runner.invoke(
        main, ["admin", "create", "a@example.org"], input=f"{PASSWORD}\nsomething else\n"
    )
    assert result.exit_code == 0
    assert authenticate("a@example.org", PASSWORD) is not None


def test_admin_create_is_audited_as_cli(runner):
    """The audit event names the command line as the actor."""
    run(runner, "a@example.org")
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.actor) == ("account.created", "cli")


def test_short_password_is_one_line_on_stderr_and_exit_1(runner):
    """A user error: exit 1, one line, no traceback, no account."""
    result = run(runner, "a@example.org", password="short")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: Password must be at least 12 characters"
    assert "Traceback" not in result.output
    assert db.session.scalars(select(Account)).all() == []


def test_empty_stdin_is_a_short_password(runner):
    """No password at all is refused the same way."""
    result = runner.invoke(main, ["admin", "create", "a@example.org"], input="")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1


def test_duplicate_address_is_one_line_and_exit_1(runner, make):
    """An address with an account already is refused in one line naming it."""
    make.account(email="a@example.org")
    result = run(runner, "A@example.org")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: an account for A@example.org exists already"


def test_malformed_address_is_one_line_and_exit_1(runner):
    """A bad address is a user error too."""
    result = run(runner, "not-an-address")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "correct format" in result.stderr


def test_unknown_role_is_a_usage_error(runner):
    """--role accepts only admin or editor (exit 2, as click does for usage)."""
    assert run(runner, "a@example.org", "--role", "owner").exit_code == 2
