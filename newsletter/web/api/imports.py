"""/api/v1/imports: start an import from an uploaded file, follow it (admins, as in the admin)."""

from __future__ import annotations

import base64
import binascii

from flask import request

from newsletter.errors import NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.imports import uploads
from newsletter.imports.preview import preview
from newsletter.models import ConsentMode, ImportJob
from newsletter.web.api.auth import Needs, current_account
from newsletter.web.api.blueprint import bp
from newsletter.web.api.lookups import named_lists
from newsletter.web.api.operations import operation
from newsletter.web.api.schemas import ImportIn, ImportStatusOut

TAGS = ("imports",)


def _content(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("content_base64: That is not base64") from None


@bp.post("/imports")
@operation(
    "subscribers", Needs.ADMIN, ok=("HTTP_202", ImportStatusOut), json=ImportIn, tags=TAGS,
    not_found=False,
)  # fmt: skip
def api_start_import():
    """Keep the file and hand it to a worker, which checks and imports it; admins only.

    A file an import would refuse for what its head shows is refused now (422), as on the
    admin's upload page."""
    body: ImportIn = request.context.json  # type: ignore[attr-defined]
    mailing_list = named_lists([body.list])[0]
    content = _content(body.content_base64)
    preview(body.file_name, content, body.format, body.consent, uploads.limits())
    job = uploads.queue_upload(
        body.file_name, content, mailing_list, body.format, ConsentMode(body.consent),
        current_account(),
    )  # fmt: skip
    return uploads.status(job), 202


@bp.get("/imports/<int:job_id>")
@operation("read", Needs.ADMIN, ok=("HTTP_200", ImportStatusOut), tags=TAGS)
def api_import_status(job_id: int):
    """The import's progress and, once finished, its counts."""
    job = db.session.get(ImportJob, job_id) if job_id <= 2**31 - 1 else None
    if job is None:
        raise NotFoundError(f"no import with the id {job_id}")
    return uploads.status(job)
