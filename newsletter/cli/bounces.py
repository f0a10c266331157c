"""`newsletter bounces serve`: the bounce and complaint receiver."""

import click

from newsletter.background.processes import StopSignals, configure_logging
from newsletter.bounces.receiver import DEFAULT_HOST, DEFAULT_PORT, BounceServer
from newsletter.cli.context import needs_schema
from newsletter.errors import NewsletterError
from newsletter.extensions import current_app_object


@click.group("bounces")
def bounces() -> None:
    """Receive bounces and complaints."""


@bounces.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@needs_schema
def serve(host: str, port: int) -> None:
    """Run the SMTP receiver for BOUNCE_DOMAIN (port 25 as a real MX) until stopped."""
    configure_logging()
    app = current_app_object()
    server = BounceServer(app, host, port)
    with StopSignals() as stop_signals:
        try:
            server.start()
        except OSError as error:
            raise NewsletterError(f"cannot listen on {host}:{port}: {error.strerror}") from error
        click.echo(
            f"Bounce receiver for {app.config['BOUNCE_DOMAIN']} on {host}:{port}; "
            f"complaints to {app.config['BOUNCE_COMPLAINTS_ADDRESS']}",
            err=True,
        )
        try:
            stop_signals.wait()
        finally:
            server.stop()
            click.echo("Stopped.", err=True)
