"""`newsletter lists …`: mailing lists."""

import click

from newsletter.cli.context import needs_schema
from newsletter.lists import create_list, lists_with_counts

COLUMNS = ("slug", "name", "visibility", "confirmed", "pending", "unsubscribed")


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


@lists.command("list")
@needs_schema
def list_lists() -> None:
    """Print the lists with their subscribers by status, one line each."""
    rows = [
        (
            row.mailing_list.slug,
            row.mailing_list.name,
            "public" if row.mailing_list.is_public else "private",
            str(row.confirmed),
            str(row.pending),
            str(row.unsubscribed),
        )
        for row in lists_with_counts()
    ]
    if not rows:
        click.echo("There are no lists yet: create one with `newsletter lists create`.", err=True)
        return
    widths = [max(len(column), *(len(row[n]) for row in rows)) for n, column in enumerate(COLUMNS)]
    numeric = {"confirmed", "pending", "unsubscribed"}

    def line(cells) -> str:
        return "  ".join(
            cell.rjust(width) if column in numeric else cell.ljust(width)
            for column, cell, width in zip(COLUMNS, cells, widths, strict=True)
        ).rstrip()

    click.echo(line(COLUMNS))
    for row in rows:
        click.echo(line(row))
