"""`newsletter lists …`: mailing lists."""

import click

from newsletter.cli.context import needs_schema
from newsletter.lists import create_list


@click.group("lists")
def lists() -> None:
    """Manage mailing lists."""


@lists.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The name subscribers see.")
@click.option("--single-opt-in", is_flag=True, help="Subscribe without a confirmation email.")
@click.option("--private", is_flag=True, help="Leave it off the sign-up form and the archive.")
@click.option("--description", default="", help="What subscribers will get, and how often.")
@needs_schema
def create(slug: str, name: str, single_opt_in: bool, private: bool, description: str) -> None:
    """Create a mailing list."""
    mailing_list = create_list(
        slug,
        name=name,
        description=description,
        is_public=not private,
        double_opt_in=not single_opt_in,
        actor="cli",
    )
    click.echo(f"created list {mailing_list.slug} (List-Id {mailing_list.list_id_label})")
