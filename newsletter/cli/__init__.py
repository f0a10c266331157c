"""The `newsletter` console script: a Flask CLI group with the project's commands."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy.exc import DBAPIError, OperationalError

from newsletter import create_app
from newsletter.cli import (
    accounts,
    bounces,
    imports,
    issues,
    lists,
    serve,
    subscribers,
    tokens,
    worker,
)
from newsletter.config import mask_url
from newsletter.errors import NewsletterError, NotFoundError


def _database_message(ctx: click.Context, error: DBAPIError) -> str:
    """One line naming the database (password masked) and what went wrong."""
    app = getattr(ctx.find_object(ScriptInfo), "_loaded_app", None)
    url = app.config["SQLALCHEMY_DATABASE_URI"] if app is not None else "(unknown)"
    reason = str(getattr(error, "orig", error)).strip().splitlines()
    detail = reason[0] if reason else error.__class__.__name__
    return f"cannot use the database {mask_url(url)}: {detail}"


HIDDEN_COMMANDS = frozenset({"limiter"})
PRODUCT_COMMANDS = (
    accounts.admin,
    bounces.bounces,
    imports.import_command,
    issues.issues,
    lists.lists,
    serve.serve,
    subscribers.subscribers,
    tokens.tokens,
    worker.worker,
)
# A group named alone (`newsletter lists`) only shows its help; Flask-Migrate's `db` too.
_GROUPS = frozenset(c.name for c in PRODUCT_COMMANDS if isinstance(c, click.Group)) | {"db"}


def _asks_for_help(args: list[str]) -> bool:
    """Whether these arguments only show help: none, --help anywhere, or a group alone."""
    return not args or "--help" in args or (len(args) == 1 and args[0] in _GROUPS)


def _where(ctx: click.Context) -> str:
    """The instance folder or the database (password masked) the command used."""
    app = getattr(ctx.find_object(ScriptInfo), "_loaded_app", None)
    if app is None:
        return "an unknown database"
    if app.config.get("INSTANCE_DIR"):
        return f"the instance {app.config['INSTANCE_DIR']}"
    return f"the database {mask_url(app.config['SQLALCHEMY_DATABASE_URI'])}"


class NewsletterGroup(FlaskGroup):
    """Turns the errors a user can cause into one line on stderr and exit status 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Flask-Limiter's maintenance group is no product command (it still runs if named).
        return [name for name in super().list_commands(ctx) if name not in HIDDEN_COMMANDS]

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Listing the commands loads the app (Flask's group asks it for them); for help, that
        # app must create nothing: no ./instance/, no "starting a new one" line.
        ctx.ensure_object(ScriptInfo).data["help_only"] = _asks_for_help(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NotFoundError as error:
            # Something missing may be missing only here: say which instance or database.
            raise click.ClickException(f"{error} (looked in {_where(ctx)})") from error
        except NewsletterError as error:
            raise click.ClickException(str(error)) from error
        except (OperationalError, DBAPIError) as error:
            raise click.ClickException(_database_message(ctx, error)) from error


def _create_app():
    context = click.get_current_context(silent=True)
    info = context.find_object(ScriptInfo) if context is not None else None
    help_only = bool(info is not None and info.data.get("help_only"))
    app = create_app(create_instance=not help_only)
    if app.config.get("INSTANCE_NEW") and not help_only:
        # Not silently: a command run in the wrong folder would otherwise start an empty one.
        click.echo(
            f"No instance found here: starting a new one in {app.config['INSTANCE_DIR']}",
            err=True,
        )
    return app


# Flask's own run, shell and routes are left out (add_default_commands=False): `newsletter`
# shows the product's commands; `flask --app wsgi` keeps Flask's.
@click.group(
    cls=NewsletterGroup,
    create_app=_create_app,
    add_version_option=False,
    add_default_commands=False,
)
def main() -> None:
    """Mailing lists and newsletters for the secretariat."""


def init_app(app) -> None:
    """Register the commands on the app, so `flask --app wsgi …` has them as `newsletter` does."""
    for command in PRODUCT_COMMANDS:
        app.cli.add_command(command)
