"""The organisation's identity as the admins set it: stored, validated, audited, and merged
into each process's configuration.

newsletter.config decides what wins (the environment, then these stored values, then the
defaults: apply_stored_identity); this module reads and writes the one stored row and keeps
each process's app.config up to date. Every process (web, workers, `bounces serve`, the CLI)
calls `refresh`: it looks at the row at most once every REFRESH_SECONDS, so a change made on
/admin/settings reaches every process within that time, without a restart; the process that
saved it sees it at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parseaddr

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from newsletter import origins
from newsletter.addresses import parse_address
from newsletter.audit import Actor, record
from newsletter.config import (
    DERIVED_FROM_MAIL_FROM,
    IDENTITY_SETTINGS,
    apply_stored_identity,
    env_names,
    mailbox,
)
from newsletter.errors import ValidationError
from newsletter.extensions import db
from newsletter.models import OrganisationSettings
from newsletter.models.base import utcnow

REFRESH_SECONDS = 10.0
ROW_ID = 1
_STATE = "newsletter.settings"

# The form's fields, their labels, and the environment variable that wins over each.
ENVIRONMENT_NAMES = {
    "org_name": "ORG_NAME",
    "postal_address": "ORG_ADDRESS",
    "from_name": "MAIL_FROM",
    "from_address": "MAIL_FROM",
    "site_title": "SITE_TITLE",
}
MAX_LENGTHS = {
    "org_name": 200,
    "postal_address": 500,
    "from_name": 200,
    "from_address": 254,
    "site_title": 200,
    "embed_origins": 20_000,
    "embed_thanks_urls": 20_000,
}
LABELS = {
    "org_name": "Organisation name",
    "postal_address": "Postal address",
    "from_name": "From name",
    "from_address": "From address",
    "site_title": "Public site title",
    "embed_origins": "Sites allowed to embed the sign-up form",
    "embed_thanks_urls": "Thank-you pages",
}
# The embeddable sign-up form's allow-lists (one entry a line), kept in app.config as frozensets.
EMBED_CONFIG = {"embed_origins": "EMBED_ORIGINS", "embed_thanks_urls": "EMBED_THANKS_URLS"}


class FieldError(ValidationError):
    """A value the settings form cannot take: which field, and a sentence for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def stored_row() -> OrganisationSettings | None:
    return db.session.get(OrganisationSettings, ROW_ID)


def stored_values(row: OrganisationSettings | None = None) -> dict[str, str]:
    """The stored fields by form name ("" where not set)."""
    row = row if row is not None else stored_row()
    return {name: (getattr(row, name) or "") if row is not None else "" for name in LABELS}


def as_config(values: Mapping[str, str]) -> dict[str, str]:
    """Stored fields as the configuration names apply_stored_identity takes."""
    from_address = values.get("from_address", "")
    mail_from = mailbox(values.get("from_name", ""), from_address) if from_address else ""
    return {
        "ORG_NAME": values.get("org_name", ""),
        "ORG_ADDRESS": values.get("postal_address", ""),
        "SITE_TITLE": values.get("site_title", ""),
        "MAIL_FROM": mail_from,
    }


def set_by_environment(config: Mapping[str, object]) -> dict[str, str]:
    """{form field: environment variable} for each field the environment sets."""
    from_env = env_names(config)
    return {field: name for field, name in ENVIRONMENT_NAMES.items() if name in from_env}


def _base(app: Flask) -> dict[str, object]:
    """The identity settings the process started with, kept before any stored value."""
    state = app.extensions.setdefault(_STATE, {"checked": None, "version": None})
    if "base" not in state:
        names = IDENTITY_SETTINGS + DERIVED_FROM_MAIL_FROM + ("SETTINGS_FROM_ENV",)
        state["base"] = {name: app.config.get(name) for name in names}
    return state["base"]


def _apply(app: Flask, row: OrganisationSettings | None) -> None:
    base = _base(app)
    values = stored_values(row)
    app.config.update(apply_stored_identity(base, as_config(values) if row else {}))
    app.config.update({name: frozenset(values[f].split()) for f, name in EMBED_CONFIG.items()})
    state = app.extensions[_STATE]
    state["version"] = row.version if row is not None else None
    state["checked"] = time.monotonic()


