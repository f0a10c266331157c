"""`newsletter lists create`: mailing lists from the command line."""

from sqlalchemy import select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import AuditEvent, MailingList


def run(runner, *args):
    return runner.invoke(main, ["lists", "create", *args])


def test_lists_create_makes_a_public_double_opt_in_list(runner):
    """The defaults are public and double opt-in; one confirmation line."""
    result = run(runner, "news", "--name", "Monthly news")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("created list news")
    news = db.session.scalars(select(MailingList)).one()
    assert (news.name, news.is_public, news.double_opt_in) == ("Monthly news", True, True)


def test_lists_create_flags_make_a_private_single_opt_in_list(runner):
    """--private and --single-opt-in switch both defaults off."""
    result = run(
        runner, "staff", "--name", "Staff", "--private", "--single-opt-in", "--description", "Hi"
    )
    assert result.exit_code == 0, result.output
    staff = db.session.scalars(select(MailingList)).one()
    assert (staff.is_public, staff.double_opt_in, staff.description) == (False, False, "Hi")


def test_lists_create_is_audited_as_cli(runner):
    """The audit event names the command line as the actor."""
    run(runner, "news", "--name", "News")
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.actor, event.target) == ("list.created", "cli", "list:news")


def test_duplicate_slug_is_one_line_on_stderr_and_exit_1(runner, make):
    """A slug in use: exit 1 with exactly one line naming it."""
    make.list(slug="news")
    result = run(runner, "news", "--name", "Again")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: a list with the slug 'news' exists already"
    assert "Traceback" not in result.output


def test_a_name_another_list_has_is_refused(runner, make):
    """Two lists named alike would be two identical checkboxes on the sign-up form."""
    make.list(slug="news", name="Monthly News")
    result = run(runner, "news2", "--name", "monthly  news")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: a list named 'Monthly News' exists already: choose another name"
    )
    assert db.session.scalars(select(MailingList.slug)).all() == ["news"]


def test_bad_slug_is_one_line_and_exit_1(runner):
    """An unusable slug is a user error, and no list is made."""
    result = run(runner, "Bad Slug", "--name", "News")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert db.session.scalars(select(MailingList)).all() == []


def test_missing_name_is_a_usage_error(runner):
    """--name is required (exit 2)."""
    assert run(runner, "news").exit_code == 2


def test_lists_list_prints_a_table_with_counts_by_status(runner, make):
    """A header and one line per list, by name, with its counts; exit 0."""
    news, staff = make.list(slug="news", name="News"), make.list(slug="staff", name="Staff")
    make.subscriber("a@example.com", lists=[news])
    make.subscriber("b@example.com", lists=[news, staff], status="pending")
    make.subscriber("c@example.com", lists=[staff], status="unsubscribed")
    result = runner.invoke(main, ["lists", "list"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines == [
        ["slug", "name", "visibility", "confirmed", "pending", "unsubscribed"],
        ["news", "News", "public", "1", "1", "0"],
        ["staff", "Staff", "public", "0", "1", "1"],
    ]


def test_lists_list_on_an_empty_database_says_so_on_stderr(runner):
    """No lists: nothing on stdout, a sentence on stderr, exit 0."""
    result = runner.invoke(main, ["lists", "list"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "There are no lists yet" in result.stderr
