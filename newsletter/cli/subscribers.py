"""`newsletter subscribers …`: the subscriber's rights of access and erasure."""

import json

import click

from newsletter.background.erasure import erase_person
from newsletter.cli.context import needs_schema
from newsletter.rights import export_person


@click.group("subscribers")
def subscribers() -> None:
    """Answer access and erasure requests."""


@subscribers.command("export")
@click.argument("email")
@needs_schema
def export(email: str) -> None:
    """Print everything held about EMAIL as JSON (a subject access request)."""
    click.echo(json.dumps(export_person(email, actor="cli"), indent=2, ensure_ascii=False))


@subscribers.command("erase")
@click.argument("email")
@needs_schema
def erase(email: str) -> None:
    """Erase EMAIL: delete the person and keep only a suppression entry, without the address."""
    erasure = erase_person(email, actor="cli")
    click.echo(
        f"erased; suppression entry {erasure.entry_id} kept with reasons "
        f"{', '.join(erasure.reasons)}; {erasure.deliveries} deliveries folded into issue counts"
    )
