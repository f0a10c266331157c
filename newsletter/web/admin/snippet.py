"""A public list's embeddable sign-up form: the HTML its admin page offers to copy.

The snippet's visible text is issued as a consent wording of the list
(newsletter/subscriptions/embed.py) and the snippet carries its version, so a sign-up through
it records the words it shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template
from sqlalchemy.exc import IntegrityError

from newsletter.extensions import db
from newsletter.models import MailingList
from newsletter.subscriptions.embed import issue_wording
from newsletter.urls import external_url
from newsletter.web.visible_text import visible_text

TEMPLATE = "embed/snippet.html"


@dataclass(frozen=True)
class Snippet:
    html: str
    version: str
    action: str


def snippet_for(mailing_list: MailingList, thanks: str | None = None) -> Snippet:
    """The list's form as HTML to paste, its wording issued (committed) and named in it."""
    action = external_url("public.subscribe_embed")
    page = {
        "mailing_list": mailing_list,
        "action": action,
        "privacy_url": external_url("public.privacy"),
        "prefix": f"newsletter-{mailing_list.slug}",
        "thanks": thanks,
    }
    wording = visible_text(render_template(TEMPLATE, **page, version=""))
    try:
        version = issue_wording(mailing_list.id, wording)
        db.session.commit()
    except IntegrityError:
        # Another page view issued the same wording at the same moment: it is there now.
        db.session.rollback()
        version = issue_wording(mailing_list.id, wording)
    html = render_template(TEMPLATE, **page, version=version)
    return Snippet(html=html.strip() + "\n", version=version, action=action)


def allowed_origins() -> list[str]:
    return sorted(current_app.config.get("EMBED_ORIGINS", ()))


def allowed_thanks_pages() -> list[str]:
    return sorted(current_app.config.get("EMBED_THANKS_URLS", ()))
