"""`newsletter worker`: Dramatiq workers against REDIS_URL."""

import click
from flask import current_app
from flask.cli import with_appcontext

from newsletter.background.processes import run_workers
from newsletter.errors import ConfigError
from newsletter.extensions import current_app_object
from newsletter.models.schema import prepare_schema


@click.command("worker")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1))
@with_appcontext
def worker(processes: int, threads: int) -> None:
    """Run Dramatiq workers (and the periodic runner) against REDIS_URL."""
    if not current_app.config.get("REDIS_URL"):
        raise ConfigError(
            "newsletter worker needs REDIS_URL; without Redis, `newsletter serve` runs the "
            "workers itself"
        )
    prepare_schema(current_app_object())
    status = run_workers(processes, threads)
    if status:
        raise click.exceptions.Exit(status)
