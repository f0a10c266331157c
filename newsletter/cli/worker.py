"""`newsletter worker`: Dramatiq workers against REDIS_URL."""

import click
from flask import current_app
from flask.cli import with_appcontext

from newsletter.errors import ConfigError


@click.command("worker")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1))
@with_appcontext
def worker(processes: int, threads: int) -> None:
    """Run Dramatiq workers (and the periodic runner) against REDIS_URL."""
    from newsletter.runtime import run_workers
    from newsletter.schema import prepare_schema

    if not current_app.config.get("REDIS_URL"):
        raise ConfigError(
            "newsletter worker needs REDIS_URL; without Redis, `newsletter serve` runs the "
            "workers itself"
        )
    prepare_schema(current_app._get_current_object())
    status = run_workers(processes, threads)
    if status:
        raise click.exceptions.Exit(status)
