"""The command line says which instance it uses, takes NEWSLETTER_INSTANCE, prints reset links,
and shows only the product's commands."""

import pytest

from newsletter.accounts import authenticate
from newsletter.cli import main
from tests.support.process import clean_env, run_newsletter

NEW_PASSWORD = "a brand new password"


def test_a_command_in_a_folder_without_an_instance_says_it_starts_one(tmp_path):
    first = run_newsletter("db", "upgrade", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"starting a new one in {tmp_path / 'instance'}" in first.stderr
    second = run_newsletter("db", "upgrade", cwd=tmp_path)
    assert "starting a new one" not in second.stderr


def test_newsletter_instance_points_a_command_at_another_folder(tmp_path):
    env = {**clean_env(), "NEWSLETTER_INSTANCE": str(tmp_path / "elsewhere")}
    result = run_newsletter("lists", "create", "news", "--name", "News", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "newsletter.db").is_file()
    assert not (tmp_path / "instance").exists()


def test_something_missing_names_the_instance_it_looked_in(tmp_path):
    result = run_newsletter("issues", "status", "99", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        f"no issue with the id 99 (looked in the instance {tmp_path / 'instance'})"
    )


@pytest.mark.parametrize(
    "args", [("--help",), (), ("lists",), ("lists", "--help"), ("admin", "reset", "--help")]
)
def test_help_creates_nothing_and_says_nothing_of_a_new_instance(tmp_path, args):
    """Reading the help in a folder must not leave an instance/ behind in it."""
    result = run_newsletter(*args, cwd=tmp_path)
    assert "Usage: newsletter" in result.stdout + result.stderr
    assert "starting a new one" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_shows_the_product_commands_only(tmp_path):
    listed = run_newsletter("--help", cwd=tmp_path).stdout
    for name in ("serve", "worker", "admin", "lists", "issues", "import", "db"):
        assert f"  {name} " in listed
    for name in ("run", "shell", "routes", "limiter"):
        assert f"  {name} " not in listed


def test_admin_reset_prints_a_link_that_sets_the_password(app, runner, make):
    make.account(email="ed@example.org", role="editor")
    result = runner.invoke(main, ["admin", "reset", "ed@example.org"])
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert link.startswith("http://localhost/admin/reset/")
    client = app.test_client()
    path = link.removeprefix("http://localhost")
    response = client.post(
        path, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert authenticate("ed@example.org", NEW_PASSWORD) is not None


def test_admin_reset_of_an_unknown_account_is_one_line(runner):
    result = runner.invoke(main, ["admin", "reset", "nobody@example.org"])
    assert result.exit_code == 1
    assert "no account for nobody@example.org (looked in the database" in result.output


@pytest.mark.parametrize("email", ["", "   "])
def test_admin_reset_with_no_address_asks_for_one(runner, email):
    result = runner.invoke(main, ["admin", "reset", email])
    assert result.exit_code != 0
    assert "Enter the email address of an account" in result.output
    assert "no account for" not in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
