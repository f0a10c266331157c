"""`newsletter admin …`: secretariat accounts."""

import click

from newsletter.cli import needs_schema


@click.group("admin")
def admin() -> None:
    """Manage secretariat accounts."""


@admin.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "editor"]), default="admin", show_default=True)
@needs_schema
def create(email: str, role: str) -> None:
    """Create an account; the password (12+ characters) is read from stdin."""
    raise click.ClickException("not yet implemented")
