"""`newsletter subscribers …`: the subscriber's rights of access and erasure."""

import json

import click

from newsletter.cli import needs_schema


@click.group("subscribers")
def subscribers() -> None:
    """Answer access and erasure requests."""


@subscribers.command("export")
@click.argument("email")
@needs_schema
def export(email: str) -> None:
    """Print everything held about EMAIL as JSON (a subject access request)."""
    from newsletter.rights import export_person

    click.echo(json.dumps(export_person(email, actor="cli"), indent=2, ensure_ascii=False))


@subscribers.command("erase")
@click.argument("email")
@needs_schema
def erase(email: str) -> None:
    """Erase EMAIL: delete the person and keep only a suppression entry, without the address."""
    from newsletter.rights import erase_person

    erasure = erase_person(email, actor="cli")
    click.echo(
        f"erased; suppression entry {erasure.entry_id} kept with reasons "
        f"{', '.join(erasure.reasons)}; {erasure.deliveries} deliveries folded into issue counts"
    )
