"""The confirmation link: opening it shows one button; pressing the button confirms.

Mail scanners (Safe Links and the like) fetch every link in a mail, so GET and HEAD only read
the link, whatever they carry. The POST needs no CSRF token: the signed link is the proof
(anyone holding it could fetch the page and its token anyway), and a person who opens the mail
in a fresh browser has no session to carry one. What the button adds is a person's act.
"""

from __future__ import annotations

from flask import current_app, render_template, request

from newsletter.consent import Origin
from newsletter.extensions import csrf
from newsletter.models import SubscriptionStatus
from newsletter.subscriptions.confirmation import ConfirmLink, confirm_link, open_confirm_link
from newsletter.subscriptions.links import preferences_token
from newsletter.subscriptions.people import active_lists
from newsletter.tokens import ExpiredTokenError, InvalidTokenError
from newsletter.web.public.blueprint import bp
from newsletter.web.visible_text import visible_text


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; see the module's docstring
def confirm(token: str):
    try:
        link = open_confirm_link(token)
    except ExpiredTokenError:
        return render_template("public/link_problem.html", expired=True), 410
    except InvalidTokenError:
        return render_template("public/link_problem.html", expired=False), 404
    waiting = [s.mailing_list for s in link.confirmable]
    if waiting and request.method == "POST":
        confirm_link(link, Origin.from_request(), _wording(waiting))
        # What they now receive, and apart from it any list still waiting for another mail's
        # link (asked for after this link was sent): that list is not confirmed by this one.
        by_status = {status: _lists(link, status) for status in SubscriptionStatus}
        return _page(
            "public/confirmed.html",
            link,
            lists=by_status[SubscriptionStatus.CONFIRMED],
            still_pending=by_status[SubscriptionStatus.PENDING],
        )
    if waiting:
        return _page("public/confirm.html", link, lists=waiting)
    if link.subscribed:
        # Pressed again, or opened after confirming: they are subscribed, which is no error.
        return _page("public/confirm_used.html", link, lists=link.subscribed)
    return _page("public/confirm_used.html", link, lists=[]), 410


def _lists(link: ConfirmLink, status: SubscriptionStatus) -> list:
    return [s.mailing_list for s in link.subscriber.subscriptions if s.status == status]


def _wording(lists) -> str:
    """The visible text of the page's form for these lists: the words the person confirmed."""
    return visible_text(render_template("public/_confirm_form.html", lists=lists))


def _page(template: str, link: ConfirmLink, **context) -> str:
    return render_template(
        template,
        preferences_token=preferences_token(link.subscriber),
        org_name=current_app.config["ORG_NAME"],
        **({"lists": active_lists(link.subscriber)} | context),
    )
