"""Entry point for gunicorn from a checkout: `gunicorn wsgi:app`."""

from newsletter import create_app

app = create_app()
