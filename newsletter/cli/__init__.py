"""The `newsletter` console script: a Flask CLI group with the project's commands."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy.exc import DBAPIError, OperationalError

from newsletter import create_app
from newsletter.cli import accounts, bounces, imports, issues, lists, serve, subscribers, worker
from newsletter.config import mask_url
from newsletter.errors import NewsletterError


def _database_message(ctx: click.Context, error: DBAPIError) -> str:
    """One line naming the database (password masked) and what went wrong."""
    app = getattr(ctx.find_object(ScriptInfo), "_loaded_app", None)
    url = app.config["SQLALCHEMY_DATABASE_URI"] if app is not None else "(unknown)"
    reason = str(getattr(error, "orig", error)).strip().splitlines()
    detail = reason[0] if reason else error.__class__.__name__
    return f"cannot use the database {mask_url(url)}: {detail}"


class NewsletterGroup(FlaskGroup):
    """Turns the errors a user can cause into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NewsletterError as error:
            raise click.ClickException(str(error)) from error
        except (OperationalError, DBAPIError) as error:
            raise click.ClickException(_database_message(ctx, error)) from error


def _create_app():
    return create_app()


@click.group(cls=NewsletterGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Mailing lists and newsletters for the secretariat."""


def init_app(app) -> None:
    """Register the commands on the app, so `flask --app wsgi …` has them as `newsletter` does."""
    for command in (
        accounts.admin,
        bounces.bounces,
        imports.import_command,
        issues.issues,
        lists.lists,
        serve.serve,
        subscribers.subscribers,
        worker.worker,
    ):
        app.cli.add_command(command)
