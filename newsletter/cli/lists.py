"""`newsletter lists …`: mailing lists."""

import click

from newsletter.cli import needs_schema


@click.group("lists")
def lists() -> None:
    """Manage mailing lists."""


@lists.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--single-opt-in", is_flag=True)
@click.option("--private", is_flag=True)
@needs_schema
def create(slug: str, name: str, single_opt_in: bool, private: bool) -> None:
    """Create a mailing list."""
    raise click.ClickException("not yet implemented")
