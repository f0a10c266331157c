"""`newsletter serve`: the whole system in one process."""

import click

from newsletter.background.processes import serve as run_serve
from newsletter.cli.context import needs_schema
from newsletter.extensions import current_app_object


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@needs_schema
def serve(host: str, port: int) -> None:
    """Run the web app, an in-process worker and the mail sink."""
    run_serve(current_app_object(), host, port)
