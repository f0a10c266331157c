"""`newsletter serve`: the whole system in one process."""

import click
from flask import current_app

from newsletter.cli import needs_schema


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@needs_schema
def serve(host: str, port: int) -> None:
    """Run the web app, an in-process worker and the mail sink."""
    from newsletter.runtime import serve as run_serve

    run_serve(current_app._get_current_object(), host, port)