def refresh(app: Flask, force: bool = False) -> None:
    """Bring app.config up to date with the stored settings (at most every REFRESH_SECONDS)."""
    _base(app)
    state = app.extensions[_STATE]
    checked = state["checked"]
    if not force and checked is not None and time.monotonic() - checked < REFRESH_SECONDS:
        return
    try:
        row = stored_row()
    except SQLAlchemyError:
        # No table yet (a database before its migrations): keep what the process has.
        db.session.rollback()
        state["checked"] = time.monotonic()
        return
    version = row.version if row is not None else None
    if version != state["version"] or (force and row is not None):
        _apply(app, row)
    else:
        state["checked"] = time.monotonic()


def allows_http_thanks(config: Mapping[str, object]) -> bool:
    """Thank-you pages may be http only while the app itself is served over http."""
    return not str(config.get("BASE_URL") or "http:").startswith("https:")


def _embed_list(field: str, raw: str | None, config: Mapping[str, object]) -> str:
    """An allow-list as typed (one entry a line), each entry checked and normalised."""
    allow_http = allows_http_thanks(config)

    def parse(line: str) -> str:
        if field == "embed_origins":
            return origins.parse_origin(line)
        return origins.parse_thanks_url(line, allow_http=allow_http)

    try:
        return "\n".join(origins.parse_lines(raw or "", parse))
    except ValidationError as error:
        raise FieldError(field, f"{LABELS[field]}: {error}") from None


def _clean(field: str, raw: str | None) -> str:
    keep_lines = field == "postal_address" or field in EMBED_CONFIG
    value = (raw or "") if keep_lines else " ".join((raw or "").split())
    if field == "postal_address":
        # One line, as ORG_ADDRESS is: the lines typed are joined with commas.
        lines = [" ".join(line.split()).strip(" ,") for line in value.splitlines()]
        value = ", ".join(line for line in lines if line)
    if len(value) > MAX_LENGTHS[field]:
        raise FieldError(field, f"{LABELS[field]} must be {MAX_LENGTHS[field]} characters or fewer")
    return value


def _check_from_address(value: str) -> str:
    if not value:
        return ""
    try:
        address = parse_address(value)
    except ValidationError:
        raise FieldError(
            "from_address",
            "Enter a From address in the correct format, like news@example.org",
        ) from None
    local = address.email.rpartition("@")[0]
    if not local.isascii():
        raise FieldError(
            "from_address",
            "The From address must have only letters A to Z, digits and . _ - + before the @",
        )
    return address.email


def save(app: Flask, submitted: Mapping[str, str | None], actor: Actor) -> list[str]:
    """Validate and store the settings the environment does not set; audit what changed.

    Returns the labels of the fields changed. Raises FieldError (changing nothing) on a bad
    value. The process that saves sees the change at once; others within REFRESH_SECONDS.
    """
    locked = set_by_environment(_base(app))
    values = {field: _clean(field, submitted.get(field)) for field in LABELS if field not in locked}
    for field in EMBED_CONFIG:
        values[field] = _embed_list(field, values[field], app.config)
    if "from_address" in values:
        values["from_address"] = _check_from_address(values["from_address"])
        if values.get("from_name") and not values["from_address"]:
            raise FieldError("from_address", "Enter a From address to go with the From name")
    row = stored_row()
    before = stored_values(row)
    changed = [field for field, value in values.items() if before[field] != value]
    if not changed:
        return []
    if row is None:
        row = OrganisationSettings(id=ROW_ID, version=0)
        db.session.add(row)
    for field in changed:
        setattr(row, field, values[field])
    row.version = (row.version or 0) + 1
    row.updated_at = utcnow()
    record(
        "settings.changed",
        target="settings:organisation",
        detail={field: {"from": before[field], "to": values[field]} for field in changed},
        actor=actor,
    )
    db.session.commit()
    _apply(app, row)
    return [LABELS[field] for field in changed]


def effective_from(config: Mapping[str, object]) -> tuple[str, str]:
    """(name, address) of the From the app sends with now."""
    return parseaddr(str(config.get("MAIL_FROM") or ""))
