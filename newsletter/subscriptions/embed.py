"""The embeddable sign-up form's wordings: issued with a list's snippet, checked on each post.

A snippet lives on another site, so the words a person saw there cannot be read back from our
own page as the sign-up form's are. Instead the admin page stores the snippet's visible text
as a consent wording when it shows the snippet, notes that this version was issued for that
list (`embed_wording`), and puts the version in the snippet. A post names its version; only a
version issued for the list it names is recorded, so nobody can make us record words we never
gave out, and a snippet pasted years ago keeps its own words after the list is renamed.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from newsletter.consent import wording_version
from newsletter.extensions import db
from newsletter.models import EmbedWording

_ISSUED = "newsletter.embed_wordings"
# Versions are never withdrawn, so one seen stays valid; this only bounds a process's memory.
_ISSUED_MAX = 1000


def issue_wording(list_id: int, text: str) -> str:
    """The version of a snippet's wording for this list, stored (and noted as issued) if new.

    The caller commits.
    """
    version = wording_version(text)
    if db.session.get(EmbedWording, (version, list_id)) is None:
        db.session.flush()  # the wording row first: the note refers to it
        db.session.merge(EmbedWording(version=version, list_id=list_id))
    return version


def wording_issued(list_id: int, version: str) -> bool:
    """True when `version` was issued with a snippet of this list (one look-up per process)."""
    if not version or len(version) != 64:
        return False
    known = current_app.extensions.setdefault(_ISSUED, set())
    if (list_id, version) in known:
        return True
    found = db.session.scalar(
        sa.select(EmbedWording.version).where(
            EmbedWording.list_id == list_id, EmbedWording.version == version
        )
    )
    if found is not None and len(known) < _ISSUED_MAX:
        known.add((list_id, version))
    return found is not None
