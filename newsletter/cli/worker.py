"""`newsletter worker`: Dramatiq workers against REDIS_URL."""

import click

from newsletter.cli import needs_schema


@click.command("worker")
@click.option("--processes", default=1, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@needs_schema
def worker(processes: int, threads: int) -> None:
    """Run Dramatiq workers."""
    raise click.ClickException("not yet implemented")
