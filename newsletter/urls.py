"""Absolute links for emails, built from BASE_URL (workers have no request to go by)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from newsletter.config import DEFAULT_BASE_URL


def external_url(endpoint: str, **values: object) -> str:
    """The absolute URL of `endpoint` under BASE_URL."""
    base = urlsplit(current_app.config.get("BASE_URL") or DEFAULT_BASE_URL)
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
